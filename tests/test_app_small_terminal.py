"""Every screen at 80x24 (and 120x40), filled with data: the footer keeps quit and the area keys in
sight, and no number is cut (a count of 100 read as "10" under a scrollbar, or half of a column at the
table's edge). What each screen looks like is guarded by tests/test_snapshots.py."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Region
from textual.widgets import DataTable, Footer, Static
from textual.widgets._footer import FooterKey, FooterLabel

from evaluation_data import perfect, predictions, write_annotations, write_facere_file
from test_app_cluster import recorded_job
from tests.helpers.images import write_image
from tests.helpers.pilot import wait_for
from tui import catalog, paths
from tui.app import FashionFailApp, LaunchOptions
from tui.setup import wizard
from tui.widgets.fitted_table import FittedTable

SIZES = [(80, 24), (120, 40)]
BOX = (10, 10, 50, 50)
IMAGES = [f"img{index:02}.jpg" for index in range(30)]
NUMBER = re.compile(r"[\d.,–]+( ?(%|[KMGT]?i?B|s))?(( ?[|/] ?|, )[\d.,–]+( ?(%|[KMGT]?i?B|s))?)*")
"""A count, a score, a size, `box | mask`, `done/total`, a box's corners."""


def number_cells(table: DataTable):
    """(column index, header, text) of every cell that holds a number or numbers."""
    for row in range(table.row_count):
        for index, cell in enumerate(table.get_row_at(row)):
            text = (cell.plain if isinstance(cell, Text) else str(cell)).strip()
            if NUMBER.fullmatch(text) and any(c.isdigit() for c in text):
                yield index, str(table.ordered_columns[index].label), text


def cut_numbers(screen) -> list[str]:
    """Numbers a user would misread: cut inside their column, or half under the table's visible edge
    (its scrollbar, its container's edge, the screen's). A column wholly out of sight is not cut."""
    cut = {}
    for table in screen.query(DataTable):
        if not table.display or not table.region:
            continue
        clip = screen.find_widget(table).clip
        visible = min(table.scrollable_content_region.right, clip.right) - table.scrollable_content_region.x
        starts, widths, x = [], [], -table.scroll_x
        for column in table.ordered_columns:
            starts.append(x + table.cell_padding)
            widths.append(column.get_render_width(table) - 2 * table.cell_padding)
            x += column.get_render_width(table)
        for index, header, text in number_cells(table):
            start = starts[index]
            if cell_len(text) > widths[index] or start < visible < start + cell_len(text):
                cut.setdefault(f"{table.id or type(table).__name__} [{header}]", text)  # one example a column
    return [f"{where} {text!r}" for where, text in cut.items()]


def footer_in_sight(screen) -> list[str]:
    """The footer's keys and labels that are wholly left of the command palette's key."""
    footer = screen.query_one(Footer)
    edge = footer.query_one(".-command-palette").region.x
    return [f"{item.key_display} {item.description}".strip() if isinstance(item, FooterKey) else str(item.render())
            for item in footer.query("FooterKey, FooterLabel")
            if not item.has_class("-command-palette") and item.region.width and item.region.right <= edge]


async def check(pilot, size) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: footer_in_sight(app.screen))  # the footer fills in after a refresh
    shown = footer_in_sight(app.screen)
    assert "^q Quit" in shown, f"{app.current_mode} at {size}: quit is not in sight ({shown})"
    assert "Areas" in shown or "j cluster" in shown, \
        f"{app.current_mode} at {size}: the area keys are not in sight ({shown})"
    assert cut_numbers(app.screen) == [], f"{app.current_mode} at {size}"


