"""The Compare screen and the failure gallery through App.run_test(), with real runner subprocesses
of two ONNX models (facere and facere+ named in the config)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failure_case import MODELS, write_case
from tests.helpers.comparison import annotated_workspace
from tests.helpers.gate import hold_runner
from tests.helpers.pilot import wait_for
from tests.test_app_small_terminal import check
from tui.app import FashionFailApp, LaunchOptions
from tui.evaluation.evaluator import Evaluator
from tui.predictions import load_predictions
from tui.screens.compare import CompareScreen
from tui.screens.evaluate import EvaluateScreen
from tui.screens.failure_gallery import FailureGallery
from tui.widgets.compare.paper_table import BEST_STYLE
from tui.widgets.confirm import Confirm
from tui.widgets.figures import Figures
from tui.widgets.gpu import GpuPane


@pytest.fixture
def workspace(tmp_path, capsys):
    """The workspace, and annotations made from facere's own run (so the table has two different rows)."""
    annotated_workspace(tmp_path)
    capsys.readouterr()
    return tmp_path


def fill_form(screen: CompareScreen, workspace: Path, annotations: Path | None) -> None:
    screen.form.field("images").path = workspace / "images"
    screen.form.field("out").path = workspace / "out"
    screen.form.field("anns").path = annotations


def model_options(screen: CompareScreen) -> dict[str, tuple[bool, bool, str]]:
    """Model -> (chosen, disabled, prompt)."""
    choices = screen.form.models
    options = [choices.get_option_at_index(i) for i in range(choices.option_count)]
    return {o.value: (o.value in choices.selected, o.disabled, str(o.prompt)) for o in options}


async def test_screenshot_compare_runs_the_queue_then_shows_the_papers_table(workspace, screenshot_dir):
    app = FashionFailApp(LaunchOptions(mode="compare"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, CompareScreen) and screen.query_one("#gpu-slot").query(GpuPane)
        await wait_for(pilot, lambda: screen.form.models.option_count == 6)
        options = model_options(screen)
        assert options["facere"][:2] == options["facere+"][:2] == (True, False)
        chosen, disabled, prompt = options["amrcnn-spine"]
        assert not chosen and disabled
        assert prompt == "amrcnn-spine  needs environment 'amrcnn', checkpoint, source tree 'tpu'"
        assert screen.form.models.border_subtitle == "h: the command that fixes each · s: setup"

        fill_form(screen, workspace, workspace / "anns.json")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.rows is not None)
        assert screen.queue_table.row_count == 2
        await wait_for(pilot, seconds=90.0, condition=lambda: not screen.running)
        assert [screen.queue_table.state_of(m) for m in ("facere", "facere+")] == ["done", "done"]
        assert screen.queue_table.get_cell("facere", "progress") == "4/4 100%"
        assert str(screen.queue_table.get_cell("facere+", "note")) == str(workspace / "out" / "facere+.npz")

        table = screen.paper_table
        assert table.display and [key.value for key in table.rows] == ["facere", "facere+"]
        written = json.loads((workspace / "out" / "comparison.json").read_text())
        facere_box = written["models"][0]["results"][0]["mAP_w50"]
        first_cell = table.get_row("facere")[2]  # mAP_w@.50, box | mask
        assert str(first_cell).startswith(f"{facere_box * 100:.1f} | ")
        assert any(span.style == BEST_STYLE for span in first_cell.spans)  # facere drew the answers: best
        assert (workspace / "out" / "report.html").is_file()
        assert "Wrote " in str(screen.status.render())
        figures = screen.query_one(Figures)  # the report's curves, drawn in the terminal too
        assert not figures.has_class("hidden")
        assert [s.name for s in figures.query_one("#figure-pr50").series] == ["facere (box)", "facere+ (box)"]
        assert f"mAP_w@.50 {facere_box * 100:.1f}" in str(figures.query_one("#figure-legend").render())
        assert app.runner_pids == frozenset()
        app.save_screenshot(filename="compare.svg", path=str(screenshot_dir))
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await check(pilot, (80, 24))  # quit and the area keys in sight, no number cut
        app.save_screenshot(filename="compare-80x24.svg", path=str(screenshot_dir))
        await pilot.resize_terminal(120, 40)

        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, FailureGallery) and app.screen.cases is not None)
        gallery = app.screen
        pictures = gallery.panel_grid.pictures
        await wait_for(pilot, lambda: len(gallery.panel_grid.pictures) == 3 and gallery.chosen is not None)
        gallery.case_list.kind_select.value = "false_positives"
        await wait_for(pilot, lambda: gallery.chosen is not None and "false positive" in gallery.chosen.summary)
        pictures = gallery.panel_grid.pictures
        await wait_for(pilot, lambda: all(p.drawn is not None for p in pictures))
        assert str(pictures[0].caption.render()).startswith("ground truth: ")
        assert [str(p.caption.render()).split(":")[0] for p in pictures[1:]] == ["facere", "facere+"]
        assert pictures[0].drawn.size == pictures[1].drawn.size == (64, 48)  # the image itself, found in --images
        app.save_screenshot(filename="failure-gallery.svg", path=str(screenshot_dir))
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        app.save_screenshot(filename="failure-gallery-80x24.svg", path=str(screenshot_dir))
        await pilot.press("escape")
        assert app.screen is screen


