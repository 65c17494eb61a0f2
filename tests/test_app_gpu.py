"""The GPU pane in the app. NVML is a STAND-IN pynvml (gpu_standins.replay_pynvml: the real H200 load
dump, real pynvml error classes) put in place of the module; PATH holds no nvidia-smi."""

import subprocess
import sys
import time

import pynvml
import pytest
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer

from gpu_standins import H200_UUID, bin_dir, replay_pynvml  # noqa: F401 (bin_dir is a fixture)
from tui.app import FashionFailApp
from tui.config import Config
from tui.gpu import with_descendants
from tui.widgets.gpu import GpuPane
from tui.widgets.gpu.bars import LoadBar, PercentSparkline
from tui.widgets.gpu.block import GpuBlock
from tests.helpers.pilot import wait_for


pytestmark = pytest.mark.usefixtures("bin_dir")


def use_nvml(monkeypatch, **options):
    monkeypatch.setitem(sys.modules, "pynvml", replay_pynvml("load", process_names={452: "python3"}, **options))


def highlighted(app) -> list[bool]:
    """For each process row on screen, whether it is marked as the app's."""
    return [row.has_class("-ours") for row in app.screen.query(".gpu-process")]


def pane_of(app) -> GpuPane:
    return app.screen.query_one(GpuPane)


async def test_g_toggles_a_pane_with_the_gpu_its_figures_and_the_runner_highlighted(monkeypatch):
    use_nvml(monkeypatch)
    app = FashionFailApp(config=Config(gpu_interval=0.1))
    app.runner_pids = frozenset({452})
    async with app.run_test(size=(140, 40)) as pilot:
        assert not app.screen.query(GpuPane)
        await pilot.press("g")
        await wait_for(pilot, seconds=5.0, condition=lambda: app.screen.query(PercentSparkline) and
                    len(app.screen.query_one("#util-history", PercentSparkline).values) >= 3)
        pane = pane_of(app)
        assert pane.has_class("-docked") and pane.display
        [block] = pane.query(GpuBlock)
        assert "NVIDIA H200" in str(block.query_one(".gpu-title").render())
        util = block.query_one("#util", LoadBar)
        assert util.percent == 95 and util.has_class("-high")
        memory = block.query_one("#memory", LoadBar)
        assert memory.has_class("-low") and memory.detail == "21.6/140.4 GiB"
        fan = block.query_one("#fan")
        assert str(fan.render()) == "fan n/a" and fan.has_class("-absent")
        assert str(block.query_one("#power").render()).startswith("power 69")
        assert not block.query_one("#power").has_class("-absent")
        [row] = block.query(".gpu-process")
        assert "452" in str(row.render()) and "python3" in str(row.render()) and "20.9 GiB" in str(row.render())
        assert row.has_class("-ours")

        await pilot.press("g")
        await pilot.pause()
        assert pane.has_class("-hidden") and not pane.display
        await pilot.pause(0.3)
        samples_when_hidden = len(pane.sampler.history.points(H200_UUID))
        await pilot.pause(0.5)
        assert len(pane.sampler.history.points(H200_UUID)) == samples_when_hidden, "a hidden pane does not sample"
        await pilot.press("g")
        await pilot.pause()
        assert pane.display and len(app.screen.query(GpuPane)) == 1


async def test_a_child_of_the_runner_is_highlighted_and_a_stranger_is_not(monkeypatch):
    runner = subprocess.Popen(["/bin/sh", "-c", "/bin/sleep 30 & wait"])
    try:
        deadline = time.monotonic() + 5
        while not with_descendants({runner.pid}) - {runner.pid} and time.monotonic() < deadline:
            time.sleep(0.02)
        [child] = with_descendants({runner.pid}) - {runner.pid}
        use_nvml(monkeypatch, pids={452: child})
        app = FashionFailApp(config=Config(gpu_interval=0.1))
        app.runner_pids = frozenset({runner.pid})
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.press("g")
            await wait_for(pilot, seconds=5.0, condition=lambda: highlighted(app) == [True])
            app.runner_pids = frozenset({runner.pid + 100000})
            await wait_for(pilot, seconds=5.0, condition=lambda: highlighted(app) == [False])
    finally:
        runner.kill()
        runner.wait()


async def test_without_a_gpu_the_pane_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", replay_pynvml(init_error=pynvml.NVMLError_LibraryNotFound))
    app = FashionFailApp()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("g")
        await wait_for(pilot, seconds=5.0, condition=lambda: app.screen.query(GpuPane) and pane_of(app).snapshot is not None)
        state = str(pane_of(app).query_one("#gpu-state").render())
        assert state.startswith("none: no NVIDIA GPU or driver") and "not found on PATH" in state
        assert not pane_of(app).query(GpuBlock)


class SlotScreen(Screen):
    def compose(self):
        yield Vertical(id="gpu-slot")
        yield Footer()


async def test_a_screen_with_a_gpu_slot_gets_the_pane_there(monkeypatch):
    use_nvml(monkeypatch)
    app = FashionFailApp()
    async with app.run_test(size=(140, 40)) as pilot:
        await app.push_screen(SlotScreen())
        await pilot.press("g")
        await pilot.pause()
        pane = pane_of(app)
        assert pane.parent.id == "gpu-slot" and not pane.has_class("-docked")


async def test_the_command_palette_offers_the_pane(monkeypatch):
    use_nvml(monkeypatch)
    app = FashionFailApp()
    async with app.run_test(size=(140, 40)) as pilot:
        [command] = [c for c in app.get_system_commands(app.screen) if c.title == "Toggle the GPU pane"]
        command.callback()
        await pilot.pause()
        assert app.screen.query(GpuPane)


async def test_an_unexpected_sampling_failure_is_a_notification_not_a_crash(monkeypatch):
    use_nvml(monkeypatch, failing={"nvmlDeviceGetCount": RuntimeError})
    app = FashionFailApp(config=Config(gpu_interval=0.1))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("g")
        await wait_for(pilot, seconds=5.0, condition=lambda: list(app._notifications))
        await pilot.pause(0.4)
        [note] = list(app._notifications)
        assert note.severity == "error" and note.message.startswith("GPU sampling failed")
        assert app.is_running
