"""The Evaluate screen, driven with the Pilot on files built like the facere script's."""

import pytest

from evaluation_data import perfect, predictions, write_annotations, write_facere_file
from tui import paths
from tui.app import FashionFailApp, LaunchOptions
from tui.screens.browse import BrowseScreen
from tui.widgets.evaluate.form import EvaluationForm

BOX = (10, 10, 50, 50)
OBJECTS = {"a.jpg": [(0, BOX)], "b.jpg": [(0, BOX)], "c.jpg": [(23, BOX)], "d.jpg": [(24, (0, 0, 90, 90))]}


@pytest.fixture
def prediction_files(tmp_path):
    paths.fashionfail_dir().mkdir(parents=True, exist_ok=True)
    write_annotations(paths.fashionfail_dir() / "ff_test.json", OBJECTS)
    # classes above 22 in both files, so the loader reads them as facere (1..46), not facere+
    good = write_facere_file(tmp_path / "good.npz", perfect(OBJECTS))
    poor = write_facere_file(tmp_path / "poor.npz", [
        predictions("a.jpg", [(0, BOX, 0.9), (23, (60, 60, 90, 90), 0.8), (24, (0, 50, 40, 99), 0.7)]),
        predictions("b.jpg", [(0, (30, 10, 70, 50), 0.9)]),  # IoU 0.33: a false positive and a miss
        predictions("c.jpg", [(23, BOX, 0.9)]),
    ])
    return good, poor


async def enter_path(pilot, path):
    """What typing the path and pressing Enter does (typing it key by key is slow in the Pilot)."""
    field = pilot.app.screen.form.file_input
    field.focus()
    field.value = str(path)
    await pilot.press("enter")


async def add_and_evaluate(pilot, files):
    for file in files:
        await enter_path(pilot, file)
    await pilot.click("#evaluate-button")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_screenshot_two_files_side_by_side_with_bars_and_worst_images_opening_in_the_browser(prediction_files, screenshot_dir):
    good, poor = prediction_files
    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = app.screen
        assert screen.form.annotations_input.value == str(paths.fashionfail_dir() / "ff_test.json")
        await add_and_evaluate(pilot, prediction_files)
        table = screen.comparison
        assert [k.value for k in table.rows] == [str(good), str(poor)]
        assert str(table.get_row(str(good))[0]) == "facere (good.npz)"  # two files of one model: which is which
        assert all(str(cell) == "100.0 | 100.0" for cell in table.get_row(str(good))[1:])
        assert str(table.get_row(str(poor))[1]) != "100.0 | 100.0"
        assert "shirt, blouse" in str(screen.category_bars.render())

        table.focus()
        await pilot.press("down")
        await pilot.pause()
        assert "1 of 4 annotated image(s) have no predictions" in str(screen.coverage.render())  # d.jpg
        worst_fp = screen.worst_images.table("false_positives")
        assert [k.value for k in worst_fp.rows] == ["a.jpg", "b.jpg"]  # two strays on a.jpg, one on b.jpg
        assert [k.value for k in screen.worst_images.table("missed").rows] == ["b.jpg", "d.jpg"]
        app.save_screenshot(filename="evaluate.svg", path=str(screenshot_dir))
        worst_fp.focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, BrowseScreen) and app.screen.files == [poor]
        await pilot.app.workers.wait_for_complete()
        for _ in range(50):  # the image list fills between refreshes
            await pilot.pause()
            if app.screen.selected_name == "b.jpg":
                break
        assert app.screen.selected_name == "b.jpg"  # the worst image chosen is the one shown


async def test_a_file_that_fails_is_reported_and_the_others_still_shown(prediction_files, tmp_path):
    good, _ = prediction_files
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(160, 45)) as pilot:
        await add_and_evaluate(pilot, [broken, good])
        assert [k.value for k in app.screen.comparison.rows] == [str(good)]
        assert any(n.severity == "error" and "broken.npz" in n.message for n in app._notifications)


async def test_a_path_that_does_not_exist_is_flagged_not_added(tmp_path):
    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(160, 45)) as pilot:
        await enter_path(pilot, tmp_path / "nope.npz")
        await pilot.pause()
        form = app.screen.form
        assert form.chosen_files.paths == [] and form.file_input.has_class("-error")


async def test_files_can_be_read_as_a_chosen_model(tmp_path):
    paths.fashionfail_dir().mkdir(parents=True, exist_ok=True)
    shirts = {"a.jpg": [(0, BOX)], "b.jpg": [(0, BOX)]}
    write_annotations(paths.fashionfail_dir() / "ff_test.json", shirts)
    # only class 1 in the file: detection reads it as facere+ (classes 1..22); the user knows it is facere
    file = write_facere_file(tmp_path / "facere.npz", perfect(shirts))
    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(160, 45)) as pilot:
        await add_and_evaluate(pilot, [file])
        table = app.screen.comparison
        assert str(table.get_row(str(file))[0]) == "facere+"
        app.screen.form.family_select.value = "facere"
        await pilot.click("#evaluate-button")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert str(table.get_row(str(file))[0]) == "facere" and table.row_count == 1


async def test_on_an_80_column_terminal_the_annotation_path_stays_typeable():
    app = FashionFailApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v")
        await pilot.pause()
        form = app.screen.query_one(EvaluationForm)
        assert form.annotations_input.size.width >= 40
        for widget in (form.family_select, form.iou_select, form.query_one("#evaluate-button")):
            assert widget.size.width >= 10 and widget.region.right <= 80


