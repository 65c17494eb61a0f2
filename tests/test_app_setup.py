"""The setup wizard through App.run_test(): choices, disk space, a real environment build from a
local conda channel, closing midway and resuming, checkpoints and the final check."""

import json
from pathlib import Path

import pytest

from conda_channel import build_channel, write_spec
from tui import paths
from tui.app import FashionFailApp
from tui.environments import State
from tui.environments.embedded import EmbeddedBackend
from tui.environments.wizard import load_state, state_file
from tui.config import load

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


@pytest.fixture
def setup_config(tmp_path, monkeypatch):
    channel = build_channel(tmp_path)
    specs = tmp_path / "specs"
    write_spec(specs, "amrcnn", channel, post="size_mb = 3\n")
    weights = tmp_path / "facere_base.onnx"
    weights.write_bytes(b"not really onnx")
    config = tmp_path / "config.toml"
    config.write_text(f'[environments]\nbackend = "embedded"\nspecs = "{specs}"\n\n'
                      f'[models.facere]\nfile = "{weights}"\n')
    monkeypatch.setenv(paths.CONFIG_ENV, str(config))
    return specs


async def open_setup(app, pilot):
    await pilot.press("s")
    await pilot.pause()
    return app.screen


async def press_next(app, pilot):
    await pilot.click("#setup-next")
    await pilot.pause(0.3)  # a button ignores a second press while it still shows the first


async def test_wizard_builds_the_environment_and_resumes_after_reopening(setup_config):
    app = FashionFailApp()
    async with app.run_test(size=(130, 40)) as pilot:
        screen = await open_setup(app, pilot)
        assert screen.panes.current == "backend"
        assert screen.back_button.disabled
        await pilot.click("#backend-embedded")
        await press_next(app, pilot)

        assert screen.panes.current == "models"
        await press_next(app, pilot)  # nothing ticked
        assert screen.panes.current == "models"
        screen.model_choice.select(["amrcnn-spine", "facere"])
        await press_next(app, pilot)

        assert screen.panes.current == "disk"
        rows = {str(screen.disk_table.get_row(key)[0]): screen.disk_table.get_row(key) for key in ("checkpoints", "environments")}
        assert rows["environments"][2] == "3.0 MB" and "enough" in str(rows["environments"][4])
        assert str(rows["checkpoints"][2]) == "185.0 MB + unknown (fashionpedia-spinenet-143.tar.gz)"
        assert load_state().models == ["amrcnn-spine", "facere"] and load_state().backend == "embedded"

        await press_next(app, pilot)
        assert screen.panes.current == "environments"
        await app.workers.wait_for_complete()
        await pilot.pause()
        log_text = "\n".join(str(line.text) for line in screen.environments_runner.task_log.lines)
        assert "linking greet" in log_text
        assert "environment amrcnn (embedded): done" in str(screen.environments_runner.task_title.render())
        assert EmbeddedBackend(load()).status("amrcnn").state is State.READY
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(filename="setup.svg", path=str(SCREENSHOTS))
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
        assert str(screen.next_button.label) == "Retry" and load_state().environments_done == []

        write_spec(setup_config, "amrcnn", tmp_path / "channel", post="size_mb = 3\n")
        await press_next(app, pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert load_state().environments_done == ["amrcnn"]
        assert str(screen.next_button.label) == "Next" and screen.panes.current == "environments"
