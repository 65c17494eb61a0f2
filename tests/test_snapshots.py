"""Every screen at 80x24 and 120x40 against committed SVG baselines (pytest-textual-snapshot, as
Textual's and posting's own tests do): a screen that draws differently fails the suite.

The baselines are in tests/__snapshots__/test_snapshots/. After a change to a screen that is meant,
look at the failing report (snapshot_report.html, written by the run), then take the new pictures
deliberately, and commit them:

    .venv/bin/python -m pytest tests/test_snapshots.py -n 0 --snapshot-update

Deterministic by construction: fixed data, the same folder names on every machine
(/tmp/fashionfail-snapshots/<test>), no run timings (the Run screen is fed recorded events), no clock
in the header, and the GPU pane fed by the recorded H200 answers (a stand-in NVML, sampled once).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import types
import sys
from pathlib import Path

import pytest

from evaluation_data import perfect, predictions, write_annotations, write_facere_file
from failure_case import write_case
from gpu_standins import replay_pynvml
from test_app_cluster import recorded_job
from tests.helpers.images import write_image
from tests.helpers.pilot import wait_for
from tui import catalog, paths
from tui.app import FashionFailApp, LaunchOptions
from tui.config import load
from tui.evaluation.evaluator import Evaluator
from tui.runs.events import Finished, LogLine, Progress, Started
from tui.screens.failure_gallery import FailureGallery
from tui.setup import wizard
from tui.widgets.fitted_table import FittedTable
from tui.widgets.run import progress as run_progress

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
BOX = (10, 10, 50, 50)
OBJECTS = {"a.jpg": [(0, BOX)], "b.jpg": [(0, BOX)], "c.jpg": [(23, BOX)], "d.jpg": [(24, (0, 0, 90, 90))]}


@pytest.fixture
def place(request, monkeypatch) -> Path:
    """A folder with the same name on every run and every machine, the current folder, holding the
    app's cache, data and config folders: paths on screen read the same in every picture."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    folder = Path("/tmp/fashionfail-snapshots") / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    monkeypatch.setenv(paths.CACHE_ENV, str(folder / "cache"))
    monkeypatch.setenv(paths.DATA_ENV, str(folder / "data"))
    monkeypatch.setenv(paths.CONFIG_ENV, str(folder / "config.toml"))
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no nvidia-smi, conda or mamba of this machine's
    for variable in ("CONDA_EXE", "MAMBA_EXE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", replay_pynvml("load", process_names={452: "python3"}))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def app_for(mode: str = "home", **launch) -> FashionFailApp:
    """The app sampling the GPU once (a sparkline of one sample draws the same every time)."""
    return FashionFailApp(LaunchOptions(mode=mode, **launch), config=dataclasses.replace(load(), gpu_interval=3600.0))


async def settled(pilot) -> None:
    """Workers done, tables fitted, the footer filled in, no toast (they go away on a timer)."""
    app = pilot.app
    await app.workers.wait_for_complete()
    await wait_for(pilot, lambda: all(table.fitted for table in app.screen.query(FittedTable)))
    await pilot.pause()
    await app.workers.wait_for_complete()
    app.clear_notifications()
    await wait_for(pilot, lambda: not app.screen.query("Toast"))
    await pilot.pause()


def prediction_files(folder: Path) -> list[Path]:
    paths.fashionfail_dir().mkdir(parents=True, exist_ok=True)
    write_annotations(paths.fashionfail_dir() / "ff_test.json", OBJECTS)
    good = write_facere_file(folder / "good.npz", perfect(OBJECTS))
    poor = write_facere_file(folder / "poor.npz", [
        predictions("a.jpg", [(0, BOX, 0.9), (23, (60, 60, 90, 90), 0.8), (24, (0, 50, 40, 99), 0.7)]),
        predictions("b.jpg", [(0, (30, 10, 70, 50), 0.9)]),
        predictions("c.jpg", [(23, BOX, 0.9)]),
    ])
    for index, name in enumerate(OBJECTS):
        write_image(folder / "images" / name, size=(100, 100), seed=index)
    return [Path("good.npz"), Path("poor.npz")]


