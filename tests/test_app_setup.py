"""The setup wizard through App.run_test(): choices, disk space, a real environment build from a
local conda channel, closing midway and resuming, checkpoints and the final check."""

import json

import pytest

from conda_channel import build_channel, write_spec
from fileserver import FileServer
from tui import paths
from tui.app import FashionFailApp
from tui.config import load
from tui.environments import State
from tui.environments.embedded import EmbeddedBackend
from tui.setup.wizard import load_state, state_file
from tui.widgets.confirm import Confirm



@pytest.fixture
def file_server():
    with FileServer() as server:
        yield server


@pytest.fixture
def setup_config(tmp_path, monkeypatch, file_server):
    """The embedded backend with a test `amrcnn` spec; facere's weights are a local file, and
    amrcnn-spine's tarball URL points at a local server that does not have it."""
    channel = build_channel(tmp_path)
    specs = tmp_path / "specs"
    write_spec(specs, "amrcnn", channel, dependencies=("greet", "python"),
               post='size_mb = 3\n[verify]\nfiles = ["bin/python"]\nrun = ["{python}", "-c", "import json"]\n')
    weights = tmp_path / "facere_base.onnx"
    weights.write_bytes(b"not really onnx")
    config = tmp_path / "config.toml"
    config.write_text(f'[environments]\nbackend = "embedded"\nspecs = "{specs}"\n\n'
                      f'[models.facere]\nfile = "{weights}"\n\n'
                      f'[models.amrcnn-spine]\nurl = "{file_server.url("/gone.tar.gz")}"\n')
    monkeypatch.setenv(paths.CONFIG_ENV, str(config))
    return specs


async def open_setup(app, pilot):
    await pilot.press("s")
    await pilot.pause()
    return app.screen


async def press_next(app, pilot):
    """n, and yes where it asks (before a long operation, and to finish)."""
    await pilot.press("n")
    await pilot.pause()
    if isinstance(app.screen, Confirm):
        await pilot.press("y")
        await pilot.pause()


def footer(app) -> dict[str, bool]:
    """The footer's keys on this step: description -> enabled (a dimmed one is False)."""
    return {active.binding.description: active.enabled for active in app.screen.active_bindings.values()}


async def test_screenshot_wizard_builds_the_environment_and_resumes_after_reopening(setup_config, screenshot_dir):
    app = FashionFailApp()
    async with app.run_test(size=(130, 40)) as pilot:
        screen = await open_setup(app, pilot)
        assert screen.panes.current == "backend"
        assert footer(app)["Next"] and footer(app)["Back"] is False  # dimmed on the first step
        await pilot.click("#backend-embedded")
        await press_next(app, pilot)

        assert screen.panes.current == "models"
        await press_next(app, pilot)  # nothing ticked
        assert screen.panes.current == "models"
        screen.model_choice.select(["amrcnn-spine", "facere"])
        await pilot.press("backspace")  # back and forth keeps the ticks, on disk too
        await pilot.pause()
        assert screen.panes.current == "backend" and load_state().models == ["amrcnn-spine", "facere"]
        await press_next(app, pilot)
        await press_next(app, pilot)

        assert screen.panes.current == "disk"
        await app.workers.wait_for_complete()  # the needs are measured in a thread worker
        await pilot.pause()
        rows = {str(screen.disk_table.get_row(key)[0]): screen.disk_table.get_row(key) for key in ("checkpoints", "environments")}
        assert str(rows["environments"][1]) == "3.0 MB" and "enough" in str(rows["environments"][3])
        assert str(rows["checkpoints"][1]).startswith("185.0 MB + unknown (fashionpedia-")  # as wide as fits beside the folder (its length varies: xdist workers have longer temp paths)
        assert load_state().models == ["amrcnn-spine", "facere"] and load_state().backend == "embedded"

        await press_next(app, pilot)
        assert screen.panes.current == "environments"
        await app.workers.wait_for_complete()
        await pilot.pause()
        log_text = "\n".join(str(line.text) for line in screen.environments_runner.task_log.lines)
        assert "linking greet" in log_text
        assert "environment amrcnn (embedded): done" in str(screen.environments_runner.task_title.render())
        assert EmbeddedBackend(load()).status("amrcnn").state is State.READY
        app.save_screenshot(filename="setup.svg", path=str(screenshot_dir))
    assert load_state().environments_done == ["amrcnn"]
    builds = sorted(paths.logs_dir().glob("amrcnn-create-*.log"))

    reopened = FashionFailApp()
    async with reopened.run_test(size=(130, 40)) as pilot:
        screen = await open_setup(reopened, pilot)
        assert screen.panes.current == "environments"
        assert "Nothing left to do here" in str(screen.environments_runner.task_title.render())
        assert sorted(paths.logs_dir().glob("amrcnn-create-*.log")) == builds  # not built again
        await press_next(reopened, pilot)
        assert screen.panes.current == "checkpoints"
        assert json.loads(state_file().read_text())["step"] == "checkpoints"
        await reopened.workers.wait_for_complete()
        await pilot.pause()
        log_text = "\n".join(str(line.text) for line in screen.checkpoints_runner.task_log.lines)
        assert "fetching facere" in log_text and "failed: " in log_text
        assert load_state().fetched == ["facere"] and footer(reopened)["Retry"]

        await press_next(reopened, pilot)  # go on without amrcnn-spine's checkpoint
        assert screen.panes.current == "check"
        await reopened.workers.wait_for_complete()
        await pilot.pause()
        report = screen.check_report.text
        assert "facere  ready  runs in the app's own interpreter" in report.splitlines()
        amrcnn = report[report.index("amrcnn-spine"):report.index("facere")]
        assert "missing checkpoint" in amrcnn and "fashionfail-tui fetch amrcnn-spine" in amrcnn
        assert "fashionfail-tui fetch MODEL --from FILE, or i on the Models screen" in report  # the offline route
        assert "environment" not in amrcnn.replace("runs in", "")  # built by the wizard above
        assert footer(reopened)["Finish"] and "Next" not in footer(reopened)
        assert str(screen.outcome.render()) == ("Steps that failed: Checkpoints (amrcnn-spine). The table says what "
                                                "each model still needs.")
        await press_next(reopened, pilot)
        assert load_state().step == "done" and footer(reopened)["Start over"]
        said = [n.message for n in reopened._notifications]
        assert "Setup ended with steps that failed: Checkpoints (amrcnn-spine)" in said
        assert not any("Setup finished" in m for m in said)


