"""The uv backend and `env lock`, for real: uv from the app's dependencies, PyPI, pyenv's Pythons.

- The bundled amrcnn environment is built from envs/amrcnn.lock with a Python 3.9 (pyenv's), as
  `fashionfail-tui env create amrcnn --backend uv --python PATH` does it; TensorFlow 2.11 imports
  there, the installed versions are the lock's, and the amrcnn runner runs under that interpreter
  (its TensorFlow and source tree replaced by the stand-ins of tests/standins, as in
  test_runner_amrcnn.py: the model cannot run here, the environment's Python and packages do).
  So a lock that does not install fails here, not at a user's. About 30 s with uv's cache warm
  (uv's own cache, ~/.cache/uv, kept between runs), a few minutes cold.
- A small spec locked with `env lock` and built from that lock: a tampered hash is refused, a
  stale lock is refused, drift reads out of date.
Skipped, with the reason, without a Python 3.9 (pyenv) or without PyPI; deselect with `-m "not pypi"`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.interpreters import pyenv_python
from tests.helpers.standin_runs import ROOT, run_standin_runner, standin_tree
from tui import paths
from tui.config import Config
from tui.environments import locks, specs

pytestmark = [pytest.mark.pypi, pytest.mark.timeout(900)]


def pypi_unreachable() -> str | None:
    try:
        urllib.request.urlopen("https://pypi.org/simple/six/", timeout=20).close()
    except OSError as exc:
        return f"PyPI is not reachable ({exc})"
    return None


def cli(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=900, stdin=subprocess.DEVNULL)
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


# ---- the bundled amrcnn environment --------------------------------------------------------------

@pytest.fixture(scope="module")
def amrcnn_env(tmp_path_factory):
    """`env create amrcnn --backend uv --python <pyenv's 3.9>` in a data dir of its own: (data dir, seconds)."""
    python39 = pyenv_python("3.9")
    if python39 is None:
        pytest.skip("no Python 3.9 from pyenv on this machine: the amrcnn lock's build is not tried")
    if reason := pypi_unreachable():
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("uv-home")
    env = {paths.DATA_ENV: str(home / "data"), paths.CACHE_ENV: str(home / "cache"),
           paths.CONFIG_ENV: str(home / "config.toml")}
    started = time.monotonic()
    cli("env", "create", "amrcnn", "--backend", "uv", "--python", str(python39), env=env)
    return env, time.monotonic() - started


def test_amrcnn_builds_from_its_lock_with_python_3_9_and_imports_tensorflow(amrcnn_env):
    env, seconds = amrcnn_env
    print(f"env create amrcnn --backend uv: {seconds:.0f} s")
    python = Path(env[paths.DATA_ENV]) / "venvs" / "amrcnn" / "bin" / "python"
    done = subprocess.run([str(python), "-c", "import sys, numpy, tensorflow as tf; "
                           "print(sys.version_info[:2], tf.__version__, numpy.__version__)"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["2.11.0", "1.26.4"] and done.stdout.startswith("(3, 9)")
    listed = json.loads(cli("env", "list", "amrcnn", "--json", env=env).stdout)["environments"][0]
    assert (listed["backend"], listed["state"], listed["python"]) == ("uv", "ready", str(python))
    installed = json.loads(subprocess.run([locks.uv_bin(), "pip", "list", "--python", str(python), "--format", "json"],
                                          capture_output=True, text=True, check=True).stdout)
    pins = locks.read(specs.load("amrcnn", Config()).lock_file).pins
    assert {locks.canonical(p["name"]): p["version"] for p in installed} == pins  # the lock, nothing more


def test_the_amrcnn_runner_runs_under_the_built_environments_python(amrcnn_env, tmp_path):
    env, _ = amrcnn_env
    python = Path(env[paths.DATA_ENV]) / "venvs" / "amrcnn" / "bin" / "python"
    tree = standin_tree("tpu", tmp_path)
    checkpoint = tmp_path / "ckpt" / "model.ckpt"
    checkpoint.parent.mkdir()
    for suffix in (".index", ".meta", ".data-00000-of-00001"):
        Path(str(checkpoint) + suffix).write_bytes(b"stand-in")
    (checkpoint.parent / "checkpoint").write_bytes(b"stand-in")
    images = tmp_path / "images"
    images.mkdir()
    from PIL import Image
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (64, 48, 3), np.uint8)).save(images / "a.jpg")
    output = tmp_path / "out.npz"
    result, events = run_standin_runner("amrcnn-r50-fpn", Path(str(checkpoint) + ".index"), images, output, tree,
                                        python=python)
    assert result.returncode == 0, result.stderr[-2000:]
    assert events[-1]["event"] == "done" and events[-1]["images"] == 1
    with np.load(output, allow_pickle=True) as stored:  # our own test output: trusted
        meta = json.loads(str(stored["meta"]))
    assert meta["versions"]["python"].startswith("3.9.")


def test_drift_from_the_lock_reads_out_of_date_with_the_fix(amrcnn_env):
    env, _ = amrcnn_env
    python = Path(env[paths.DATA_ENV]) / "venvs" / "amrcnn" / "bin" / "python"
    pins = locks.read(specs.load("amrcnn", Config()).lock_file).pins
    subprocess.run([locks.uv_bin(), "pip", "install", "--python", str(python), "tqdm==4.66.0"], check=True,
                   capture_output=True)
    subprocess.run([locks.uv_bin(), "pip", "uninstall", "--python", str(python), "termcolor"], check=True,
                   capture_output=True)
    done = cli("env", "verify", "amrcnn", env=env, check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"tqdm 4.66.0 is installed, the lock says {pins['tqdm']}" in done.stdout
    assert f"termcolor is not installed (the lock says {pins['termcolor']})" in done.stdout
    assert "2 package(s) differ from amrcnn.lock" in done.stderr
    assert "run fashionfail-tui env update amrcnn" in done.stderr
    listed = json.loads(cli("env", "list", "amrcnn", "--json", env=env).stdout)["environments"][0]
    assert listed["state"] == "out of date" and "differ from amrcnn.lock" in listed["detail"]


# ---- a small spec, locked here -------------------------------------------------------------------

SMALL_SPEC = """name: fashionfail-small
channels:
  - conda-forge
