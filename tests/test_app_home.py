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