async def test_screenshot_cancelling_keeps_the_finished_model_and_the_started_images(workspace, screenshot_dir,
                                                                                  monkeypatch):
    gate = hold_runner(monkeypatch, workspace, "facere+", after=1)  # the click lands mid-run, however fast the machine
    app = FashionFailApp(LaunchOptions(mode="compare"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.form.models.option_count == 6)
        fill_form(screen, workspace, None)
        await pilot.click("#compare-start")
        await wait_for(pilot, seconds=60.0, condition=lambda: screen.rows is not None
                       and screen.rows.rows["facere+"].state == "running" and screen.rows.rows["facere+"].done >= 1)
        assert screen.queue_table.state_of("facere") == "done"
        assert str(screen.queue_table.get_cell("facere+", "rate")).endswith(" img/s")
        assert str(screen.queue_table.get_cell("facere+", "eta")) != "-"
        pid = screen.queue.running_pid
        assert app.runner_pids == frozenset({pid})
        app.save_screenshot(filename="compare-running.svg", path=str(screenshot_dir))
        await pilot.click("#compare-cancel")  # SIGINT to the runner, held after its first image
        gate.open()
        await wait_for(pilot, seconds=60.0, condition=lambda: not screen.running)
        assert screen.queue_table.state_of("facere+") == "cancelled", (sorted(p.name for p in (workspace / "out").iterdir()), screen.rows.rows["facere+"])
        assert "Cancelled" in str(screen.status.render())
        assert not screen.paper_table.display
        assert (workspace / "out" / "facere.npz").is_file()
        assert (workspace / "out" / "facere+.npz.journal").is_file(), (sorted(p.name for p in (workspace / "out").iterdir()), screen.rows.rows["facere+"])
        assert not (workspace / "out" / "facere+.npz").exists()
        assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


async def start_facere_alone(pilot, workspace: Path) -> CompareScreen:
    """Facere alone over the workspace's images, no annotation file: ctrl+s once the models are listed."""
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.form.models.option_count == 6)
    fill_form(screen, workspace, None)
    screen.form.models.deselect("facere+")
    await pilot.press("ctrl+s")
    return screen


