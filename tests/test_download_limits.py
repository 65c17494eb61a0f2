"""Every download has limits, proven against the fault-injecting file server on 127.0.0.1: a byte cap
(the announced size, or a cap per kind of file), a total deadline per request, a free-space check
before writing, partials over the cap deleted; an unresolvable host fails at once. Dataset images:
the header's size is checked before any pixel is decoded, and Pillow's decompression-bomb warning
never reaches the terminal."""

from __future__ import annotations

import shutil
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest
from fileserver import FileServer

from tests.helpers.mini_dataset import DELIVERY, entry, jpeg, serve_mini_dataset
from tui import paths
from tui.commands import main
from tui.downloads.http import Policy, download
from tui.errors import UserError

MB = 1 << 20


@pytest.fixture
def server():
    with FileServer() as running:
        yield running


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.glob(target.name + "*") if p.suffix != ".lock")


def png(width: int, height: int) -> bytes:
    """A real grayscale PNG of width x height black pixels: a few hundred kB however large it is."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    packer, row = zlib.compressobj(9), bytes(width + 1)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


# ---- the download layer -----------------------------------------------------------------------

def test_an_endless_body_stops_at_the_cap_and_leaves_no_partial(server, tmp_path):
    server.serve("/endless", b"x" * 1000, endless=True)
    target = tmp_path / "endless.bin"
    started = time.monotonic()
    with pytest.raises(UserError, match=r"sent more than 1.0 MB .*; the partial download was deleted"):
        download(server.url("/endless"), target, policy=Policy(max_bytes=1_000_000, retries=0))
    assert time.monotonic() - started < 10
    assert leftovers(target) == []


def test_a_body_announced_over_the_cap_is_refused_before_anything_is_written(server, tmp_path):
    server.serve("/big", b"x" * 1000, announce=5_000_000, endless=True)
    target = tmp_path / "big.bin"
    with pytest.raises(UserError, match=r"announces 5.0 MB, more than the 1.0 MB"):
        download(server.url("/big"), target, policy=Policy(max_bytes=1_000_000))
    assert leftovers(target) == [] and len(server.requests_for("/big")) == 1


def test_a_body_announced_larger_than_the_free_space_is_refused_before_writing(server, tmp_path):
    petabyte = 10 ** 15
    assert shutil.disk_usage(tmp_path).free < petabyte
    server.serve("/huge", b"x" * 1000, announce=petabyte, endless=True)
    target = tmp_path / "huge.bin"
    with pytest.raises(UserError, match=r"needs 1000.0 TB .* free"):
        download(server.url("/huge"), target, policy=Policy(max_bytes=None))  # no cap: the announced size is it
    assert leftovers(target) == [] and len(server.requests_for("/huge")) == 1


def test_a_server_dripping_one_byte_at_a_time_is_cut_off_at_the_deadline(server, tmp_path):
    server.serve("/drip", b"y" * 500, drip=0.05)  # 25 s in all, never silent for long
    target = tmp_path / "drip.bin"
    started = time.monotonic()
    with pytest.raises(UserError, match=r"did not finish within 1.5 s"):
        download(server.url("/drip"), target, policy=Policy(deadline=1.5, retries=3))
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 4, elapsed
    assert len(server.requests_for("/drip")) == 1  # not retried: the same server would do it again


def test_a_server_dripping_even_its_headers_is_cut_off_at_the_deadline(server, tmp_path):
    server.serve("/slow-head", b"y" * 10, drip_headers=0.1)  # about 4 s of headers
    started = time.monotonic()
    with pytest.raises(UserError, match=r"did not finish within 1 s"):
        download(server.url("/slow-head"), tmp_path / "slow.bin", policy=Policy(deadline=1, retries=2))
    assert time.monotonic() - started < 2.5
    assert len(server.requests_for("/slow-head")) == 1


def test_a_partial_over_the_cap_is_deleted_and_the_download_starts_again(server, tmp_path):
    body = b"z" * 5000
    served = server.serve("/f", body)
    target = tmp_path / "f.bin"
    part = target.with_name(target.name + ".part")
    part.write_bytes(b"z" * 3 * MB)  # left by an endless body before there was a cap
    part.with_name(part.name + ".json").write_text(
        f'{{"url": "{server.url("/f")}", "total": null, "etag": {served.etag!r}, "last_modified": null}}'
        .replace("'", '"'))
    download(server.url("/f"), target, policy=Policy(max_bytes=MB))
    assert target.read_bytes() == body
    assert "range" not in server.requests_for("/f")[-1]


def test_an_unresolvable_host_fails_at_once_without_retries(tmp_path):
    started = time.monotonic()
    with pytest.raises(UserError, match=r"cannot resolve models\.example\.invalid"):
        download("http://models.example.invalid/facere_base.onnx", tmp_path / "f.onnx", policy=Policy(retries=4))
    assert time.monotonic() - started < 3


def test_fetch_offline_names_the_import_route_within_seconds(capsys):
    from tui.commands import build_parser
    build_parser()  # the commands' imports: start-up is not what this measures
    paths.config_file().write_text('[models.facere]\nurl = "http://models.example.invalid/facere_base.onnx"\n')
    started = time.monotonic()
    assert main(["fetch", "facere"]) == 2
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert elapsed < 3, elapsed
    assert err.count("\n") == 1 and "cannot resolve models.example.invalid" in err
    assert "fashionfail-tui fetch facere --from FILE" in err and "Models screen" in err


def test_the_final_check_names_the_offline_route_when_a_checkpoint_is_missing():
    from tui import catalog, config
    from tui.setup.diagnosis import diagnose, offline_note
    note = offline_note([diagnose(catalog.get("facere"), config.load())])
    assert "fashionfail-tui fetch MODEL --from FILE" in note and "i on the Models screen" in note


# ---- dataset images ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bomb() -> bytes:
    return png(13000, 13000)


def publish_one(server, name: str, body: bytes, size: tuple[int, int], **options):
    dataset = serve_mini_dataset(server, good={})
    dataset.entries[:] = [entry(0, name, server.url("/images/" + name), size)]
    server.serve(DELIVERY + name, body, **options)
    dataset.publish()
    return dataset


def fetch_reasons(capsys) -> tuple[int, dict, str]:
    import json
    code = main(["dataset", "fetch", "--json"])
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]
    return code, {e["file_name"]: e.get("reason") for e in events if e["event"] == "image"}, captured.err


def test_an_image_announced_10x10_but_13000x13000_is_refused_by_its_header(server, bomb, capsys):
    publish_one(server, "big.png", bomb, (10, 10))
    code, reasons, err = fetch_reasons(capsys)
    assert code == 1
    assert reasons == {"big.png": "is 13000x13000 pixels, the annotation says 10x10"}
    assert "DecompressionBomb" not in err and "site-packages" not in err and "Warning" not in err
    assert not (paths.fashionfail_images("test") / "big.png").exists()


def test_an_image_the_annotation_says_is_huge_is_refused_in_one_line_without_pillows_warning(server, bomb, capsys):
    publish_one(server, "big.png", bomb, (13000, 13000))
    code, reasons, err = fetch_reasons(capsys)
    assert code == 1
    assert reasons["big.png"].startswith("is 13000x13000 = 169,000,000 pixels, more than the ")
    assert "DecompressionBomb" not in err and "site-packages" not in err and "Warning" not in err


def test_an_endless_image_body_is_cut_at_the_cap_and_no_partial_is_kept(server, capsys, monkeypatch):
    from tui.dataset import images
    monkeypatch.setattr(images, "IMAGE_MAX_BYTES", 2 * MB)
    publish_one(server, "a.jpg", jpeg((64, 48)), (64, 48), endless=True)
    started = time.monotonic()
    code, reasons, _ = fetch_reasons(capsys)
    assert code == 1 and "sent more than 2.1 MB" in reasons["a.jpg"]
    assert time.monotonic() - started < 20
    assert [p for p in paths.dataset_work_dir().rglob("a.jpg*") if p.suffix != ".lock"] == []
    server.serve(DELIVERY + "a.jpg", jpeg((64, 48)))  # the server mended: a rerun fetches it, no "disk full"
    assert main(["dataset", "fetch"]) == 0


def test_an_endless_annotation_file_is_cut_at_its_cap_and_nothing_is_saved(server, capsys, monkeypatch):
    from tui import annotation_schema
    monkeypatch.setattr(annotation_schema, "MAX_BYTES", 3 * MB)
    serve_mini_dataset(server)
    server.serve("/ff/ff_test.json", b'{"images": [', endless=True)
    assert main(["dataset", "fetch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sent more than 3.1 MB" in err
    assert [p for p in paths.cache_dir().rglob("ff_test*") if p.suffix != ".lock"] == []


def test_the_pixel_budget_lets_decodes_run_together_only_while_they_fit():
    """Within the budget at any moment, or one image alone (one larger than the whole budget)."""
    from tui.image_files import PixelBudget
    budget = PixelBudget(100)
    running, seen = [], []
    lock = threading.Lock()

    def decode(pixels: int) -> None:
        with budget.reserved(pixels):
            with lock:
                running.append(pixels)
                seen.append(list(running))
            time.sleep(0.05)
            with lock:
                running.remove(pixels)

    threads = [threading.Thread(target=decode, args=(p,)) for p in (60, 60, 30, 30, 500, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(t.is_alive() for t in threads)
    assert len(seen) == 6
    assert all(sum(now) <= 100 or len(now) == 1 for now in seen), seen
    assert any(len(now) > 1 for now in seen)  # small ones did run together


@pytest.mark.parametrize("url", ["http://[::1/x", "http://exa mple.com/x", "http://127.0.0.1:99999/x"])
def test_an_invalid_url_that_reaches_a_download_is_one_line(tmp_path, url):
    """The config refuses these at load; a URL from anywhere else must still not crash a download."""
    with pytest.raises(UserError, match="is not a valid URL"):
        download(url, tmp_path / "x.bin", policy=Policy(retries=0))


def test_an_image_whose_content_length_lies_short_is_one_failure_and_leaves_nothing(server, capsys):
    body = jpeg((64, 48))
    publish_one(server, "a.jpg", body, (64, 48), announce=100)  # the first 100 bytes are all the client takes
    code, reasons, err = fetch_reasons(capsys)
    assert code == 1 and reasons["a.jpg"].startswith("does not decode as an image")
    assert "Traceback" not in err
    assert [p for p in paths.dataset_work_dir().rglob("a.jpg*") if p.suffix != ".lock"] == []
    assert not (paths.fashionfail_images("test") / "a.jpg").exists()


def test_dataset_fetch_offline_fails_at_once_and_says_where_the_file_can_go(capsys):
    paths.config_file().write_text('[dataset]\nannotations_url = "http://mirror.example.invalid/ff/"\n')
    started = time.monotonic()
    assert main(["dataset", "fetch"]) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - started < 5
    assert err.count("\n") == 1 and "cannot resolve mirror.example.invalid" in err
    assert f"copy ff_test.json to {paths.fashionfail_annotations('test')}" in err
