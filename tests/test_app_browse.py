"""The prediction browser, driven through the Pilot: what the user selects, types and sees."""

import os

import numpy as np
import pytest
from PIL import Image

import prediction_files as pf
from tui.app import FashionFailApp, LaunchOptions
from tui.widgets.run.picker import PathPicker
from tui.predictions.render import category_colour
from tui.screens.browse import BrowseScreen, open_in_browser
from tests.helpers.pilot import wait_for

BACKDROP = (30, 120, 60)


@pytest.fixture
def images_dir(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (pf.WIDTH, pf.HEIGHT), BACKDROP).save(folder / "shirt.jpg", quality=100)
    return folder


def loaded(app, files=1):
    screen = app.screen
    return isinstance(screen, BrowseScreen) and len(screen.loaded_sets) == files and screen.image_list.shown_names


def drawn(app, slot=0):
    return app.screen.pictures[slot].drawn


def coloured(picture, rectangle, category):
    """Whether the centre of a rectangle shows the category's colour blended over the backdrop."""
    top, left, bottom, right = rectangle
    pixel = np.asarray(picture.getpixel(((left + right) // 2, (top + bottom) // 2)), dtype=int)
    return abs(pixel - np.asarray(BACKDROP)).sum() > 60 and \
        np.abs(pixel - np.asarray(category_colour(category))).sum() < np.abs(np.asarray(BACKDROP) - category_colour(category)).sum()


def table_categories(app):
    table = app.screen.detections_table
    return [str(table.get_row_at(i)[2]) for i in range(table.row_count)]


async def select_image(pilot, app, name):
    table = app.screen.image_list.table
    table.move_cursor(row=table.get_row_index(name))
    await wait_for(pilot, lambda: app.screen.selected_name == name and drawn(app) is not None
                   and app.screen.pictures[0].caption.content.startswith(f"{name} · A:"))


async def export_into(pilot, app, folder):
    """e, then the folder typed into the picker and chosen."""
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, PathPicker))
    app.screen.path_input.value = str(folder)
    await pilot.click("#picker-choose")


async def set_threshold(pilot, app, text):
    field = app.screen.filter_bar.threshold_input
    field.focus()
    field.value = ""
    await pilot.press(*text)


async def test_select_an_image_and_change_the_threshold(tmp_path, images_dir):
    path = pf.write_npz(tmp_path / "facere.npz", pf.facere_records())
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[path], images_dir=images_dir))
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        assert app.screen.image_list.shown_names == ["empty.jpg", "shirt.jpg"]
        await select_image(pilot, app, "shirt.jpg")
        await wait_for(pilot, lambda: table_categories(app) == ["sleeve"])  # 0.9 passes 0.5, 0.3 does not
        sleeve, pants = pf.RECTANGLES
        await wait_for(pilot, lambda: coloured(drawn(app), sleeve, 31))
        assert not coloured(drawn(app), pants, 6)
        assert app.screen.pictures[0].placeholder.display is False  # the image was found

        await set_threshold(pilot, app, "0.2")
        await wait_for(pilot, lambda: table_categories(app) == ["sleeve", "pants"])
        await wait_for(pilot, lambda: coloured(drawn(app), pants, 6))
        assert "2 of 2 shown" in str(app.screen.pictures[0].caption.content)

        await pilot.press("down")  # the field steps like a slider: 0.15
        assert app.screen.filter_bar.threshold_input.value == "0.15"
        app.screen.image_list.table.focus()
        await pilot.press("plus", "plus")  # and so do + and - elsewhere on the screen
        assert app.screen.filter_bar.threshold_input.value == "0.25"
        app.screen.filter_bar.categories_input.value = "pants"
        await wait_for(pilot, lambda: table_categories(app) == ["pants"])
        await wait_for(pilot, lambda: not coloured(drawn(app), sleeve, 31))

        await set_threshold(pilot, app, "7")  # not a score: marked, filters unchanged
        assert app.screen.filter_bar.threshold_input.has_class("-invalid")
        assert table_categories(app) == ["pants"]


async def test_filter_sort_and_missing_images(tmp_path):
    path = pf.write_npz(tmp_path / "facere.npz", pf.facere_records())
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[path]))
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        app.screen.image_list.table.focus()
        await pilot.press("t")  # most detections first
        assert app.screen.image_list.shown_names == ["shirt.jpg", "empty.jpg"]
        await pilot.press("slash", *"emp")
        assert app.screen.image_list.shown_names == ["empty.jpg"]
        await wait_for(pilot, lambda: "not found" in str(app.screen.pictures[0].placeholder.content))
        assert "--" not in str(app.screen.pictures[0].placeholder.content)  # the app's words, not a command line's
        assert app.screen.pictures[0].placeholder.display is True
        assert drawn(app) is not None  # the detections are still drawn, on a plain canvas


