"""The Run screen through App.run_test(), driving real runner subprocesses."""

from __future__ import annotations

import sys
from pathlib import Path

import pynvml
import pytest

from gpu_standins import bin_dir, replay_pynvml  # noqa: F401 (bin_dir is a fixture)

from tests.helpers.gate import hold_runner
from tests.helpers.images import write_corrupt_image, write_image
from tests.helpers.onnx_models import build_maskrcnn_like
from tui.app import FashionFailApp, LaunchOptions, QuitQuestion
from tui.screens.browse import BrowseScreen
from tui.widgets.gpu import GpuPane
from tui.widgets.confirm import Confirm
from tui.widgets.run.picker import PathPicker
from tests.helpers.pilot import wait_for

ROOT = Path(__file__).resolve().parents[1]


def pid_gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def fill_form(screen, images: Path, out: Path, model_file: Path | None) -> None:
    screen.form.field("images").path = images
    screen.form.field("out").path = out
    screen.form.field("model-file").path = model_file


@pytest.fixture
def workspace(tmp_path):
    build_maskrcnn_like(tmp_path / "m.onnx", detections=4)
    for index in range(3):
        write_image(tmp_path / "images" / f"{index}.jpg", size=(64, 48), seed=index)
    write_corrupt_image(tmp_path / "images" / "broken.jpg")
    return tmp_path


async def test_screenshot_a_run_goes_live_to_its_summary(workspace, monkeypatch, screenshot_dir):
    monkeypatch.chdir(workspace)  # relative paths, as a user types them (and a tidy screenshot)
    monkeypatch.setitem(sys.modules, "pynvml", replay_pynvml("load"))  # an H200's recorded figures
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(150, 42)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query(GpuPane))  # a GPU and 150 columns: the pane opens by itself
        fill_form(screen, Path("images"), Path("out"), Path("m.onnx"))
        await pilot.press("ctrl+s")
        await wait_for(pilot, seconds=60.0, condition=lambda: "-done" in screen.summary.classes or "-failed" in screen.summary.classes)
        summary = str(screen.summary.render())
        output = workspace / "out" / "facere.npz"
        assert summary == (f"Done: 3 images (1 skipped), 12 detections in {summary.split(' in ')[1].split(' s')[0]} s "
                           f"-> {output} (ctrl+b browses it)")
        assert not app._notifications  # no toast over the summary: it says it all
        assert output.exists()
        assert screen.progress.bar.progress == screen.progress.bar.total == 4
        assert str(screen.progress.status.render()).startswith("4/4 · ")
        log_text = "\n".join(line.text for line in screen.log_view.lines)
        assert "warning: skipped broken.jpg" in log_text and "wrote" in log_text
        assert not screen.query_one("#run-start").disabled and screen.query_one("#run-cancel").disabled
        assert screen.query_one("#gpu-slot").query(GpuPane)  # the GPU pane sits beside the run
        assert app.runner_pids == frozenset()  # set while the runner ran, cleared at its end
        app.save_screenshot(filename="run.svg", path=str(screenshot_dir))

        await pilot.press("ctrl+b")  # straight from the run into the browser
        await wait_for(pilot, seconds=60.0, condition=lambda: isinstance(app.screen, BrowseScreen) and app.screen.loaded_sets)
        assert app.screen.files == [output] and app.screen.loaded_sets[0].family == "facere"


@pytest.mark.parametrize(("folder", "said"), [("nowhere", "image folder {} does not exist"),
                                             ("empty", "no images (.jpg, .jpeg, .png, .webp, .bmp) in {}")])
async def test_bad_input_is_a_notification_not_a_traceback(workspace, folder, said):
    (workspace / "empty").mkdir()
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(150, 42)) as pilot:
        screen = app.screen
        fill_form(screen, workspace / folder, workspace / "out", workspace / "m.onnx")
        await pilot.click("#run-start")
        await wait_for(pilot, seconds=60.0, condition=lambda: "-failed" in screen.summary.classes)
        assert said.format(workspace / folder) in str(screen.summary.render())
        assert any(n.severity == "error" for n in app._notifications)
        assert str(screen.progress.status.render()) == "Not started."  # not a "Starting facere..." that never ends
        assert screen.progress.bar.total is not None, "no busy bar for a run that is not going"
        fill_form(screen, workspace / "images", workspace / "out", workspace / "images" / "0.jpg")
        await pilot.press("ctrl+s")
        await wait_for(pilot, seconds=60.0, condition=lambda: "not a valid ONNX model" in str(screen.summary.render()))


SLOW_RUN_IMAGES = 8


@pytest.fixture
def slow_run(workspace, monkeypatch):
    """A run that is still going when the test acts on it: facere's runner holds after each image from
    the first on until the test opens the gate (tests/helpers/gate.py); returns (workspace, gate)."""
    build_maskrcnn_like(workspace / "slow.onnx", detections=3)
    for index in range(SLOW_RUN_IMAGES):
        write_image(workspace / "many" / f"{index:03}.jpg", size=(64, 48), seed=index)
    return workspace, hold_runner(monkeypatch, workspace, "facere", after=1)


