"""External environments: a model family run by an interpreter the user already has
(`[envs.FAMILY] python`, written by `fashionfail-tui env use FAMILY PYTHON`).

Checking one runs the family's verify command (its spec's `[verify] run`, with `{python}` this
interpreter and `{prefix}` its `sys.prefix`; the spec's `files` describe a prefix this app built,
so they are not checked). A check imports the frameworks, which takes seconds, so its result is
kept in `data_dir()/external/FAMILY.json` and reused while the interpreter (its path, the file
there and the file it links to), the check command and its site-packages folders (whose times
change when packages are installed or removed) stay the same; `doctor` and `env use` check again.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

from tui import outside_json, paths, processes
from tui.config import Config
from tui.environments import specs
from tui.environments.base import EnvStatus, State, expand
from tui.environments.process import python_environment
from tui.files import json_text, write_atomically

BACKEND = "external"
PROBE_SECONDS = 60
CHECK_SECONDS = 600
MINIMUM_PYTHON = (3, 8)
"""The runners are written for Python 3.8 and newer."""
_PROBE = ("import json, platform, sys; "
          "print(json.dumps({'fashionfail_probe': 1, 'version': platform.python_version(), 'prefix': sys.prefix, "
          "'site': [p for p in sys.path if p.endswith(('site-packages', 'dist-packages'))]}))")


def record_file(family: str) -> Path:
    return paths.data_dir() / "external" / f"{family}.json"


def status(family: str, python: Path, config: Config, checked_since: float | None = None) -> EnvStatus:
    """The external environment's state: MISSING when `python` is not an executable file, else READY
    or BROKEN as its last check said (`detail`: what the check found missing). The check runs when
    there is no valid record, or the record is older than `checked_since` (a time.time())."""
    problem = _not_runnable(python)
    if problem:
        return EnvStatus(family, BACKEND, State.MISSING, None, BACKEND, problem, python=python)
    spec = specs.load(specs.selected(family, config), config)
    key = _record_key(python, spec)
    record = _read_record(family)
    if record is None or record.get("key") != key or record.get("site") != _site_times(record.get("site", {})) \
            or record.get("checked_at", 0) < (checked_since or 0):
        record = _check(family, python, spec, key)
    state = State.READY if record["ok"] else State.BROKEN
    prefix = Path(record["prefix"]) if record.get("prefix") else None
    return EnvStatus(family, BACKEND, state, prefix, BACKEND, record.get("problem", ""), python=python)


def check(family: str, python: Path, config: Config) -> EnvStatus:
    """Check now, whatever the record says (what `env use` does before writing the config)."""
    return status(family, python, config, checked_since=time.time())


def _not_runnable(python: Path) -> str:
    if not python.exists():
        return f"{python} does not exist"
    if not python.is_file() or not os.access(python, os.X_OK):
        return f"{python} is not an executable file"
    return ""


def _record_key(python: Path, spec: specs.EnvSpec) -> str:
    """What a check's result depends on besides site-packages: the interpreter and the check command."""
    link, target = python.lstat(), python.stat()
    identity = [str(python), [(s.st_ino, s.st_size, s.st_mtime_ns) for s in (link, target)], spec.file.name,
                list(spec.verify_run)]
    return hashlib.sha256(json_text(identity).encode()).hexdigest()


def _site_times(folders) -> dict[str, int | None]:
    """Each site-packages folder's modification time (None when it is gone)."""
    times = {}
    for folder in folders if isinstance(folders, (dict, list)) else ():
        if not isinstance(folder, str):
            continue
        try:
            times[folder] = os.stat(folder).st_mtime_ns
        except OSError:
            times[folder] = None
    return times


def _read_record(family: str) -> dict | None:
    try:
        record = outside_json.read_object(record_file(family))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("ok"), bool) else None


def _check(family: str, python: Path, spec: specs.EnvSpec, key: str) -> dict:
    record = {"key": key, "python": str(python), "checked_at": time.time(), **_run_check(python, spec)}
    record_file(family).parent.mkdir(parents=True, exist_ok=True)
    write_atomically(record_file(family), json_text(record))
    return record


def _run_check(python: Path, spec: specs.EnvSpec) -> dict:
    """{ok, problem, version, prefix, site}: is it a Python the runners can use, and does the check pass?"""
    probe = _run([str(python), "-c", _PROBE], PROBE_SECONDS)
    if isinstance(probe, str):
        return {"ok": False, "problem": probe}
    answer = _probe_answer(probe.stdout)
    if answer is None:
        return {"ok": False, "problem": f"{python} is not a Python interpreter (it did not answer a Python probe)"}

    def result(problem: str) -> dict:
        # site-packages times are taken after the check, which may itself add a __pycache__ there
        return {"ok": not problem, "problem": problem, "version": answer["version"], "prefix": answer["prefix"],
                "site": _site_times(answer["site"])}

    if tuple(int(part) for part in answer["version"].split(".")[:2] if part.isdigit()) < MINIMUM_PYTHON:
        return result(f"{python} is Python {answer['version']}; the runners need "
                      f"{'.'.join(map(str, MINIMUM_PYTHON))} or newer")
    if spec.verify_run:
        ran = _run(expand(spec.verify_run, Path(answer["prefix"]), python), CHECK_SECONDS)
        if isinstance(ran, str):
            return result(ran)
        if ran.returncode != 0:
            lines = [line.strip() for line in (ran.stdout + ran.stderr).splitlines() if line.strip()]
            return result((lines[-1] if lines else f"exit status {ran.returncode}")[:300])
    return result("")


def _run(argv: list[str], seconds: int) -> subprocess.CompletedProcess | str:
    """The finished program, or why it could not run, in words."""
    try:
        return processes.run(argv, capture_output=True, text=True, errors="replace", timeout=seconds,
                              stdin=subprocess.DEVNULL, env=python_environment())
    except subprocess.TimeoutExpired:
        return f"{argv[0]} did not finish its check within {seconds} s"
    except OSError as exc:
        return f"{argv[0]} cannot be run: {exc.strerror or exc}"


def _probe_answer(stdout: str) -> dict | None:
    for line in reversed(stdout.splitlines()):
        try:
            answer = outside_json.parse(line)
        except ValueError:
            continue
        if isinstance(answer, dict) and answer.get("fashionfail_probe") == 1:
            valid = isinstance(answer.get("version"), str) and isinstance(answer.get("prefix"), str) \
                and isinstance(answer.get("site", []), list)
            return {"site": [], **answer} if valid else None
    return None
