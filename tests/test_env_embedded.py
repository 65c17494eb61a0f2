"""The embedded backend for real: py-rattler solves and installs from a local conda channel."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conda_channel import build_channel, config_for, write_spec
from tui import paths
from tui.environments import State, backend_for, python_for
from tui.environments.embedded import EmbeddedBackend
from tui.environments.process import stream
from tui.config import load as load_config
from tui.environments.specs import load
from tui.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def channel(tmp_path):
    return build_channel(tmp_path)


@pytest.fixture
def specs(tmp_path, channel):
    write_spec(tmp_path / "specs", "tiny", channel)
    return tmp_path / "specs"


def test_create_verify_break_repair_remove(specs):
    backend = backend_for(config_for(specs))
    assert isinstance(backend, EmbeddedBackend)
    assert backend.status("tiny").state is State.MISSING
    events = []

    created = backend.create("tiny", events.append)

    prefix = paths.environments_dir() / "tiny"
    assert created.state is State.READY and created.prefix == prefix
    assert (prefix / "share/greet/greeting.txt").read_text() == "good day\n"
    assert subprocess.run([prefix / "bin/hello"], capture_output=True, text=True).stdout == "hello from the test channel\n"
    steps = [e.step for e in events if e.started]
    assert steps == ["solve the conda packages", "install the conda packages", "say hello",
                     "check installed files", "run the check command"]
    lines = [e.line for e in events if e.line]
    assert any("greet 2.0" in line for line in lines) and "hello from the test channel" in lines
    assert any(e.fraction and 0 < e.fraction < 1 for e in events if e.step == "install the conda packages")

    assert backend.verify("tiny").state is State.READY

    (prefix / "share/hello/data.txt").unlink()
    with pytest.raises(UserError, match=r"step 'check installed files' failed: 1 installed file\(s\) missing, "
                                        r"e.g. share/hello/data.txt"):
        backend.verify("tiny")
    broken = backend.status("tiny")
    assert broken.state is State.BROKEN and "share/hello/data.txt" in broken.detail

    assert backend.update("tiny").state is State.READY
    assert (prefix / "share/hello/data.txt").read_text() == "hello\n"

    assert backend.remove("tiny").state is State.MISSING
    assert not prefix.exists()


def test_changed_spec_reads_out_of_date_and_update_brings_it_back(specs, channel):
    backend = backend_for(config_for(specs))
    backend.create("tiny")
    write_spec(specs, "tiny", channel, dependencies=("greet", "hello"))
    status = backend.status("tiny")
    assert status.state is State.OUT_OF_DATE and "tiny.yml changed" in status.detail
    assert backend.update("tiny").state is State.READY


def test_unsolvable_spec_is_one_line_and_never_ready(specs, channel):
    write_spec(specs, "impossible", channel, dependencies=("greet >=5",))
    backend = backend_for(config_for(specs))
    with pytest.raises(UserError) as failure:
        backend.create("impossible")
    message = str(failure.value)
    assert "\n" not in message
    assert "step 'solve the conda packages' failed" in message and "greet >=5" in message
    assert backend.status("impossible").state is State.MISSING
    log = Path(message.split("(log: ")[1].rstrip(")"))
    assert log.parent == paths.logs_dir() and "FAILED" in log.read_text()


def test_failing_post_install_step_leaves_a_log_and_a_broken_env(specs, channel):
    write_spec(specs, "failing", channel, post='[[steps]]\nname = "compile"\nrun = ["sh", "-c", "echo no compiler here; exit 3"]\n')
    backend = backend_for(config_for(specs))
    with pytest.raises(UserError, match=r"step 'compile' failed: sh exited with status 3: no compiler here"):
        backend.create("failing")
    status = backend.status("failing")
    assert status.state is State.BROKEN
    log = Path(status.detail.split("(log: ")[1].rstrip(")"))
    text = log.read_text()
    assert "no compiler here" in text and "linking hello" in text
    assert python_for("failing", config_for(specs)) is None


def test_create_killed_midway_is_never_ready(specs, channel, tmp_path):
    write_spec(specs, "slow", channel, post='[[steps]]\nname = "wait"\nrun = ["sh", "-c", "echo waiting; sleep 30"]\n')
    config = tmp_path / "config.toml"
    config.write_text(f'[environments]\nbackend = "embedded"\nspecs = "{specs}"\n')
    env = {**os.environ, paths.CONFIG_ENV: str(config), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "tui", "env", "create", "slow", "--json"], stdout=subprocess.PIPE,
                               text=True, env=env, cwd=ROOT, start_new_session=True)
    for line in process.stdout:
        if json.loads(line).get("line") == "waiting":
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    status = EmbeddedBackend(config_for(specs)).status("slow")
    assert status.state is State.BROKEN and "never finished" in status.detail
    assert (status.prefix / "bin/hello").exists()  # the packages were in, only the last step was cut


def test_python_for_needs_a_ready_env_with_an_interpreter(specs, channel):
    config = config_for(specs)
    post = '[verify]\nfiles = ["bin/python"]\n'
    write_spec(specs, "amrcnn", channel, dependencies=("hello",), post=post)
    assert python_for("amrcnn-spine", config) is None
    backend = backend_for(config)
    with pytest.raises(UserError, match="e.g. bin/python"):  # the test channel has no python
        backend.create("amrcnn")
    assert python_for("amrcnn-spine", config) is None
    python = paths.environments_dir() / "amrcnn" / "bin" / "python"
    python.symlink_to(sys.executable)
    assert python_for("amrcnn-spine", config) is None  # still marked broken
    backend.update("amrcnn")
    assert python_for("amrcnn-spine", config) == python
    assert python_for("amrcnn", config) == python


def test_the_bundled_specs_say_what_the_models_need():
    fformer = load("fformer", config_for(paths.envs_specs_dir()))
    assert "python=3.8.13" in fformer.conda and "pytorch::pytorch=1.9.0" in fformer.conda
    assert "mmdet==2.18.0" in fformer.pip and not any(p.lower().startswith("datasets") for p in fformer.pip)
    assert "mmcv-full==1.3.18" in fformer.lock.requirements and fformer.lock.no_build_isolation == ("mmcv-full",)
    assert {"torch==1.9.0", "torchvision==0.10.0"} <= set(fformer.lock.from_conda)
    assert not any("torchmetrics" in line for line in fformer.pip + fformer.lock.requirements)
    amrcnn = load("amrcnn", config_for(paths.envs_specs_dir()))
    assert amrcnn.conda[0] == "python=3.9" and "tensorflow-gpu==2.11.0" in amrcnn.pip
    assert "import tensorflow, pycocotools" in " ".join(amrcnn.verify_run)


def test_config_channels_and_channel_alias_point_the_solver_at_a_mirror(tmp_path, channel):
    """The spec names `conda-forge`; the config sends the solve to the local channel instead."""
    specs = tmp_path / "specs"
    write_spec(specs, "tiny", channel)
    spec_file = specs / "tiny.yml"
    spec_file.write_text(spec_file.read_text().replace(channel.as_uri(), "conda-forge"))
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[environments]\nspecs = "{specs}"\nchannels = ["{channel.as_uri()}"]\n')
    assert backend_for(load_config(config_file), "embedded").create("tiny").state is State.READY

    config_file.write_text(f'[environments]\nspecs = "{specs}"\nchannel_alias = "{tmp_path.as_uri()}/"\n')
    spec_file.write_text(spec_file.read_text().replace("conda-forge", "channel"))
    events = []
    backend_for(load_config(config_file), "embedded").update("tiny", events.append)
    assert f"channels: {channel.as_uri()}/" in [e.line for e in events]

    config_file.write_text('[environments]\nchannels = "not a list"\n')
    with pytest.raises(UserError, match=r"config.toml:2: 'channels' has the wrong type"):
        load_config(config_file)


def test_a_listener_that_stops_listening_stops_the_program(tmp_path):
    """What happens when the app closes mid-build: the callback raises, the program is killed."""
    marker = tmp_path / "still-running"

    def on_line(text):
        raise RuntimeError("app closed")

    with pytest.raises(RuntimeError):
        stream(["sh", "-c", f"echo start; sleep 0.5; touch {marker}"], on_line, terminal=True)
    time.sleep(0.8)
    assert not marker.exists()


def test_a_spec_outside_the_supported_yaml_names_its_file_and_line(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "odd.yml").write_text("name: odd\ndependencies:\n  - python\n  weird: nesting\n")
    with pytest.raises(UserError, match=r"odd.yml:4: not understood"):
        load("odd", config_for(specs))
    (specs / "odd.yml").write_text("name: odd\ndependencies: [python, pip]\n")
    with pytest.raises(UserError, match=r"odd.yml: `dependencies:` must be followed by `- item` lines"):
        load("odd", config_for(specs))
    (specs / "odd.yml").write_text("name: odd\ndependencies:\n  - hello\n")
    (specs / "odd.post.toml").write_text('[[steps]]\nname = "both"\npip = ["x"]\nrun = ["y"]\n')
    with pytest.raises(UserError, match="exactly one of pip"):
        load("odd", config_for(specs))
