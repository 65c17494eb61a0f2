"""Small conveniences, through the Pilot: Enter on a home row opens Run with that model, the Run screen's
model list says what each model still needs, the last run's folders and the theme outlive the app,
Browse points out category names that match nothing and its captions count what its table lists,
Evaluate keeps no result from before a failure and picks its paths from a folder tree."""

from __future__ import annotations

import json
from pathlib import Path

import prediction_files as pf
import pytest
from textual.widgets import Button
from evaluation_data import perfect, write_annotations, write_facere_file

from tests.helpers.images import write_image
from tests.helpers.onnx_models import build_maskrcnn_like
from tests.helpers.pilot import wait_for
from tui import paths
from tui.app import FashionFailApp, LaunchOptions
from tui.predictions.view import unknown_categories
from tui.screens.browse import BrowseScreen
from tui.screens.run import RunScreen
from tui.widgets.browser.filter_bar import UNKNOWN_CATEGORY_PAUSE
from tui.widgets.run.picker import PathPicker


def prompts(select) -> dict[str, str]:
    """Each option's value and the text the list shows for it."""
    return {value: str(prompt) for prompt, value in select._options}


async def test_enter_on_a_home_row_opens_run_with_that_model_chosen():
    app = FashionFailApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.models_table
        await wait_for(pilot, lambda: table.row_count == 6)
        table.focus()
        await pilot.press("down", "down", "enter")  # the third model, fformer-swin
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.is_mounted)
        assert app.screen.form.model_select.value == "fformer-swin"

        await pilot.press("h")  # and again, now that the Run screen exists
        await pilot.pause()
        table.focus()
        await pilot.press("up", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        assert app.screen.form.model_select.value == "amrcnn-r50-fpn"


async def test_the_run_screens_model_list_says_which_are_ready_and_what_the_others_miss():
    paths.checkpoints_dir().mkdir(parents=True)
    (paths.checkpoints_dir() / "facere_base.onnx").write_bytes(b"stands in for the checkpoint")
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(120, 40)) as pilot:
        select = app.screen.form.model_select
        await wait_for(pilot, lambda: "ready" in prompts(select)["facere"])
        shown = prompts(select)
        assert shown["facere"] == "facere  ready"
        assert shown["facere+"] == "facere+  missing checkpoint"
        assert shown["amrcnn-spine"] == "amrcnn-spine  missing checkpoint, environment, source tree"
        assert select.value == "facere"  # refreshing the prompts keeps the choice

        select.value = "facere+"
        (paths.checkpoints_dir() / "facere_plus.onnx").write_bytes(b"fetched meanwhile")
        await pilot.press("h", "r")  # back on the Run screen: checked again
        await wait_for(pilot, lambda: prompts(select)["facere+"] == "facere+  ready")
        assert select.value == "facere+"


@pytest.fixture
def workspace(tmp_path):
    build_maskrcnn_like(tmp_path / "m.onnx", detections=2)
    write_image(tmp_path / "images" / "0.jpg", size=(64, 48), seed=0)
    return tmp_path