async def test_a_broken_wizard_file_starts_over(setup_config):
    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text("{not json")
    app = FashionFailApp()
    async with app.run_test(size=(130, 40)) as pilot:
        assert (await open_setup(app, pilot)).panes.current == "backend"


async def test_a_failed_build_is_reported_and_retried(setup_config, tmp_path):
    write_spec(setup_config, "amrcnn", tmp_path / "channel",
               post='[[steps]]\nname = "compile"\nrun = ["sh", "-c", "echo no compiler; exit 1"]\n')
    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps({"step": "disk", "backend": "embedded", "models": ["amrcnn-r50-fpn"]}))
    app = FashionFailApp()
    async with app.run_test(size=(130, 40)) as pilot:
        screen = await open_setup(app, pilot)
        assert screen.panes.current == "disk"
        await press_next(app, pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "environment amrcnn (embedded): failed" in str(screen.environments_runner.task_title.render())
        assert any("step 'compile' failed" in n.message for n in app._notifications)
        assert footer(app)["Retry"] and load_state().environments_done == []

        write_spec(setup_config, "amrcnn", tmp_path / "channel", post="size_mb = 3\n")
        await pilot.press("t", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert load_state().environments_done == ["amrcnn"]
        assert "Retry" not in footer(app) and screen.panes.current == "environments"


async def test_closing_the_app_mid_build_stops_a_silent_step_at_once(setup_config, tmp_path):
    """A post-install step that prints nothing for a long time (a compiler, a big wheel) must not
    keep the process alive after the user quits: closing the wizard stops the step's program and
    what it started (here a `sleep` under `sh`)."""
    import os
    import time

    pid_file = tmp_path / "step.pid"
    write_spec(setup_config, "amrcnn", tmp_path / "channel", dependencies=("hello",),
               post=f'[[steps]]\nname = "compile"\nrun = ["sh", "-c", "sleep 60 & echo $! > {pid_file}; wait"]\n')
    app = FashionFailApp()
    async with app.run_test(size=(130, 40)) as pilot:
        screen = await open_setup(app, pilot)
        await pilot.click("#backend-embedded")
        await press_next(app, pilot)
        screen.model_choice.select(["amrcnn-r50-fpn"])
        await press_next(app, pilot)
        await press_next(app, pilot)
        assert screen.panes.current == "environments"
        for _ in range(100):
            if pid_file.is_file() and pid_file.read_text().strip():
                break
            await pilot.pause(0.1)
        step_pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(step_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(step_pid, 9)
        pytest.fail("the build step's program outlived the app by more than 5 s")
    assert EmbeddedBackend(load()).status("amrcnn").state is not State.READY


async def test_backends_that_are_not_installed_are_dimmed_and_cannot_be_chosen(setup_config, tmp_path, monkeypatch):
    from textual.widgets import RadioButton

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mamba").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "mamba").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))  # mamba is installed; conda and micromamba are not
    for variable in ("CONDA_EXE", "MAMBA_EXE"):
        monkeypatch.delenv(variable, raising=False)
    app = FashionFailApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_setup(app, pilot)
        buttons = {str(b.id).removeprefix("backend-"): b for b in screen.query(RadioButton)}
        assert [name for name, button in buttons.items() if button.disabled] == ["conda", "micromamba"]
        assert buttons["conda"].styles.color != buttons["mamba"].styles.color, "not installed: dimmed"
        await pilot.click("#backend-conda")
        await pilot.pause()
        assert screen.backend_choice.value == "auto"
        screen.backend_choice.radio_set.focus()
        chosen = set()
        for _ in range(6):  # the cursor walks the list, round and round: past what is not installed
            await pilot.press("down", "enter")
            chosen.add(screen.backend_choice.value)
        assert chosen == {"auto", "embedded", "uv", "mamba"}


async def test_an_unreachable_channel_is_one_short_line_and_its_cause_goes_to_the_log(setup_config, tmp_path):
    """No network once showed rattler's six levels of causes over the wizard's buttons."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(config.read_text().replace(
        "[environments]\n", f'[environments]\nchannels = ["conda-forge"]\nchannel_alias = "http://127.0.0.1:{port}/"\n'))
    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps({"step": "disk", "backend": "embedded", "models": ["amrcnn-r50-fpn"]}))
    app = FashionFailApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_setup(app, pilot)
        await press_next(app, pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = [n.message for n in app._notifications if n.severity == "error"]
        assert len(said) == 1 and "\n" not in said[0]
        assert "step 'solve the conda packages' failed: cannot reach conda-forge (no network?)" in said[0]
        assert "Caused by" not in said[0] and "error sending request" not in said[0]
        log_text = "\n".join(str(line.text) for line in screen.environments_runner.task_log.lines)
        assert "Caused by" in log_text and "Connection refused" in log_text  # the whole cause, in the log
        written = sorted(paths.logs_dir().glob("amrcnn-create-*.log"))[-1].read_text()
        assert "Connection refused" in written and "FAILED: cannot reach conda-forge (no network?)" in written


async def test_keys_never_start_a_long_step_or_finish_without_asking_and_the_lists_have_the_focus(setup_config):
    """Letters typed by mistake (a path typed where no field had the cursor) once pressed Finish."""
    from textual.widgets import Button

    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps({"step": "backend", "backend": "embedded", "models": []}))
    app = FashionFailApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_setup(app, pilot)
        assert app.focused is screen.backend_choice.radio_set
        await press_next(app, pilot)
        assert screen.panes.current == "models" and app.focused is screen.model_choice.selection_list
        await pilot.press("down", "space")  # the second model, ticked from the keyboard
        await pilot.pause()
        assert screen.model_choice.value == ["amrcnn-r50-fpn"]
        lines = [str(screen.model_choice.selection_list.render_line(y).text) for y in range(2)]
        assert lines[0].startswith("\u2590 \u258c amrcnn-spine") and lines[1].startswith("\u2590X\u258c amrcnn-r50-fpn")
        await press_next(app, pilot)
        assert screen.panes.current == "disk"
        await app.workers.wait_for_complete()
        await pilot.press("n")  # would start the builds: it asks, and a stray n says no
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        await pilot.pause()
        assert screen.panes.current == "disk" and not screen.busy
        forward = screen.query_one("#setup-forward", Button)
        assert str(forward.label) == "Build the environments"
        await pilot.press("backspace")
        await pilot.pause()
        assert screen.panes.current == "models"


async def test_the_final_check_finishes_only_when_asked_twice_or_with_the_button(setup_config):
    from textual.widgets import Button

    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps({"step": "check", "backend": "embedded", "models": ["facere"]}))
    app = FashionFailApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_setup(app, pilot)
        await app.workers.wait_for_complete()
        await pilot.press("n", "n")  # asked, and said no
        await pilot.pause()
        assert load_state().step == "check"
        forward = screen.query_one("#setup-forward", Button)
        assert str(forward.label) == "Finish" and app.focused is forward
        await pilot.press("enter")  # the deliberate press
        await pilot.pause()
        assert load_state().step == "done"