async def test_screenshot_two_files_side_by_side_and_export(tmp_path, images_dir, monkeypatch, screenshot_dir):
    monkeypatch.chdir(tmp_path)
    first = pf.write_npz(tmp_path / "facere.npz", pf.facere_records())
    second = pf.write_npz(tmp_path / "fformer.npz", pf.fformer_records())
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[first, second], images_dir=images_dir))
    async with app.run_test(size=(150, 48)) as pilot:
        await wait_for(pilot, lambda: loaded(app, files=2))
        await select_image(pilot, app, "shirt.jpg")
        await wait_for(pilot, lambda: drawn(app, 1) is not None)
        assert app.screen.pictures[1].display and "fformer.npz (fformer)" in str(app.screen.pictures[1].caption.content)
        table = app.screen.detections_table
        await wait_for(pilot, lambda: [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["A", "B"])
        app.save_screenshot(filename="browse.svg", path=str(screenshot_dir))
        await export_into(pilot, app, tmp_path)
        exported = [tmp_path / "shirt.facere.png", tmp_path / "shirt.fformer.png"]
        await wait_for(pilot, lambda: all(p.exists() for p in exported))
        assert Image.open(exported[0]).size == (pf.WIDTH, pf.HEIGHT)


async def test_two_files_of_one_model_export_to_two_names_and_never_over_a_file(tmp_path, images_dir, monkeypatch):
    """Both facere.npz (two runs of one model) once wrote to one shirt.facere.png: the second picture
    replaced the first, silently, and so did a second export over the first one's files."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run1").mkdir()
    (tmp_path / "run2").mkdir()
    first = pf.write_npz(tmp_path / "run1" / "facere.npz", pf.facere_records())
    second = pf.write_npz(tmp_path / "run2" / "facere.npz", pf.facere_records()[:1])
    (tmp_path / "shirt.facere.A.png").write_bytes(b"the user's own file")
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[first, second], images_dir=images_dir))
    async with app.run_test(size=(150, 48)) as pilot:
        await wait_for(pilot, lambda: loaded(app, files=2))
        await select_image(pilot, app, "shirt.jpg")
        await export_into(pilot, app, tmp_path)
        await wait_for(pilot, lambda: any(n.message.startswith("Exported") for n in app._notifications))
        await export_into(pilot, app, tmp_path)
        await wait_for(pilot, lambda: sum(n.message.startswith("Exported") for n in app._notifications) == 2)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "shirt.facere.A-2.png", "shirt.facere.A-3.png", "shirt.facere.A.png", "shirt.facere.B-2.png", "shirt.facere.B.png"]
    assert (tmp_path / "shirt.facere.A.png").read_bytes() == b"the user's own file"
    assert Image.open(tmp_path / "shirt.facere.A-2.png").size == Image.open(tmp_path / "shirt.facere.B.png").size
    said = [n.message for n in app._notifications if n.message.startswith("Exported")]
    assert said[0] == f"Exported shirt.facere.A-2.png, shirt.facere.B.png into {tmp_path}"


async def test_open_from_the_file_bar_and_refuse_a_hostile_file(tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class RunsCode:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    hostile = tmp_path / "hostile.npy"
    hostile.write_bytes(pf.npy_bytes_with_pickle(pickle.dumps(pf.object_array([RunsCode()]), protocol=3)))
    good = pf.write_amrcnn(tmp_path / "amrcnn.npy", pf.amrcnn_records())
    app = FashionFailApp(LaunchOptions(mode="browse"))
    async with app.run_test(size=(140, 45)) as pilot:
        screen = app.screen
        await pilot.press("o")  # nothing given: o goes to the open-file input
        assert screen.file_bar.first.has_focus
        screen.file_bar.first.value = str(hostile)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("refused to load" in n.message for n in app._notifications))
        assert not marker.exists() and screen.loaded_sets == []
        screen.file_bar.first.value = str(good)
        await pilot.click("#open-files")
        await wait_for(pilot, lambda: loaded(app))
        assert screen.image_list.shown_names == ["empty.jpg", "shirt.jpg"]  # tar member paths -> basenames


async def test_other_screens_open_files_in_the_browser(tmp_path):
    path = pf.write_npz(tmp_path / "facere.npz", pf.facere_records())
    app = FashionFailApp(LaunchOptions(mode="home"))
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        open_in_browser(app, [path])
        await wait_for(pilot, lambda: loaded(app))
        assert app.current_mode == "browse" and app.screen.file_bar.first.value == str(path)


async def test_images_are_found_through_the_files_meta(tmp_path, images_dir):
    path = pf.write_ours(tmp_path / "ours.npz", pf.facere_records(), model="facere", family="facere",
                         box_format="yxyx", class_ids="fashionpedia-1based", image_dir=str(images_dir))
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[path]))
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        await select_image(pilot, app, "shirt.jpg")
        await wait_for(pilot, lambda: coloured(drawn(app), pf.RECTANGLES[0], 31))
        assert app.screen.pictures[0].placeholder.display is False


async def test_the_screen_answers_while_a_file_loads(tmp_path, monkeypatch):
    """A stand-in for a slow first open: the real loader, held back until the test lets it finish."""
    import threading

    from tui.screens import browse as browse_screen

    release = threading.Event()
    real_loader = browse_screen.load_predictions

    def held_back(path, family=None, on_progress=None):
        on_progress(0.4, "reading")
        release.wait(10)
        return real_loader(path, family, on_progress)

    monkeypatch.setattr(browse_screen, "load_predictions", held_back)
    path = pf.write_npz(tmp_path / "facere.npz", pf.facere_records())
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[path]))
    async with app.run_test(size=(140, 45)) as pilot:
        status = app.screen.query_one("#load-status")
        await wait_for(pilot, lambda: app.screen.progress_bar.progress == pytest.approx(0.4))
        assert not status.has_class("hidden")
        await pilot.press("slash", *"shi")  # the user can work while it loads
        assert app.screen.image_list.name_filter.value == "shi"
        release.set()
        await wait_for(pilot, lambda: app.screen.loaded_sets)
        assert status.has_class("hidden") and app.screen.image_list.shown_names == ["shirt.jpg"]


async def test_images_from_the_fashionfail_cache(tmp_path):
    from tui import paths

    folder = paths.fashionfail_dir() / "images" / "val"
    folder.mkdir(parents=True)
    Image.new("RGB", (pf.WIDTH, pf.HEIGHT), BACKDROP).save(folder / "shirt.jpg", quality=100)
    path = pf.write_npz(tmp_path / "facere.npz", pf.facere_records())
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[path]))
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        await select_image(pilot, app, "shirt.jpg")
        await wait_for(pilot, lambda: app.screen.pictures[0].placeholder.display is False)


async def test_browse_family_override_reads_the_file_with_that_families_classes(tmp_path):
    """Classes 1..22 alone look like Facere+; `fashionfail-tui browse FILE --family facere` says otherwise."""
    path = pf.write_npz(tmp_path / "plus.npz", pf.facere_plus_records())
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[path], family="facere"))
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        read = app.screen.loaded_sets[0]
        assert read.model is None and read.family == "facere"
        assert list(read.columns.classes[:2]) == [1, 5]  # class 6 is category 5 for Facere (6 for Facere+)


def test_browse_refuses_an_unknown_family_in_one_line(tmp_path, capsys):
    from tui.commands import main

    path = pf.write_npz(tmp_path / "facere.npz", pf.facere_records())
    assert main(["browse", str(path), "--family", "yolo"]) == 2
    assert "unknown family 'yolo'" in capsys.readouterr().err


async def test_opened_without_a_file_the_area_keys_still_work():
    app = FashionFailApp()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("g", "j")  # would be typed into the file field if it had the focus
        await pilot.pause()
        assert app.current_mode == "cluster"
        await pilot.press("b", "o")
        await pilot.pause()
        assert app.focused is app.screen.file_bar.first  # `o` takes you to the file field


async def test_export_asks_where_starting_beside_the_file_and_says_where_the_pngs_went(tmp_path, images_dir, monkeypatch):
    """e once wrote into the current folder without asking."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    (tmp_path / "run").mkdir()
    first = pf.write_npz(tmp_path / "run" / "facere.npz", pf.facere_records())
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[first], images_dir=images_dir))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        await select_image(pilot, app, "shirt.jpg")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPicker))
        assert app.screen.path_input.value == str(tmp_path / "run")  # the prediction file's folder, to start
        await pilot.click("#picker-choose")
        await wait_for(pilot, lambda: any(n.message.startswith("Exported") for n in app._notifications))
        [said] = [n.message for n in app._notifications if n.message.startswith("Exported")]
        assert said == f"Exported shirt.facere.png into {tmp_path / 'run'}"
    assert (tmp_path / "run" / "shirt.facere.png").exists() and not list(cwd.iterdir())


async def test_the_threshold_is_remembered_and_the_image_counts_follow_it(tmp_path, images_dir):
    first = pf.write_npz(tmp_path / "facere.npz", pf.facere_records())
    app = FashionFailApp(LaunchOptions(mode="browse", browse_files=[first], images_dir=images_dir))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        table = app.screen.image_list.table
        counts = {str(table.get_row_at(i)[0]): int(table.get_row_at(i)[1]) for i in range(table.row_count)}
        await set_threshold(pilot, app, "0")
        await wait_for(pilot, lambda: app.screen.detection_filter.threshold == 0.0)
        await pilot.pause()
        everything = {str(table.get_row_at(i)[0]): int(table.get_row_at(i)[1]) for i in range(table.row_count)}
        assert counts != everything and all(counts[n] <= everything[n] for n in counts)
        await pilot.press("x")  # a letter in the score field: dropped, and it says why
        await pilot.pause()
        assert app.screen.filter_bar.threshold_input.value == "0"
        assert any("takes a number from 0 to 1" in n.message for n in app._notifications)
        await app.workers.wait_for_complete()
    reopened = FashionFailApp(LaunchOptions(mode="browse"))
    async with reopened.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert reopened.screen.filter_bar.threshold_input.value == "0.00"