async def test_the_last_runs_folders_and_the_theme_are_there_at_the_next_start(workspace):
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.screen.form
        assert form.field("images").path is None  # nothing remembered yet
        form.field("images").path = workspace / "images"
        form.field("out").path = workspace / "out"
        form.field("model-file").path = workspace / "m.onnx"
        await pilot.press("ctrl+s")
        await wait_for(pilot, seconds=60.0, condition=lambda: "-done" in app.screen.summary.classes)
        app.theme = "nord"
        await app.workers.wait_for_complete()
    saved = json.loads(paths.state_file().read_text(encoding="utf-8"))
    assert saved == {"images_dir": str(workspace / "images"), "out_dir": str(workspace / "out"),
                     "model_file": str(workspace / "m.onnx"), "theme": "nord", "browse_threshold": None}

    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        form = app.screen.form
        assert form.field("images").path == workspace / "images"
        assert form.field("out").path == workspace / "out"
        assert form.field("model-file").path == workspace / "m.onnx"
        assert app.theme == "nord"

    # `--images` on the command line wins over the remembered folder
    app = FashionFailApp(LaunchOptions(mode="run", images_dir=workspace / "other"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.screen.form.field("images").path == workspace / "other"


async def test_a_run_that_fails_its_checks_is_not_remembered(workspace):
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(120, 40)) as pilot:
        app.screen.form.field("images").path = workspace / "nowhere"
        app.screen.form.field("out").path = workspace / "out"
        await pilot.press("ctrl+s")
        await wait_for(pilot, seconds=60.0, condition=lambda: "-failed" in app.screen.summary.classes)
        await app.workers.wait_for_complete()
    assert not paths.state_file().exists()


HOSTILE_STATES = {
    "garbage": b"\x00\xff not json at all",
    "wrong types": json.dumps({"images_dir": ["a"], "out_dir": {"b": 1}, "model_file": 7, "theme": 3}).encode(),
    "escapes and unknown theme": json.dumps({"images_dir": "/tmp/\x1b[2J", "theme": "no-such-theme"}).encode(),
    "deeply nested": b"{\"theme\": " + b"[" * 30_000 + b"]" * 30_000 + b"}",
}


@pytest.mark.parametrize("content", HOSTILE_STATES.values(), ids=HOSTILE_STATES.keys())
async def test_a_hostile_state_file_is_ignored_and_replaced_by_the_next_save(content, workspace):
    paths.state_file().parent.mkdir(parents=True)
    paths.state_file().write_bytes(content)
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        form = app.screen.form
        assert (form.field("images").path, form.field("out").path, form.field("model-file").path) == (None,) * 3
        assert app.theme == "textual-dark"
        app.theme = "gruvbox"  # the next save writes a whole, good file
        await app.workers.wait_for_complete()
    assert json.loads(paths.state_file().read_text(encoding="utf-8"))["theme"] == "gruvbox"


async def test_a_state_file_that_cannot_be_written_is_a_warning_not_a_crash():
    paths.state_file().mkdir(parents=True)  # a folder where the file should be
    app = FashionFailApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.theme = "nord"
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.theme == "nord"
        assert any(n.severity == "warning" and "Cannot save the last folders and theme" in n.message
                   for n in app._notifications)


# ----- Browse: the category filter and what the picture's caption counts -----

@pytest.mark.parametrize("typed, unknown", [
    ("sleeve, pants, 23", []),
    ("slevee", [("slevee", ["sleeve"])]),
    ("pnts, 46, 0", [("pnts", ["pants"]), ("46", [])]),
    ("xyzzy", [("xyzzy", [])]),
    ("", []),
])
def test_unknown_category_terms_come_with_the_closest_names(typed, unknown):
    assert unknown_categories(typed) == unknown


def browse_loaded(app) -> bool:
    screen = app.screen
    return isinstance(screen, BrowseScreen) and bool(screen.loaded_sets) and bool(screen.image_list.shown_names)


def caption_and_rows(app) -> tuple[str, int] | None:
    """The caption after the image's name (`shirt.jpg · A: ...`), and the table's row count; None
    while the picture still shows the image selected before (it loads in a worker)."""
    caption = str(app.screen.pictures[0].caption.content)
    if caption and not caption.startswith(f"{app.screen.selected_name} · "):
        return None
    return caption.split(" · ", 1)[-1], app.screen.detections_table.row_count


async def open_shirt(tmp_path, pilot, app) -> None:
    await wait_for(pilot, lambda: browse_loaded(app))
    table = app.screen.image_list.table
    table.move_cursor(row=table.get_row_index("shirt.jpg"))
    await wait_for(pilot, lambda: caption_and_rows(app) == ("A: facere.npz (facere), 1 of 2 shown", 1))


async def test_a_category_name_that_matches_nothing_is_pointed_out_once_with_the_closest(tmp_path):
    path = pf.write_npz(tmp_path / "facere.npz", pf.facere_records())
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[path]))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_shirt(tmp_path, pilot, app)
        app.screen.filter_bar.categories_input.focus()
        await pilot.press(*"slevee")  # typed key by key: one warning once the typing stops, not six
        await wait_for(pilot, lambda: caption_and_rows(app) == ("A: facere.npz (facere), 0 of 2 shown", 0))
        warnings = lambda: [n.message for n in app._notifications if n.title == "Categories"]  # noqa: E731
        await wait_for(pilot, lambda: warnings())
        await pilot.pause(UNKNOWN_CATEGORY_PAUSE + 0.3)
        await pilot.press("enter")  # Enter checks at once, and says nothing new
        await pilot.pause()
        assert warnings() == ["no category is called 'slevee'; closest: sleeve"]

        app.screen.filter_bar.categories_input.value = "sleeve, 77"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(warnings()) == 2)
        assert warnings()[1] == "no category has id 77 (ids go from 0 to 45)"
        assert caption_and_rows(app) == ("A: facere.npz (facere), 1 of 2 shown", 1)  # sleeve still shown


async def test_the_caption_counts_what_the_table_lists_even_when_a_drawing_finishes_late(tmp_path, monkeypatch):
    """A drawing held back until the filter has changed again must not put its count over the newer table."""
    import threading

    from tui.screens import browse as browse_screen

    hold, release = threading.Event(), threading.Event()
    real_render = browse_screen.render

    def held_back(image, source, keep=None, max_size=None):
        if hold.is_set():
            hold.clear()
            release.wait(10)
        return real_render(image, source, keep=keep, max_size=max_size)

    monkeypatch.setattr(browse_screen, "render", held_back)
    path = pf.write_npz(tmp_path / "facere.npz", pf.facere_records())
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[path]))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_shirt(tmp_path, pilot, app)
        hold.set()
        app.screen.filter_bar.threshold_input.value = "0.2"  # both shown: drawn slowly
        await wait_for(pilot, lambda: not hold.is_set())
        app.screen.filter_bar.categories_input.value = "pants"  # then one: drawn at once
        await wait_for(pilot, lambda: caption_and_rows(app) == ("A: facere.npz (facere), 1 of 2 shown", 1))
        release.set()
        # the slow drawing is exclusive in its group: it ends cancelled or done, and either way counts for nothing
        await wait_for(pilot, lambda: all(worker.is_finished for worker in app.workers))
        await pilot.pause()
        assert caption_and_rows(app) == ("A: facere.npz (facere), 1 of 2 shown", 1)