async def start_slow_run(pilot, workspace: Path):
    """Fill in the slow run and press ctrl+s wherever the cursor is; back once an image is done."""
    screen = pilot.app.screen
    fill_form(screen, workspace / "many", workspace / "out", workspace / "slow.onnx")
    await pilot.press("ctrl+s")
    await wait_for(pilot, seconds=60.0, condition=lambda: screen.progress.bar.progress >= 1)
    return screen


async def test_cancel_then_quit_leaves_no_runner_behind(slow_run):
    workspace, gate = slow_run
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(150, 42)) as pilot:
        screen = await start_slow_run(pilot, workspace)
        await pilot.press("ctrl+x")
        gate.open()
        await wait_for(pilot, seconds=60.0, condition=lambda: "-cancelled" in screen.summary.classes)
        summary = str(screen.summary.render())
        assert summary.startswith("Cancelled after ") and f" of {SLOW_RUN_IMAGES} images: the finished images are kept" in summary
        assert "command" not in summary  # the app's words, not the runner's command-line ones
        assert not [n for n in app._notifications if n.severity == "error"]
        assert not [line.text for line in screen.log_view.lines if "error" in line.text.lower()], \
            "a cancel the user asked for is not logged as an error"
        assert any(line.text.startswith("cancelled (SIGINT) after ") for line in screen.log_view.lines)
        assert Path(str(workspace / "out" / "facere.npz") + ".journal").exists()

        # start again (it resumes), then quit the app mid-run
        gate.close()
        await pilot.press("ctrl+s")
        await wait_for(pilot, seconds=60.0, condition=lambda: screen.job is not None and screen.progress.bar.progress >= 2)
        # the status line says "resuming" only until the next image is done; the log keeps it (the line comes
        # on the runner's stderr, which may be read after its stdout's first events)
        await wait_for(pilot, seconds=30.0, condition=lambda: any("resuming:" in line.text for line in screen.log_view.lines))
        pid = screen.job.pid
        assert not pid_gone(pid)
        assert app.runner_pids == {pid}  # what the GPU pane highlights
        await pilot.press("q")  # asks first: n keeps the run going
        await pilot.pause()
        assert isinstance(app.screen, QuitQuestion)
        assert str(app.screen.query_one("#confirm-question").render()) == \
            "A run is going: quit and stop it? The finished images are kept."
        await pilot.press("q")  # a second q does not stack a second question
        assert len([s for s in app.screen_stack if isinstance(s, QuitQuestion)]) == 1
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and app.is_running and not pid_gone(pid)
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
    assert pid_gone(pid)
    assert not app.is_running


async def test_q_without_a_run_quits_at_once():
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, QuitQuestion)
    assert not app.is_running


async def test_the_run_keys_work_with_the_cursor_in_a_path_field(slow_run):
    """ctrl+x is an Input's "cut": the Run screen's keys take precedence, so it cancels the run."""
    workspace, gate = slow_run
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(100, 30)) as pilot:
        field = app.screen.form.field("images").input
        field.focus()
        screen = await start_slow_run(pilot, workspace)
        field.select_all()  # what a cut would remove
        await pilot.press("ctrl+x")
        gate.open()
        await wait_for(pilot, seconds=60.0, condition=lambda: "-cancelled" in screen.summary.classes)
        assert app.focused is field and field.value == str(workspace / "many")


async def test_picker_and_command_palette_choose_folders(workspace):
    app = FashionFailApp(LaunchOptions(mode="run", images_dir=workspace / "images"))
    async with app.run_test(size=(150, 42)) as pilot:
        screen = app.screen
        assert screen.form.field("images").path == workspace / "images"
        await pilot.press("ctrl+p")
        await pilot.press(*"Output folder")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, seconds=60.0, condition=lambda: isinstance(app.screen, PathPicker))
        picker = app.screen
        picker.path_input.value = str(workspace / "out")
        await pilot.click("#picker-choose")
        await wait_for(pilot, seconds=60.0, condition=lambda: app.screen is screen)
        assert screen.form.field("out").path == workspace / "out"

        await pilot.press("ctrl+o")  # the images folder's picker, opened at the current value
        await wait_for(pilot, seconds=60.0, condition=lambda: isinstance(app.screen, PathPicker))
        assert Path(app.screen.tree.path) == workspace / "images"
        await pilot.press("ctrl+u")
        await pilot.pause()
        assert app.screen.path_input.value == str(workspace)
        await pilot.press("escape")
        await wait_for(pilot, seconds=60.0, condition=lambda: app.screen is screen)
        assert screen.form.field("images").path == workspace / "images"


async def test_a_model_that_is_not_set_up_says_what_is_missing_and_where_to_set_it_up(workspace):
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(150, 42)) as pilot:
        screen = app.screen
        screen.form.model_select.value = "fformer-swin"
        fill_form(screen, workspace / "images", workspace / "out", None)
        await pilot.press("ctrl+s")
        await wait_for(pilot, seconds=60.0, condition=lambda: "-failed" in screen.summary.classes)
        summary = str(screen.summary.render())
        assert summary.startswith("Failed: fformer-swin's checkpoint ")
        assert summary.endswith("is missing: press m to get it (Models)")
        assert "fashionfail-tui" not in summary and "--" not in summary  # the app's words, not the CLI's

        fill_form(screen, workspace / "nowhere", workspace / "out", None)  # what neither Setup nor Models fixes
        await pilot.press("ctrl+s")
        await wait_for(pilot, seconds=60.0, condition=lambda: "nowhere" in str(screen.summary.render()))
        assert str(screen.summary.render()) == f"Failed: image folder {workspace / 'nowhere'} does not exist"