async def test_the_figures_draw_each_files_curves_in_its_report_colour(prediction_files):
    from tui.evaluation.figures import model_colour, rgb
    from tui.widgets.figures import CurvesFigure, Figures, ReliabilityFigure

    good, poor = prediction_files
    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = app.screen
        assert not screen.query_one(Figures).display or screen.query_one(Figures).has_class("hidden")
        await add_and_evaluate(pilot, prediction_files)
        figures = screen.query_one(Figures)
        assert not figures.has_class("hidden")
        pr50 = screen.query_one("#figure-pr50", CurvesFigure)
        assert [s.label for s in pr50.series] == ["facere (good.npz)", "facere (poor.npz)"]
        assert [s.colour for s in pr50.series] == [model_colour(0), model_colour(1)]  # as in report.html
        drawn = pr50.plt.build()
        for index in (0, 1):  # each line is there in its colour (true-colour escape codes)
            red, green, blue = rgb(model_colour(index))
            assert f"38;2;{red};{green};{blue}m" in drawn
        assert "Weighted PR, IoU .50" in pr50.plt.uncolorize(drawn) and "recall" in pr50.plt.uncolorize(drawn)
        legend = str(figures.query_one("#figure-legend").render())
        evaluations = {e.file: e for e in screen.evaluations if e.iou_type == "bbox"}
        assert f"facere (good.npz) (box)  mAP_w@.50 {evaluations[str(good)].mAP_w50 * 100:.1f}" in legend
        assert f"@.75 {evaluations[str(poor)].mAP_w75 * 100:.1f}" in legend
        assert screen.query_one(ReliabilityFigure).series == pr50.series


@pytest.mark.parametrize("width", [200, 120, 80])
async def test_the_table_per_category_puts_each_number_under_its_heading_and_fits_the_width(tmp_path, width):
    long_name = "headband, head covering, hair accessory"
    objects = {"a.jpg": [(15, BOX), (0, BOX)], "b.jpg": [(1, BOX)]}
    anns = write_annotations(tmp_path / "anns.json", objects)
    file = write_facere_file(tmp_path / "p.npz", [predictions("a.jpg", [(15, BOX, 0.9), (0, (30, 10, 70, 50), 0.8)]),
                                                 predictions("b.jpg", [(1, BOX, 0.7), (23, BOX, 0.6)])])
    from tui.evaluation.evaluator import Evaluator

    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(width, 40)) as pilot:
        screen = app.screen
        screen._show_results(Evaluator(anns).evaluate(file))
        await pilot.pause()
        bars = screen.category_bars
        lines = str(bars.render()).splitlines()
        assert all(len(line) <= bars.size.width for line in lines)  # no row wraps
        header, rows = lines[0], {line.split("  ")[0]: line for line in lines[1:]}
        if width >= 200:
            assert long_name in rows  # the whole name
        for heading in ("box AP", "mask AP"):
            start = header.index(heading)
            # each row's number sits under its heading: the value ends within the heading's first columns
            for line in lines[1:]:
                number = line[start:start + 6].strip()
                assert number.replace(".", "").isdigit(), (heading, line)
        shirt = next(line for line in lines if line.startswith("shirt"))
        assert shirt[header.index("box AP"):header.index("box AP") + 6].strip() == "0.0"  # IoU 0.33: missed
        assert shirt[header.index("weight"):].strip() != ""


@pytest.mark.parametrize("width, stacked", [(100, True), (200, False)])
async def test_the_figures_stack_where_three_would_not_fit(prediction_files, width, stacked):
    from tui.widgets.figures import FigurePlot, Figures

    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(width, 45)) as pilot:
        await add_and_evaluate(pilot, prediction_files)
        figures = app.screen.query_one(Figures)
        assert figures.has_class("-stacked") is stacked
        plots = list(figures.query(FigurePlot))
        assert len(plots) == 3 and all(plot.size.width >= 24 for plot in plots)
        assert max(p.size.width for p in plots) - min(p.size.width for p in plots) <= 1  # equal shares
        tops = [plot.region.y for plot in plots]
        assert (tops[0] < tops[1] < tops[2]) if stacked else (tops[0] == tops[1] == tops[2])


async def test_the_failure_gallery_reads_the_files_as_the_read_as_choice_says(tmp_path):
    """The gallery once detected the family again, and named facere's file facere+."""
    from tests.helpers.pilot import wait_for
    from tui.screens.failure_gallery import FailureGallery

    paths.fashionfail_dir().mkdir(parents=True, exist_ok=True)
    shirts = {"a.jpg": [(0, BOX)], "b.jpg": [(0, BOX)]}
    write_annotations(paths.fashionfail_dir() / "ff_test.json", shirts)
    file = write_facere_file(tmp_path / "facere.npz", perfect(shirts))  # detected as facere+ (class 1 only)
    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(160, 45)) as pilot:
        app.screen.form.family_select.value = "facere"
        await pilot.pause()
        await add_and_evaluate(pilot, [file])
        assert str(app.screen.comparison.get_row(str(file))[0]) == "facere"
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, FailureGallery) and app.screen.cases is not None)
        assert [model.label for model in app.screen.cases.models] == ["facere"]