async def test_a_name_filter_that_matches_no_image_leaves_nothing_of_the_image_before(tmp_path):
    path = pf.write_npz(tmp_path / "facere.npz", pf.facere_records())
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[path]))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_shirt(tmp_path, pilot, app)
        app.screen.image_list.name_filter.value = "[/x]"  # matches nothing, and is not markup either
        await wait_for(pilot, lambda: caption_and_rows(app) == ("", 0))
        picture = app.screen.pictures[0]
        assert str(picture.placeholder.content) == "No image name contains '[/x]'." and picture.drawn is None
        app.screen.image_list.name_filter.value = "shirt"
        await wait_for(pilot, lambda: caption_and_rows(app) == ("A: facere.npz (facere), 1 of 2 shown", 1))


# ----- Evaluate: no results from before a failure, and fields picked from a folder tree -----

EVAL_BOX = (10, 10, 50, 50)
EVAL_OBJECTS = {"a.jpg": [(0, EVAL_BOX)], "b.jpg": [(23, EVAL_BOX)]}  # class 24: read as facere, not facere+


@pytest.fixture
def evaluation_files(tmp_path):
    (tmp_path / "anns").mkdir()
    annotations = write_annotations(tmp_path / "anns" / "ff_test.json", EVAL_OBJECTS)
    folder = tmp_path / "predictions"
    folder.mkdir()
    first = write_facere_file(folder / "first.npz", perfect(EVAL_OBJECTS))
    second = write_facere_file(folder / "second.npz", perfect(EVAL_OBJECTS))
    return annotations, first, second


async def pick(pilot, field_id: str, path: Path) -> None:
    """Open the field's folder tree with its Browse button and choose `path` there."""
    screen = pilot.app.screen
    await pilot.click(f"#{field_id} .browse")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PathPicker))
    pilot.app.screen.path_input.value = str(path)
    await pilot.click("#picker-choose")
    await wait_for(pilot, lambda: pilot.app.screen is screen)


async def evaluate(pilot) -> None:
    """Click Evaluate and wait until that evaluation has ended (the screen's `_finish` ran for it).
    Waiting on the workers alone races: the click reaches the worker through two messages."""
    screen = pilot.app.screen
    ended = []
    finish = screen._finish
    screen._finish = lambda: (ended.append(True), finish())
    try:
        screen.query_one("#evaluate-button", Button).press()  # a toast from the last evaluation can lie over it
        await wait_for(pilot, lambda: ended, seconds=60.0)
    finally:
        screen._finish = finish
    await pilot.pause()


async def test_evaluate_fields_are_picked_from_a_folder_tree_and_a_failure_leaves_no_old_results(evaluation_files):
    annotations, first, second = evaluation_files
    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.screen.form
        assert form.annotations_input.value == ""  # no ff_test.json in the cache
        await pick(pilot, "annotations-field", annotations)
        assert form.annotations_input.value == str(annotations)
        await pick(pilot, "predictions-field", first.parent)  # a folder adds its prediction files
        assert form.chosen_files.paths == [first, second] and form.file_input.value == ""
        await evaluate(pilot)
        table = app.screen.comparison
        assert [k.value for k in table.rows] == [str(first), str(second)]

        first.write_bytes(b"no longer a prediction file")  # one file fails: its old row goes
        await evaluate(pilot)
        assert [k.value for k in table.rows] == [str(second)]
        assert any(n.severity == "error" and "first.npz" in n.message for n in app._notifications)

        annotations.write_text("[not, coco", encoding="utf-8")  # the annotations fail: no row stays
        await evaluate(pilot)
        assert table.row_count == 0 and app.screen.worst_images.table("missed").row_count == 0
        assert "Select a model" in str(app.screen.category_bars.render())
        assert app.screen.progress_row.has_class("hidden")


async def test_evaluate_at_80_and_120_columns_keeps_the_paths_typeable_beside_their_browse_buttons():
    for size in ((80, 24), (120, 40)):
        app = FashionFailApp(LaunchOptions(mode="evaluate"))
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            form = app.screen.form
            for field_id in ("predictions-field", "annotations-field"):
                field = form.query_one(f"#{field_id}")
                assert field.input.size.width >= 30, (size, field_id)
                assert field.query_one(".browse").region.right <= size[0], (size, field_id)