@pytest.mark.parametrize("size", SIZES)
def test_home(size, place, snap_compare):
    async def run_before(pilot):
        table = pilot.app.screen.models_table
        await settled(pilot)
        await wait_for(pilot, lambda: table.row_count == len(catalog.MODELS) and not table._require_update_dimensions)
        await pilot.pause()

    assert snap_compare(app_for(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_models(size, place, snap_compare):
    assert snap_compare(app_for("models"), terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_run_after_a_run(size, place, snap_compare, monkeypatch):
    """The summary's Done line and the log, from recorded events (no timings of this machine: the
    progress reads a clock that says the run took 4 s)."""
    clock = iter([100.0, 104.0])
    monkeypatch.setattr(run_progress, "time", types.SimpleNamespace(monotonic=lambda: next(clock, 104.0)))
    async def run_before(pilot):
        await settled(pilot)
        screen = pilot.app.screen
        screen.form.field("images").path = Path("photos")
        screen.form.field("out").path = Path("results")
        screen.progress.begin("facere")
        output = Path("results/facere.npz")
        events = [Started({}, "facere", 10, ("CPUExecutionProvider",), 0),
                  *(LogLine({}, line, "stderr") for line in (
                      "loading facere_base.onnx on CPUExecutionProvider",
                      "masks: the graph pastes them: the graph has no Loop node",
                      "warning: skipped broken.jpg: Truncated File Read")),
                  Progress({}, 10, 10, "img09.jpg", 5, 0.25),
                  Finished({}, output, 9, 45, 1, 2.5)]
        for event in events:
            screen.show(screen.EventReceived(event))
        await settled(pilot)

    assert snap_compare(app_for("run"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_compare_form_beside_the_gpu_pane(size, place, snap_compare):
    assert snap_compare(app_for("compare"), terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_setup_wizard_models_step(size, place, snap_compare):
    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("down", "space")  # the second model ticked, the first not
        await pilot.pause()

    wizard.save_state(wizard.WizardState(step="models", backend="embedded", models=["facere", "facere+"]))
    assert snap_compare(app_for("setup"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_setup_wizard_final_check(size, place, snap_compare):
    wizard.save_state(wizard.WizardState(step="check", backend="embedded", models=catalog.names()))
    assert snap_compare(app_for("setup"), terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_browse_two_files(size, place, snap_compare):
    files = prediction_files(place)

    async def run_before(pilot):
        screen = pilot.app.screen
        await wait_for(pilot, lambda: len(screen.loaded_sets) == 2 and screen.pictures[1].drawn is not None)
        await settled(pilot)
        # the pictures drawn once more, now that the layout has settled: the half-block drawing is
        # sized to the widget when it is set
        for picture in screen.pictures:
            picture.image.image = picture.drawn
        await settled(pilot)

    app = app_for("browse", browse_files=files, images_dir=Path("images"))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_evaluate_two_files_with_the_table_per_category(size, place, snap_compare):
    files = prediction_files(place)

    async def run_before(pilot):
        screen = pilot.app.screen
        for file in files:
            screen.form.add_files(file)
        screen.form.submit()
        await wait_for(pilot, lambda: screen.comparison.row_count == 2, seconds=60)
        await settled(pilot)
        screen.comparison.move_cursor(row=1)
        await settled(pilot)

    assert snap_compare(app_for("evaluate"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_cluster(size, place, snap_compare):
    recorded_job(place)
    assert snap_compare(app_for("cluster"), terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_keys_screen_of_browse(size, place, snap_compare):
    async def run_before(pilot):
        await pilot.app.workers.wait_for_complete()
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app_for("browse"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_failure_gallery(size, place, snap_compare):
    annotations, files = write_case(Path("."))

    async def run_before(pilot):
        app = pilot.app
        evaluator = Evaluator(annotations)
        app.screen.evaluations = [e for file in files for e in evaluator.evaluate(file, ("bbox",))]
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, FailureGallery) and app.screen.chosen is not None)
        gallery = app.screen
        await wait_for(pilot, lambda: all(p.drawn is not None for p in gallery.panel_grid.pictures))
        await settled(pilot)
        for picture in gallery.panel_grid.pictures:  # drawn again at the settled size, as in test_browse
            picture.image.image = picture.drawn
        await settled(pilot)

    assert snap_compare(app_for("evaluate"), terminal_size=size, run_before=run_before)
