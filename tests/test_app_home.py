from tui import catalog
from tests.helpers.pilot import wait_for
from tui.app import FashionFailApp


async def test_screenshot_home_lists_every_model_with_what_it_needs(screenshot_dir):
    app = FashionFailApp()
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.models_table.row_count)
        table = app.screen.models_table
        assert [str(k.value) for k in table.rows] == catalog.names()
        assert str(table.get_row("facere")[-1]) == "1 missing"  # its checkpoint; it runs in the app's own Python
        assert str(table.get_row("facere")[3]) == "the app's own interpreter"
        assert str(table.get_row("amrcnn-spine")[-1]) == "3 missing"
        detail = str(app.screen.detail.render())
        assert "fashionpedia-spinenet-143.tar.gz" in detail and "fashionfail-tui env create amrcnn" in detail
        await pilot.press("down", "down")
        await pilot.pause()
        detail = str(app.screen.detail.render())
        assert "fashionfail-tui fetch fformer-swin --from PATH/fashionformer_swin_b_3x.pth" in detail
        assert "1drv.ms" in detail
        app.save_screenshot(filename="home.svg", path=str(screenshot_dir))


async def test_escape_leaves_a_text_field_so_the_area_keys_work_again():
    """A focused field takes letters; escape hands them back to the area keys."""
    app = FashionFailApp()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("v")
        await pilot.pause()
        field = app.screen.query_one("Input")
        field.focus()
        await pilot.press("j")
        assert app.current_mode == "evaluate" and field.value == "j"
        await pilot.press("escape", "j")
        await pilot.pause()
        assert app.current_mode == "cluster" and field.value == "j"
