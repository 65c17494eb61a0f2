"""`fashionfail-tui fetch` and `cache`, against the local HTTP server; concurrency with real processes."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fileserver import FileServer
from gitrepos import commit
from artifacts import checkpoint_members, make_tar, torch_zip

from tui import paths
from tui.commands import main

ROOT = Path(__file__).resolve().parents[1]
ONNX = os.urandom(8 * 1024)


@pytest.fixture
def server():
    with FileServer() as running:
        running.serve("/facere_base.onnx", ONNX)
        paths.config_file().write_text(f'[models.facere]\nurl = "{running.url("/facere_base.onnx")}"\n')
        yield running


def events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_fetch_json_streams_progress_and_ends_with_done(server, capsys):
    assert main(["fetch", "facere", "--json"]) == 0
    out = events(capsys.readouterr().out)
    assert {e["event"] for e in out[:-1]} == {"progress"} and all(e["model"] == "facere" for e in out)
    assert any(e["stage"] == "download" and e["done"] == e["total"] == len(ONNX) for e in out)
    assert out[-1]["event"] == "done"
    assert Path(out[-1]["path"]).read_bytes() == ONNX


def test_fetch_failure_is_one_line_and_an_error_event(server, capsys):
    paths.config_file().write_text(f'[models.facere]\nurl = "{server.url("/gone.onnx")}"\n')
    assert main(["fetch", "facere", "--json"]) == 2
    captured = capsys.readouterr()
    assert events(captured.out)[-1] == {"event": "error", "message": f"HTTP 404 Not Found for {server.url('/gone.onnx')}"}
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_manual_model_without_from_names_the_link_and_file(capsys):
    assert main(["fetch", "fformer-r50-fpn"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "https://1drv.ms/" in err and "fashionformer_r50_3x.pth" in err


def test_fetch_from_imports_a_checkpoint(tmp_path, capsys):
    pin = commit(tmp_path / "ff", {"README.md": "x"})
    paths.config_file().write_text(f'[sources.FashionFormer]\nurl = "{tmp_path / "ff"}"\ncommit = "{pin}"\n')
    source = torch_zip(tmp_path / "download.pth")
    assert main(["fetch", "fformer-r50-fpn", "--from", str(source)]) == 0
    stored = paths.checkpoints_dir() / "fashionformer_r50_3x.pth"
    assert capsys.readouterr().out.strip() == f"fformer-r50-fpn: {stored}"
    assert stored.read_bytes() == source.read_bytes()


def test_cache_lists_states_and_clean_removes_a_model(server, capsys):
    assert main(["fetch", "facere"]) == 0
    capsys.readouterr()
    assert main(["cache", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    facere = next(m for m in listing["models"] if m["model"] == "facere")
    assert facere["state"] == "verified" and facere["size"] == len(ONNX)
    assert facere["files"][0]["sha256"] == hashlib.sha256(ONNX).hexdigest()
    assert next(m for m in listing["models"] if m["model"] == "facere+")["state"] == "missing"
    assert {s["name"]: s["state"] for s in listing["sources"]} == {"tpu": "missing", "FashionFormer": "missing"}

    assert main(["cache", "clean", "facere"]) == 0
    assert "removed" in capsys.readouterr().out
    main(["cache", "--json"])
    listing = json.loads(capsys.readouterr().out)
    assert next(m for m in listing["models"] if m["model"] == "facere")["state"] == "missing"


def test_two_processes_fetching_one_file_produce_one_good_file(server):
    """Two real processes: the second waits on the lock, then finds the first one's finished file."""
    server.serve("/facere_base.onnx", ONNX, delay=0.2)  # 8 chunks of 1 KiB: about 1.6 s of transfer
    command = [sys.executable, "-m", "tui", "fetch", "facere", "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    outputs = [process.communicate(timeout=60) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    finals = [events(out)[-1] for out, _ in outputs]
    assert finals[0] == finals[1] and finals[0]["event"] == "done"
    assert Path(finals[0]["path"]).read_bytes() == ONNX
    assert len(server.requests_for("/facere_base.onnx")) == 1
    waited = [e for out, _ in outputs for e in events(out) if e.get("stage") == "wait"]
    assert len(waited) == 1
    assert sorted(p.name for p in paths.checkpoints_dir().iterdir()) == \
        ["facere_base.onnx", "facere_base.onnx.lock", "manifest.json", "manifest.json.lock"]


def test_fetch_all_fetches_what_it_can_and_names_what_it_could_not(server, tmp_path, capsys):
    pin = commit(tmp_path / "tpu", {"README": "tpu"})
    for stem in ("fashionpedia-spinenet-143", "fashionpedia-r50-fpn"):
        server.serve(f"/{stem}.tar.gz", make_tar(tmp_path / f"{stem}.tar.gz", checkpoint_members(stem)).read_bytes())
    server.serve("/facere_plus.onnx", ONNX[::-1])
    paths.config_file().write_text(
        f'[models.facere]\nurl = "{server.url("/facere_base.onnx")}"\n'
        f'[models.facere_plus]\nurl = "{server.url("/facere_plus.onnx")}"\n'
        f'[models.amrcnn-spine]\nurl = "{server.url("/fashionpedia-spinenet-143.tar.gz")}"\n'
        f'[models.amrcnn-r50-fpn]\nurl = "{server.url("/fashionpedia-r50-fpn.tar.gz")}"\n'
        f'[sources.tpu]\nurl = "{tmp_path / "tpu"}"\ncommit = "{pin}"\n')
    assert main(["fetch", "all", "--json"]) == 2
    finals = [e for e in events(capsys.readouterr().out) if e["event"] != "progress"]
    assert [(e["event"], e.get("model")) for e in finals] == [
        ("done", "amrcnn-spine"), ("done", "amrcnn-r50-fpn"), ("error", "fformer-swin"),
        ("error", "fformer-r50-fpn"), ("done", "facere"), ("done", "facere+"), ("error", None)]
    assert finals[-1]["message"] == "2 of 6 models not fetched: fformer-swin, fformer-r50-fpn (see above)"
    assert (paths.sources_dir() / "tpu" / "README").exists()