async def test_on_an_80_column_terminal_the_gpu_pane_waits_for_g_and_the_paths_stay_typeable(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", replay_pynvml("load"))
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert not screen.query(GpuPane), "a GPU, but too narrow a terminal to open the pane by itself"
        images = screen.form.field("images").input
        without_pane = images.size.width
        await pilot.press("g")
        await pilot.pause()
        assert screen.query_one(GpuPane).display
        assert images.size.width >= 20, "a path must be readable beside the GPU pane"
        assert screen.query_one("#run-main").region.right <= screen.query_one("#gpu-slot").region.x
        await pilot.press("g")
        await pilot.pause()
        assert not screen.query_one(GpuPane).display
        assert images.size.width == without_pane, "a hidden pane leaves no empty column behind"


@pytest.mark.usefixtures("bin_dir")  # no nvidia-smi on PATH
async def test_without_a_gpu_the_run_screen_opens_without_the_pane(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", replay_pynvml(init_error=pynvml.NVMLError_LibraryNotFound))
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(150, 42)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.screen.query(GpuPane) and not app.screen.query_one("#gpu-slot").display
        assert app.screen.form.query_one("#run-cancel").size.width >= 10


def not_asked(app, condition):
    """`condition`, failing the test at once if the app asks a question meanwhile."""
    def check():
        assert not isinstance(app.screen, Confirm), str(app.screen.query_one("#confirm-question").render())
        return condition()
    return check


async def test_a_run_into_another_runs_output_asks_before_replacing_it(workspace, screenshot_dir):
    """The 8-image result once replaced by a 1-image one, silently: now the app asks (replace / cancel)."""
    write_image(workspace / "one" / "z.jpg", size=(64, 48), seed=7)
    output = workspace / "out" / "facere.npz"
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen

        finished = screen.finished
        ends = []

        def counted(event):
            ends.append(event)
            finished(event)

        screen.finished = counted

        def runs_done():
            return len(ends)

        async def run_to_end(images):
            done_before = runs_done()
            fill_form(screen, images, workspace / "out", workspace / "m.onnx")
            await pilot.press("ctrl+s")
            await wait_for(pilot, seconds=60.0, condition=not_asked(app, lambda: runs_done() > done_before))

        await run_to_end(workspace / "images")
        await run_to_end(workspace / "images")  # the same run again: no question
        kept = output.read_bytes()

        fill_form(screen, workspace / "one", workspace / "out", workspace / "m.onnx")
        await pilot.press("ctrl+s")
        await wait_for(pilot, seconds=60.0, condition=lambda: isinstance(app.screen, Confirm))
        dialog = app.screen
        question = str(dialog.query_one("#confirm-question").render())
        assert question.startswith(f"{output} holds another run's predictions for 3 images: over other images "
                                   f"({workspace / 'images'}).")
        assert "Replace it with this run's predictions?" in question and "--" not in question
        box = dialog.query_one("#confirm-box").region
        assert dialog.region.contains_region(box)  # the whole question and both buttons fit at 80x24
        assert all(box.contains_region(dialog.query_one(f"#confirm-{b}").region) for b in ("yes", "no"))
        app.save_screenshot(filename="run-replace-80x24.svg", path=str(screenshot_dir))
        await pilot.press("n")
        await wait_for(pilot, seconds=10.0, condition=lambda: "Not started" in str(screen.summary.render()))
        assert output.read_bytes() == kept and screen.job is None
        assert not screen.query_one("#run-start").disabled and str(screen.progress.status.render()) == "Not started."

        await pilot.press("ctrl+s")
        await wait_for(pilot, seconds=60.0, condition=lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await wait_for(pilot, seconds=60.0, condition=lambda: "-done" in screen.summary.classes)
        assert str(screen.summary.render()).startswith("Done: 1 image, ")


async def test_a_folder_with_no_readable_image_fails_saying_so(workspace):
    """The command line's exit 2, in the app's words: not "Done: 0 images (1 skipped)"."""
    (workspace / "unreadable").mkdir()
    (workspace / "images" / "broken.jpg").rename(workspace / "unreadable" / "broken.jpg")
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(150, 42)) as pilot:
        screen = app.screen
        fill_form(screen, workspace / "unreadable", workspace / "out", workspace / "m.onnx")
        await pilot.press("ctrl+s")
        await wait_for(pilot, seconds=60.0, condition=lambda: "-failed" in screen.summary.classes)
        summary = str(screen.summary.render())
        assert summary.startswith("Failed: no image could be read: broken.jpg (") and "replace or remove it" in summary
        assert not (workspace / "out" / "facere.npz").exists()
