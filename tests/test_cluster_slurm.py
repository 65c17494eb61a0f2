"""Cluster runs against a REAL single-node SLURM cluster that this module starts on loopback
(its own munged, slurmctld and slurmd, config and ports in a temporary folder; stopped at the end).
Skipped, with the reason, where Debian's slurm-wlm and munge are missing or the daemons cannot start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.slurm_cluster import LocalSlurm, SlurmUnavailable
from tui.cluster import record
from tui.cluster.status import job_status

pytestmark = pytest.mark.slurm
ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 45


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except SlurmUnavailable as exc:
        pytest.skip(f"no local SLURM cluster: {exc}")
    previous = os.environ.get("SLURM_CONF")
    os.environ.update(cluster.env)
    yield cluster
    cluster.stop()
    if previous is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = previous


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "tui", *map(str, args)], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def wait_until_finished(job_id: str, timeout: float = WAIT_S) -> dict:
    """Poll `cluster status --json` (as a user would) until every task ended; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        status = json.loads(cli("cluster", "status", job_id, "--json").stdout)
        ended = all(t["state"] in ("done", "failed") for t in status["tasks"])
        if ended and status["merge_state"] in (None, "done", "failed"):
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still unfinished after {timeout:.0f} s: {status}")
        time.sleep(0.5)
