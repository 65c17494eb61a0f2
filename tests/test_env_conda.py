"""The conda/mamba/micromamba backend against a stand-in executable.

The stand-in (written below) is NOT conda: it is a small script that answers the subcommands the
backend uses with the JSON shapes conda documents and prints: `env list --json` (with extra keys
that must be ignored), progress records ended by NUL only when stdout is a terminal (as conda
does), a pretty-printed final JSON object, and a JSON error with a non-zero exit status.
"""

import json
import os
import sys
from pathlib import Path

import pytest

from conda_channel import TINY_POST, config_for, write_spec
from tui.environments import State, backend_for, python_for
from tui.environments.conda import CondaBackend, find_executable
from tui.errors import UserError

STAND_IN = r'''#!PYTHON
# A stand-in for conda/mamba/micromamba used by the tests; it is not conda.
import json, os, shutil, sys, time
from pathlib import Path

root = Path(os.environ["STAND_IN_ROOT"])
args = sys.argv[1:]
with open(root / "calls.log", "a") as log:
    log.write(json.dumps([Path(sys.argv[0]).name] + args) + "\n")

def option(name):
    return args[args.index(name) + 1]

def finish(result, status=0):
    print(json.dumps(result, indent=2))
    sys.exit(status)

if args[:3] == ["env", "list", "--json"]:
    envs = [str(root)] + sorted(str(p) for p in (root / "envs").glob("*") if p.is_dir())
    finish({"envs": envs, "envs_dirs": [str(root / "envs")],
            "envs_details": {str(root / "elsewhere" / "fashionfail-tiny"): {"name": "fashionfail-tiny"}}})

if "--file" in args:
    spec = Path(option("--file")).read_text()
    (root / "given.yml").write_text(spec)
    prefix = root / "envs" / option("--name")
    if "no-such-package" in spec:
        finish({"caused_by": "None", "error": "PackagesNotFoundError: The following packages are not available",
                "exception_name": "PackagesNotFoundError", "message": "The following packages are not available "
                "from current channels:\n\n  - no-such-package", "packages": ["no-such-package"]}, 1)
    if os.isatty(1):
        for done in (0.0, 0.5, 1.0):
            sys.stdout.write(json.dumps({"fetch": "hello-1.0-0", "finished": done == 1.0, "maxval": 1,
                                         "progress": done}) + "\n\0")
            sys.stdout.flush()
    (prefix / "conda-meta").mkdir(parents=True, exist_ok=True)
    (prefix / "bin").mkdir(exist_ok=True)
    (prefix / "bin" / "hello").write_text("#!/bin/sh\necho hello from the stand-in\n")
    (prefix / "bin" / "hello").chmod(0o755)
    (prefix / "conda-meta" / "hello-1.0-0.json").write_text(json.dumps({"name": "hello", "files": ["bin/hello"]}))
    (prefix / "share" / "greet").mkdir(parents=True, exist_ok=True)
    (prefix / "share" / "greet" / "greeting.txt").write_text("good day\n")
    finish({"actions": {"LINK": [{"name": "hello"}]}, "prefix": str(prefix), "success": True})

if ("remove" in args) and "--name" in args:
    shutil.rmtree(root / "envs" / option("--name"))
    finish({"success": True, "actions": {"PREFIX": str(root / "envs" / option("--name"))}})

finish({"error": "stand-in: unsupported call " + " ".join(args), "message": "unsupported"}, 2)
'''


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """bin/conda, bin/mamba and bin/micromamba, all the same stand-in script."""
    root = tmp_path / "conda-root"
    (root / "envs").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("conda", "mamba", "micromamba"):
        script = bin_dir / name
        script.write_text(STAND_IN.replace("PYTHON", sys.executable))
        script.chmod(0o755)
    monkeypatch.setenv("STAND_IN_ROOT", str(root))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CONDA_EXE", raising=False)
    monkeypatch.delenv("MAMBA_EXE", raising=False)
    return root


def calls(root: Path) -> list[list[str]]:
    """What the stand-in was asked to do, leaving out the `env list` look-ups."""
    return [call for call in map(json.loads, (root / "calls.log").read_text().splitlines()) if call[1:3] != ["env", "list"]]