async def test_without_an_annotation_file_the_models_run_and_it_says_how_to_evaluate(workspace):
    app = FashionFailApp(LaunchOptions(mode="compare"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await start_facere_alone(pilot, workspace)
        await wait_for(pilot, seconds=60.0, condition=lambda: screen.rows is not None and not screen.running)
        assert list(screen.rows.rows) == ["facere"]
        assert "No annotation file" in str(screen.status.render()) and "dataset fetch" in str(screen.status.render())
        assert not (workspace / "out" / "comparison.json").exists()


async def test_an_output_of_another_run_is_replaced_only_after_asking(workspace):
    (workspace / "out").mkdir()
    (workspace / "out" / "facere.npz").write_bytes(b"someone else's file")
    app = FashionFailApp(LaunchOptions(mode="compare"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start_facere_alone(pilot, workspace)
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        assert "facere.npz exists and is not a prediction file" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("n")
        await wait_for(pilot, lambda: not screen.running)
        assert "not started" in str(screen.status.render())
        assert (workspace / "out" / "facere.npz").read_bytes() == b"someone else's file"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await wait_for(pilot, seconds=60.0, condition=lambda: screen.rows is not None and not screen.running)
        assert len(load_predictions(workspace / "out" / "facere.npz").images) == 4


async def start_with(pilot, workspace: Path, annotations: Path) -> CompareScreen:
    """The Compare screen's form filled (all ready models) and Start pressed."""
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.form.models.option_count == 6)
    fill_form(screen, workspace, annotations)
    await pilot.press("ctrl+s")
    return screen


async def test_bad_input_is_a_notification_and_nothing_runs(workspace):
    app = FashionFailApp(LaunchOptions(mode="compare"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await start_with(pilot, workspace, workspace / "missing.json")
        await wait_for(pilot, lambda: "Stopped" in str(screen.status.render()))
        assert "annotation file" in str(screen.status.render()) and "does not exist" in str(screen.status.render())
        assert any(n.severity == "error" for n in app._notifications)
        assert not screen.running and not screen.form.query_one("#compare-start").disabled
        assert not (workspace / "out").exists() or not list((workspace / "out").glob("*.npz"))


async def test_the_gallery_from_evaluate_shows_every_model_beside_the_ground_truth(tmp_path):
    """Three models (the hand-made failure case), images absent: panels drawn on grey at the annotation's size."""
    annotations, files = write_case(tmp_path)
    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, EvaluateScreen)
        evaluator = Evaluator(annotations)
        screen.evaluations = [e for file in files for e in evaluator.evaluate(file, ("bbox",))]
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, FailureGallery) and app.screen.chosen is not None)
        gallery = app.screen
        assert gallery.case_list.table.row_count == 1  # C1, missed by every model
        gallery.case_list.kind_select.value = "disagreements"
        await wait_for(pilot, lambda: gallery.case_list.table.row_count == 4)
        gallery.case_list.table.move_cursor(row=2)  # a.jpg's shirt and pants, then b.jpg's shirt
        await wait_for(pilot, lambda: gallery.chosen.image == "b.jpg")
        pictures = gallery.panel_grid.pictures
        assert len(pictures) == len(MODELS) + 1
        await wait_for(pilot, lambda: all(p.drawn is not None for p in pictures))
        assert [str(p.caption.render()) for p in pictures] == [
            "ground truth: 1 object(s)", "facere: missed it", "fformer-swin: found it", "amrcnn-spine: found it"]
        assert "b.jpg not found" in str(pictures[1].placeholder.render())
        assert pictures[1].drawn.size == (100, 100)


async def test_a_model_whose_output_cannot_be_evaluated_is_notified_and_the_other_compared(workspace):
    """Facere's file named as facere+ too: facere+'s classes do not fit it; facere still gets its table."""
    from tests.helpers.comparison import use_models

    use_models(workspace / "facere.onnx", workspace / "facere.onnx")
    app = FashionFailApp(LaunchOptions(mode="compare"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await start_with(pilot, workspace, workspace / "anns.json")
        await wait_for(pilot, seconds=90.0, condition=lambda: not screen.running and screen.written is not None)
        assert [key.value for key in screen.paper_table.rows] == ["facere"]
        assert [f["model"] for f in screen.written.failed] == ["facere+"]
        assert "1 model failed (see comparison.json" in str(screen.status.render())
        messages = [n.message for n in app._notifications]
        assert any("does not fit facere+" in m and "--family facere+=FAMILY" in m for m in messages)
        written = json.loads((workspace / "out" / "comparison.json").read_text())
        assert [f["model"] for f in written["failed"]] == ["facere+"]


async def test_tab_goes_from_path_field_to_path_field_so_two_paths_never_share_one(workspace):
    """Typed with Tab between the fields, the second path once landed on a Browse button, whose letters
    switched areas, and ended up in the first field."""
    app = FashionFailApp(LaunchOptions(mode="compare"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        screen.form.field("images").input.value = ""
        screen.form.field("images").input.focus()
        await pilot.press(*"img", "tab", *"outs")
        await pilot.pause()
        assert app.current_mode == "compare"
        assert screen.form.field("images").input.value == "img" and screen.form.field("out").input.value == "outs"
        await pilot.press("ctrl+o")  # the field's own picker, for the output
        await pilot.pause()
        assert app.screen.title_text == "Choose: Output"