@pytest.fixture
def two_runs(tmp_path):
    """The same model's file from two folders, one of them with 100 false positives on one image (of 120
    detections: the evaluation keeps the best 100);
    the annotations where the app looks for them; the images."""
    paths.fashionfail_dir().mkdir(parents=True, exist_ok=True)
    objects = {name: [(23, BOX)] for name in IMAGES}  # above 22: read as facere, not facere+
    objects[IMAGES[1]].append((24, BOX))  # annotated somewhere, so the paper counts image 0's bags as false positives
    write_annotations(paths.fashionfail_dir() / "ff_test.json", objects)
    noisy = perfect(objects)
    noisy[0] = predictions(IMAGES[0], [(23, BOX, 0.9)] + [(24, (i % 50, i // 50 * 20, i % 50 + 40, i // 50 * 20 + 30),
                                                         0.6) for i in range(120)])
    files = []
    for folder, images in (("run1", perfect(objects)), ("run2", noisy)):
        (tmp_path / folder).mkdir()
        files.append(write_facere_file(tmp_path / folder / "facere.npz", images))
    for index, name in enumerate(IMAGES[:3]):
        write_image(tmp_path / "images" / name, size=(100, 100), seed=index)
    return files, tmp_path / "images"


async def fitted(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: all(table.fitted for table in app.screen.query(FittedTable)))
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
async def test_home_models_run_and_cluster_fit(size, tmp_path):
    recorded_job(tmp_path)
    app = FashionFailApp()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.screen.models_table.row_count)
        await fitted(pilot)
        await check(pilot, size)
        for key, mode in (("m", "models"), ("r", "run"), ("j", "cluster")):
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause()
            await fitted(pilot)
            await check(pilot, size)


@pytest.mark.parametrize("size", SIZES)
async def test_browse_and_evaluate_two_files_of_one_model_fit(size, two_runs):
    files, images = two_runs
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=files, images_dir=images))
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.loaded_sets) == 2 and len(screen.image_list.shown_names) == 30)
        screen.image_list.table.move_cursor(row=screen.image_list.shown_names.index(IMAGES[0]))
        await wait_for(pilot, lambda: screen.pictures[1].drawn is not None)
        await fitted(pilot)
        captions = [str(picture.caption.content) for picture in screen.pictures]
        assert captions[0].startswith("img00.jpg · A: run1/facere.npz") and captions[1].startswith("img00.jpg · B: run2/facere.npz")
        await check(pilot, size)

        await pilot.press("v")
        await pilot.pause()
        for file in files:
            screen = app.screen
            screen.form.file_input.value = str(file)
            screen.form.add_files(file)
        screen.form.submit()  # what Evaluate does (at 80 columns the button is half out of the screen)
        await wait_for(pilot, lambda: screen.comparison.row_count == 2, seconds=90)
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = screen.comparison
        table.move_cursor(row=1)
        await pilot.pause()
        await fitted(pilot)
        assert [str(table.get_row(str(file))[0]) for file in files] == ["facere (run1/facere.npz)",
                                                                         "facere (run2/facere.npz)"]
        assert "100" in [text for _, _, text in number_cells(screen.worst_images.table("false_positives"))]
        await check(pilot, size)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("step", ["backend", "disk", "check"])
async def test_setup_steps_fit(size, step):
    wizard.save_state(wizard.WizardState(step=step, models=catalog.names()))
    app = FashionFailApp(LaunchOptions(mode="setup"))
    async with app.run_test(size=size) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await fitted(pilot)
        await check(pilot, size)
        steps_bar = app.screen.steps_bar
        steps = str(steps_bar.render())
        assert cell_len(steps) <= steps_bar.content_size.width, f"the step bar is cut: {steps!r}"
        assert ("4. Environments" in steps) == (size[0] >= 120), "names where they fit, numbers where not"
        if step == "check":  # every fix command in full, over as many lines as it takes
            report = app.screen.check_report
            lines = [line for line in report.query_one(Static).render_lines(Region(0, 0, report.size.width, 200))]
            shown = " ".join("".join(segment.text for segment in line).strip() for line in lines)
            assert "fashionfail-tui fetch fformer-swin --from" in shown and "fashionformer_swin_b_3x.pth" in shown