@pytest.fixture
def specs(tmp_path):
    write_spec(tmp_path / "specs", "tiny", tmp_path / "unused-channel")
    return tmp_path / "specs"


def test_auto_prefers_the_users_conda_and_reads_only_the_envs_list(stand_in, specs):
    backend = backend_for(config_for(specs, backend="auto"))
    assert isinstance(backend, CondaBackend) and backend.name == "conda"
    # envs_details names a fashionfail-tiny elsewhere: it must not count
    assert backend.status("tiny").state is State.MISSING


def test_create_streams_progress_under_a_terminal_then_verify_and_remove(stand_in, specs):
    backend = backend_for(config_for(specs, backend="conda"))
    events = []

    status = backend.create("tiny", events.append)

    prefix = stand_in / "envs" / "fashionfail-tiny"
    assert status.state is State.READY and status.prefix == prefix
    command = calls(stand_in)[-1]
    assert command[:4] == ["conda", "env", "create", "--file"] and Path(command[4]).name == "tiny.yml"
    assert command[5:] == ["--name", "fashionfail-tiny", "--json"]
    fractions = [e.fraction for e in events if e.step.startswith("conda create") and e.line is None]
    assert 0.5 in fractions  # a progress record only printed to a terminal
    assert "hello from the stand-in" in [e.line for e in events if e.step == "say hello"]
    assert backend.verify("tiny").state is State.READY

    (prefix / "bin" / "hello").unlink()
    with pytest.raises(UserError, match="missing, e.g. bin/hello"):
        backend.verify("tiny")
    assert backend.status("tiny").state is State.BROKEN
    assert backend.update("tiny").state is State.READY  # rebuilt: conda's update would not restore the file
    assert backend.remove("tiny").state is State.MISSING
    assert calls(stand_in)[-1][:4] == ["conda", "remove", "--name", "fashionfail-tiny"]
    assert not prefix.exists()


def test_conda_error_json_becomes_one_line_and_no_env(stand_in, specs, tmp_path):
    write_spec(specs, "impossible", tmp_path, dependencies=("no-such-package",), post=TINY_POST)
    backend = backend_for(config_for(specs, backend="mamba"))
    with pytest.raises(UserError) as failure:
        backend.create("impossible")
    message = str(failure.value)
    assert "\n" not in message
    assert "The following packages are not available from current channels: - no-such-package" in message
    assert calls(stand_in)[-1][-2:] == ["--json", "--yes"]
    assert backend.status("impossible").state is State.MISSING


def test_micromamba_commands_and_python_for(stand_in, specs, tmp_path):
    write_spec(specs, "amrcnn", tmp_path, post="size_mb = 1\n")
    config = config_for(specs, backend="micromamba")
    backend = backend_for(config)
    backend.create("amrcnn")
    assert calls(stand_in)[-1][:2] == ["micromamba", "create"]
    python = stand_in / "envs" / "fashionfail-amrcnn" / "bin" / "python"
    python.symlink_to(sys.executable)
    assert python_for("fformer-swin", config) is None
    assert python_for("amrcnn-r50-fpn", config) == python
    backend.update("amrcnn")
    assert calls(stand_in)[-1][:2] == ["micromamba", "install"]
    backend.remove("amrcnn")
    assert calls(stand_in)[-1][:3] == ["micromamba", "env", "remove"]


def test_executable_from_config_and_environment(stand_in, specs, tmp_path, monkeypatch):
    micromamba = tmp_path / "bin" / "micromamba"
    monkeypatch.setenv("PATH", "/nonexistent")
    assert find_executable(config_for(specs)) is None
    assert backend_for(config_for(specs, backend="auto")).name == "embedded"
    monkeypatch.setenv("MAMBA_EXE", str(micromamba))
    assert find_executable(config_for(specs)) == micromamba
    assert find_executable(config_for(specs), "conda") is None
    with pytest.raises(UserError, match="no conda executable found"):
        backend_for(config_for(specs, backend="conda"))
    assert find_executable(config_for(specs, executable=tmp_path / "bin" / "conda"), "conda") == tmp_path / "bin" / "conda"
