"""The app's screens show hostile text from files as text: image names, file names and messages with
terminal escapes, bidi overrides and markup reach the Browse and Evaluate screens, the failure gallery
and notifications as escapes and brackets, never as escape sequences or styles (tui/text.py).

Each screen's visible text is gathered the way Textual renders it (DataTable cells given as `str` are
markup, a Static's content is rendered, a notification is markup unless it says not) and checked.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable, Input, Label, Static

from evaluation_data import predictions, write_annotations, write_runner_file
from tests.helpers.pilot import wait_for
from tui import paths, text
from tui.app import FashionFailApp, LaunchOptions
from tui.screens.browse import BrowseScreen
from tui.screens.failure_gallery import FailureGallery

from test_output_escaping import FILE_NAME, HIDDEN, FORMULA
from test_app_evaluate import add_and_evaluate

IMAGE = FILE_NAME + ".jpg"


def _cell_text(cell) -> str:
    if isinstance(cell, str):
        return Text.from_markup(cell).plain  # what DataTable does with a str cell
    return cell.plain if hasattr(cell, "plain") else str(cell)


def shown_texts(app) -> list[str]:
    """Every piece of text the current screen shows: table headers and cells, statics and labels, text
    fields, notifications."""
    texts = []
    for table in app.screen.query(DataTable):
        texts += [_cell_text(column.label) for column in table.columns.values()]
        for row in range(table.row_count):
            texts += [_cell_text(cell) for cell in table.get_row_at(row)]
    for widget in app.screen.query(Static):
        rendered = widget.render()
        texts.append(rendered.plain if hasattr(rendered, "plain") else str(rendered))
    for widget in app.screen.query(Label):
        rendered = widget.render()
        texts.append(rendered.plain if hasattr(rendered, "plain") else str(rendered))
    for field in app.screen.query(Input):
        texts.append(field._value.plain)  # what the field draws (Input._value is the Text it renders)
    for notification in app._notifications:
        message = Content.from_markup(notification.message).plain if notification.markup else notification.message
        texts += [message, notification.title]
    return texts


def assert_shown_as_text(texts: list[str], *names: str) -> None:
    raw = [t for t in texts if HIDDEN.search(t)]
    assert raw == [], f"raw control characters reach the screen: {raw!r}"
    everything = "\n".join(texts)
    for name in names:
        assert text.visible(name)[:24] in everything, f"{text.visible(name)!r} not on the screen"  # a cell may be clipped


def hostile_file(tmp_path):
    return write_runner_file(tmp_path / f"{FILE_NAME}.npz", [
        predictions(IMAGE, [(6, (5, 5, 40, 40), 0.9)]),
        predictions(FORMULA, [(6, (5, 5, 40, 40), 0.9), (7, (60, 60, 90, 90), 0.8)])], "facere")


async def test_the_browser_shows_hostile_image_and_file_names_as_text(tmp_path):
    found = hostile_file(tmp_path)
    app = FashionFailApp(LaunchOptions(mode=BrowseScreen.NAV.mode, browse_files=[found]))
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen) and app.screen.image_list.shown_names)
        await pilot.pause()
        assert_shown_as_text(shown_texts(app), IMAGE, FORMULA)


async def test_evaluate_and_its_failure_gallery_show_hostile_names_as_text(tmp_path):
    paths.fashionfail_dir().mkdir(parents=True, exist_ok=True)
    write_annotations(paths.fashionfail_dir() / "ff_test.json", {IMAGE: [(6, (5, 5, 40, 40))],
                                                                   FORMULA: [(6, (5, 5, 40, 40)), (8, (1, 1, 9, 9))],
                                                                   "missing.jpg": [(6, (5, 5, 40, 40))]})
    found = hostile_file(tmp_path)
    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(200, 50)) as pilot:
        await add_and_evaluate(pilot, [found])
        assert_shown_as_text(shown_texts(app), FILE_NAME)
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, FailureGallery) and app.screen.chosen is not None)
        await pilot.pause()
        assert_shown_as_text(shown_texts(app), FORMULA)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FailureGallery))
        broken = tmp_path / f"{FILE_NAME}-broken.npz"
        broken.write_bytes(b"not a zip")
        await add_and_evaluate(pilot, [broken])
        assert_shown_as_text(shown_texts(app))
