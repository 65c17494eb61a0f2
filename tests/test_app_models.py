"""The Models screen, driven with the Pilot against the local HTTP server."""

import hashlib

import pytest
from fileserver import FileServer
from gitrepos import commit
from artifacts import torch_zip

from tui import catalog, config, paths
from tui.app import FashionFailApp
from tui.dataset import fetch_annotations, fetch_images
from tui.downloads import Policy, fetch_model
from tui.errors import UserError
from tui.widgets.confirm import Confirm
from tests.helpers.mini_dataset import serve_mini_dataset
from tests.helpers.pilot import wait_for


ONNX = bytes(range(256)) * 64


@pytest.fixture
def server():
    with FileServer() as running:
        yield running


def app_with(config_text: str) -> FashionFailApp:
    paths.config_file().write_text(config_text)
    return FashionFailApp(config=config.load())


async def settle(pilot, app, until, tries=200):
    """Let thread workers run until `until()` holds (about 20 ms a try)."""
    await wait_for(pilot, until, seconds=tries * 0.02)


def cell(app, model, column):
    return str(app.screen.files_table.get_cell(model, column))


def errors(app):
    return [n.message for n in app._notifications if n.severity == "error"]


async def select(pilot, app, model):
    table = app.screen.files_table
    table.move_cursor(row=table.get_row_index(model))
    await pilot.pause()


async def test_download_shows_progress_then_verified_and_home_agrees(server):
    server.serve("/facere_base.onnx", ONNX, delay=0.02)
    app = app_with(f'[models.facere]\nurl = "{server.url("/facere_base.onnx")}"\n')
    progress_seen = set()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("m")
        await settle(pilot, app, lambda: cell(app, "facere", "state") == "missing")
        assert [cell(app, m, "state") for m in ("amrcnn-spine", "fformer-swin")] == ["missing", "missing"]
        await select(pilot, app, "facere")
        await pilot.press("d", "y")  # d asks first

        def done():
            progress_seen.add(cell(app, "facere", "progress"))
            return cell(app, "facere", "state") == "verified"
        await settle(pilot, app, done)
        assert any(text.startswith("download ") and "%" in text for text in progress_seen)
        assert (paths.checkpoints_dir() / "facere_base.onnx").read_bytes() == ONNX
        assert "sha256 " + hashlib.sha256(ONNX).hexdigest()[:16] in str(app.screen.detail.render())
        await pilot.press("h")
        await pilot.pause()
        assert "ready" in str(app.screen.models_table.get_row("facere")[-1])
        assert errors(app) == []


async def test_a_failed_download_is_an_error_notification_and_leaves_nothing(server):
    app = app_with(f'[models.facere]\nurl = "{server.url("/missing.onnx")}"\n')
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("m")
        await select(pilot, app, "facere")
        await pilot.press("d", "y")  # d asks first
        await settle(pilot, app, lambda: errors(app))
        assert errors(app) == [f"HTTP 404 Not Found for {server.url('/missing.onnx')}"]
        await settle(pilot, app, lambda: cell(app, "facere", "state") == "missing")
        assert cell(app, "facere", "progress") == "download failed"
        assert not (paths.checkpoints_dir() / "facere_base.onnx").exists()


async def test_import_through_the_dialog_then_verify_catches_corruption_and_delete_removes(tmp_path):
    pin = commit(tmp_path / "FashionFormer", {"README.md": "ff"})
    source = torch_zip(tmp_path / "fashionformer_swin_b_3x.pth")
    app = app_with(f'[sources.FashionFormer]\nurl = "{tmp_path / "FashionFormer"}"\ncommit = "{pin}"\n')
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("m")
        await select(pilot, app, "fformer-swin")
        assert "1drv.ms" in str(app.screen.detail.render())
        await pilot.press("i")
        await pilot.pause()
        app.screen.path_input.value = str(source)
        await pilot.press("enter")
        await settle(pilot, app, lambda: cell(app, "fformer-swin", "state") == "verified")
        assert "verified" in cell(app, "fformer-swin", "source tree")

        stored = paths.checkpoints_dir() / "fashionformer_swin_b_3x.pth"
        stored.write_bytes(stored.read_bytes()[:-1] + b"!")
        await pilot.press("c")
        await settle(pilot, app, lambda: cell(app, "fformer-swin", "state") == "corrupt")
        assert "does not match its recorded sha256" in errors(app)[-1]

        await pilot.press("x")  # asks first; n keeps the file
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        question = str(app.screen.query_one("#confirm-question").render())
        assert question.startswith("Delete fformer-swin's checkpoint from the cache (fashionformer_swin_b_3x.pth, ")
        assert question.endswith("Getting it back means importing it again.")
        await pilot.press("n")
        await pilot.pause(0.3)
        assert stored.exists() and cell(app, "fformer-swin", "state") == "corrupt"
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot, app, lambda: cell(app, "fformer-swin", "state") == "missing")
        assert not stored.exists()

        await pilot.press("x")  # nothing left: said so, nothing asked
        await pilot.pause()
        assert not isinstance(app.screen, Confirm)
        assert "fformer-swin has nothing in the cache to delete" in [n.message for n in app._notifications]


