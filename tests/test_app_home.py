from tui import catalog
from tui.app import FashionFailApp


async def test_home_lists_every_model_with_what_it_needs():
    app = FashionFailApp()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        table = app.screen.models_table
        assert [str(k.value) for k in table.rows] == catalog.names()
        facere_state = str(table.get_row("facere")[-1])
        assert "facere_base.onnx" in facere_state
        assert "environment 'amrcnn'" in str(table.get_row("amrcnn-spine")[-1])


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
        assert app.current_mode == "jobs" and field.value == "j"