dependencies:
  - python={version}
  - pip
  - pip:
      - six==1.16.0
      - packaging<25
"""


@pytest.fixture
def small(tmp_path, monkeypatch):
    """A spec `small` for the app's own Python version, with two pip packages; the config points at it."""
    if reason := pypi_unreachable():
        pytest.skip(reason)
    folder = tmp_path / "specs"
    folder.mkdir()
    version = "%d.%d" % sys.version_info[:2]
    (folder / "small.yml").write_text(SMALL_SPEC.format(version=version))
    (folder / "small.post.toml").write_text('[verify]\nfiles = ["bin/python"]\nrun = ["{python}", "-c", "import six"]\n')
    config = Path(os.environ[paths.CONFIG_ENV])
    config.write_text(f'[environments]\nspecs = "{folder}"\n')
    return folder


def test_env_lock_then_create_with_uv_builds_exactly_the_lock(small):
    cli("env", "lock", "small")
    lock = locks.read(small / "small.lock")
    assert lock.pins["six"] == "1.16.0" and int(lock.pins["packaging"].split(".")[0]) < 25
    assert lock.header["inputs-sha256"] == locks.inputs_digest(specs.load("small", Config(specs_dir=small)))
    done = cli("env", "create", "small", "--backend", "uv", "--python", sys.executable)
    assert "small (uv): ready" in done.stdout and "every package at its version in small.lock" in done.stdout
    assert "install the locked pip packages (small.lock)" in done.stdout


def test_a_tampered_hash_is_refused_and_the_environment_reads_broken(small):
    cli("env", "lock", "small")
    lock = small / "small.lock"
    text = lock.read_text()
    six = locks.read(lock).blocks["six"]  # every hash of six replaced: uv accepts a file matching any one
    lock.write_text(text.replace(six, re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, six)))
    done = cli("env", "create", "small", "--backend", "uv", "--python", sys.executable, check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "install the locked pip packages" in done.stderr and "Hash mismatch for `six==1.16.0`" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert json.loads(cli("env", "list", "small", "--json").stdout)["environments"][0]["state"] == "broken"


def test_a_stale_lock_is_refused_before_anything_is_installed(small):
    cli("env", "lock", "small")
    (small / "small.yml").write_text((small / "small.yml").read_text().replace("six==1.16.0", "six==1.17.0"))
    done = cli("env", "create", "small", "--backend", "uv", "--python", sys.executable, check=False)
    assert done.returncode != 0
    assert "small.lock is stale" in done.stderr and "run fashionfail-tui env lock small" in done.stderr


def test_an_interpreter_of_another_version_or_none_at_all_is_refused(tmp_path):
    wrong = cli("env", "create", "amrcnn", "--backend", "uv", "--python", sys.executable, check=False)
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    assert f"is Python {'.'.join(map(str, sys.version_info[:3]))}; amrcnn.yml needs Python 3.9" in wrong.stderr
    script = tmp_path / "not-python"
    script.write_text("#!/bin/sh\nexit 3\n")
    script.chmod(0o755)
    none = cli("env", "create", "amrcnn", "--backend", "uv", "--python", str(script), check=False)
    assert none.returncode != 0 and "does not run as a Python interpreter" in none.stderr
    other = cli("env", "create", "amrcnn", "--backend", "embedded", "--python", sys.executable, check=False)
    assert other.returncode != 0 and "--python is for the uv backend" in other.stderr