async def test_an_import_that_is_not_a_checkpoint_is_refused(tmp_path):
    page = tmp_path / "fashionformer_r50_3x.pth"
    page.write_text("<!DOCTYPE html><html>OneDrive</html>")
    app = app_with("")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("m")
        await select(pilot, app, "fformer-r50-fpn")
        await pilot.press("d")  # a manual model without its file: download opens the import dialog
        await pilot.pause()
        app.screen.path_input.value = str(page)
        await pilot.click("#import-ok")
        await settle(pilot, app, lambda: errors(app))
        assert "web page" in errors(app)[0]
        assert cell(app, "fformer-r50-fpn", "state") == "missing"


async def test_screenshot_mixed_cache_with_a_resumed_download_in_progress(server, tmp_path, screenshot_dir):
    """Also saves the README's models.svg (see the screenshot_dir fixture)."""
    pin = commit(tmp_path / "FashionFormer", {"README.md": "ff"})
    server.serve("/facere_base.onnx", ONNX)
    served = server.serve("/facere_plus.onnx", ONNX * 4, faults=["drop:6144"])
    app = app_with(f'[models.facere]\nurl = "{server.url("/facere_base.onnx")}"\n'
                   f'[models.facere_plus]\nurl = "{server.url("/facere_plus.onnx")}"\n'
                   f'[sources.FashionFormer]\nurl = "{tmp_path / "FashionFormer"}"\ncommit = "{pin}"\n')
    fetch_model(catalog.get("facere"), app.settings)
    fetch_model(catalog.get("fformer-swin"), app.settings, source_file=torch_zip(tmp_path / "swin.pth"))
    with pytest.raises(UserError):
        fetch_model(catalog.get("facere+"), app.settings, policy=Policy(retries=0))
    served.delay = 0.05
    async with app.run_test(size=(130, 30)) as pilot:
        await pilot.press("m")
        await settle(pilot, app, lambda: cell(app, "facere+", "state") == "partial")
        assert [cell(app, m, "state") for m in ("facere", "fformer-swin", "fformer-r50-fpn")] == \
            ["verified", "verified", "missing"]
        await select(pilot, app, "facere+")
        await pilot.press("d", "y")  # d asks first
        await settle(pilot, app, lambda: "left" in cell(app, "facere+", "progress"))
        assert cell(app, "facere+", "state") == "downloading"
        app.save_screenshot(filename="models.svg", path=str(screenshot_dir))
        assert "downloading" in (screenshot_dir / "models.svg").read_text()
        await settle(pilot, app, lambda: cell(app, "facere+", "state") == "verified", tries=600)
    assert server.requests_for("/facere_plus.onnx")[-1]["range"] == "bytes=6144-"


async def test_r_still_opens_the_run_screen_and_u_reads_the_cache_again(tmp_path):
    app = app_with("")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("m")
        await settle(pilot, app, lambda: cell(app, "facere", "state") == "missing")
        paths.checkpoints_dir().mkdir(parents=True, exist_ok=True)
        (paths.checkpoints_dir() / "facere_base.onnx").write_bytes(b"an onnx file copied in by hand")
        await pilot.press("u")
        await settle(pilot, app, lambda: cell(app, "facere", "state") == "unverified")
        await pilot.press("r")
        await pilot.pause()
        assert app.current_mode == "run"


async def test_the_dataset_line_says_what_of_fashionfail_is_fetched(server):
    serve_mini_dataset(server)
    app = FashionFailApp(config=config.load())
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("m")

        def line():
            return str(app.screen.dataset_line.render())
        await settle(pilot, app, lambda: "test: no annotations" in line())
        assert line().endswith("(fetch: fashionfail-tui dataset fetch --split all)")
        fetch_images(fetch_annotations("test", app.settings))  # 3 of the 5 images are good
        await pilot.press("u")
        await settle(pilot, app, lambda: "test: 3/5 images" in line())
        assert "val: no annotations · train: no annotations" in line()



async def test_d_asks_before_it_downloads_and_n_starts_nothing(tmp_path):
    """A letter typed by mistake (a path typed with no field under the cursor) must start no download."""
    from tui.widgets.confirm import Confirm

    app = app_with("")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("m")
        await select(pilot, app, "facere")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        assert "Download facere's checkpoint facere_base.onnx (185.0 MB) now?" in str(
            app.screen.query_one("#confirm-question").render())
        await pilot.press("n")
        await pilot.pause()
        assert app.screen.busy == set() and cell(app, "facere", "state") == "missing"
        assert not any(worker.group == "model-facere" for worker in app.workers)


async def test_deleting_an_imported_checkpoint_says_it_comes_back_by_importing(tmp_path):
    """Not "downloading it again" for a file the user imported (`fetch facere --from FILE`)."""
    from tests.helpers.onnx_models import build_maskrcnn_like
    from tui.downloads.fetch import import_model

    import_model(catalog.get("facere"), build_maskrcnn_like(tmp_path / "my-facere.onnx"))
    app = app_with("")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("m")
        await settle(pilot, app, lambda: cell(app, "facere", "state") == "verified")
        await select(pilot, app, "facere")
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        question = str(app.screen.query_one("#confirm-question").render())
        assert question.startswith("Delete facere's checkpoint from the cache (facere_base.onnx, ")
        assert question.endswith("It was imported: getting it back means importing your copy again, or downloading it.")
