"""A throwaway one-node SLURM cluster on loopback, for tests.

Everything lives in one temporary folder: its own munge key and socket, its own slurm.conf
(pointed at by SLURM_CONF), free ports, state, spool and logs. It never touches /etc/slurm or the
system's munged, so it can run beside another local cluster. Needs Debian's `slurm-wlm` and
`munge` and root (slurmd starts jobs as their submitting user).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sinfo", "sbatch", "squeue", "scontrol", "scancel")


class SlurmUnavailable(Exception):
    """The cluster could not be started; the message says why (shown as the skip reason)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


class LocalSlurm:
    def __init__(self, root: Path):
        self.root = root
        self.conf = root / "slurm.conf"
        self.munge_socket = root / "run" / "munge.socket"
        self.node = socket.gethostname().split(".")[0]
        self.partition = "debug"

    @property
    def env(self) -> dict[str, str]:
        """What clients (sbatch, squeue) need to talk to this cluster rather than the system's."""
        return {"SLURM_CONF": str(self.conf)}

    def _path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def _log_tail(self, name: str) -> str:
        try:
            lines = self._path("log", name).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def _write_config(self) -> None:
        cpus = os.cpu_count() or 1
        self.conf.write_text(
            f"""ClusterName=fftest
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={self._path('state')}
SlurmdSpoolDir={self._path('spool')}
SlurmctldPidFile={self._path('run', 'slurmctld.pid')}
SlurmdPidFile={self._path('run', 'slurmd.pid')}
SlurmctldLogFile={self._path('log', 'slurmctld.log')}
SlurmdLogFile={self._path('log', 'slurmd.log')}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=300
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName={self.partition} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
"""
        )

    def start(self, timeout: float = 30.0) -> None:
        missing = [d for d in DAEMONS + CLIENTS if not shutil.which(d) and not Path("/usr/sbin", d).exists()]
        if missing:
            raise SlurmUnavailable(f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge)")
        if os.geteuid() != 0:
            raise SlurmUnavailable("slurmd must run as root to start jobs")
        for folder in ("run", "log", "state", "spool"):
            self._path(folder).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        key = self._path("munge.key")
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self._write_config()
        env = {**os.environ, **self.env}
        self._daemon(["munged", "--force", f"--socket={self.munge_socket}", f"--key-file={key}",
                      f"--pid-file={self._path('run', 'munged.pid')}", f"--log-file={self._path('log', 'munged.log')}",
                      f"--seed-file={self._path('run', 'munged.seed')}"], env, "munged.log")
        self._daemon(["slurmctld", "-f", str(self.conf)], env, "slurmctld.log")
        self._daemon(["slurmd", "-f", str(self.conf), "-N", self.node], env, "slurmd.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=env, timeout=10)
            if state.stdout.strip() in ("idle", "mixed", "allocated"):
                return
            time.sleep(0.5)
        self.stop()
        raise SlurmUnavailable(f"the node did not come up in {timeout:.0f} s: {self._log_tail('slurmd.log')}")

    def set_partition(self, state: str) -> None:
        """UP or DOWN: a DOWN partition accepts jobs and holds them pending (reason PartitionDown)."""
        subprocess.run(["scontrol", "update", f"PartitionName={self.partition}", f"State={state}"],
                       check=True, env={**os.environ, **self.env}, timeout=20)

    def _daemon(self, command: list[str], env: dict[str, str], log: str) -> None:
        executable = shutil.which(command[0]) or f"/usr/sbin/{command[0]}"
        result = subprocess.run([executable, *command[1:]], capture_output=True, text=True, env=env, timeout=20)
        if result.returncode != 0:
            self.stop()
            reason = (result.stderr.strip().splitlines() or [self._log_tail(log)] or ["no output"])[-1]
            raise SlurmUnavailable(f"{command[0]} did not start: {reason}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the daemons this instance started (by their pid files): SIGTERM to all, then wait."""
        pids = [pid for name in ("slurmd", "slurmctld", "munged")
                if (pid := _pid(self._path("run", f"{name}.pid"))) is not None]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        for pid in pids:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
