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

from tui import catalog, paths
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


def test_manual_model_without_from_clones_its_tree_then_says_what_is_still_needed(tmp_path, capsys):
    pin = commit(tmp_path / "ff", {"README.md": "x"})
    paths.config_file().write_text(f'[sources.FashionFormer]\nurl = "{tmp_path / "ff"}"\ncommit = "{pin}"\n')
    tree = paths.sources_dir() / "FashionFormer"
    assert main(["fetch", "fformer-r50-fpn"]) == 1  # not a failure: what can be fetched is
    captured = capsys.readouterr()
    assert captured.out == "" and "error" not in captured.err
    assert captured.err.splitlines()[-1] == (
        f"fformer-r50-fpn: source tree FashionFormer is ready at {tree}; still needed: fformer-r50-fpn has no "
        f"direct download: get fashionformer_r50_3x.pth from {catalog.get('fformer-r50-fpn').weights.manual_from}"
        f"; then import it with: fashionfail-tui fetch fformer-r50-fpn --from PATH/fashionformer_r50_3x.pth")
    assert (tree / "README.md").read_text() == "x"

    assert main(["doctor", "fformer-r50-fpn", "--json"]) == 1
    gaps = [g["what"] for g in json.loads(capsys.readouterr().out)["models"][0]["gaps"]]
    assert not [g for g in gaps if "source tree" in g] and [g for g in gaps if g.startswith("checkpoint")]

    assert main(["fetch", "fformer-swin", "--json"]) == 1
    last = events(capsys.readouterr().out)[-1]
    assert last["event"] == "incomplete" and last["model"] == "fformer-swin"
    assert last["message"].startswith(f"source tree FashionFormer is ready at {tree}; still needed:")


def test_manual_model_whose_tree_cannot_be_cloned_names_both_in_one_line(tmp_path, capsys):
    paths.config_file().write_text(f'[sources.FashionFormer]\nurl = "{tmp_path / "nowhere"}"\n')
    assert main(["fetch", "fformer-r50-fpn"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"fashionfail-tui: error: git clone of {tmp_path / 'nowhere'} failed")
    assert "the checkpoint is still needed too" in err and "https://1drv.ms/" in err and "fashionformer_r50_3x.pth" in err
    assert not (paths.sources_dir() / "FashionFormer").exists()


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
    ff_pin = commit(tmp_path / "ff", {"README.md": "ff"})
    for stem in ("fashionpedia-spinenet-143", "fashionpedia-r50-fpn"):
        server.serve(f"/{stem}.tar.gz", make_tar(tmp_path / f"{stem}.tar.gz", checkpoint_members(stem)).read_bytes())
    settings = (f'[models.facere]\nurl = "{server.url("/facere_base.onnx")}"\n'
                f'[models.facere_plus]\nurl = "{server.url("/facere_plus.onnx")}"\n'
                f'[models.amrcnn-spine]\nurl = "{server.url("/fashionpedia-spinenet-143.tar.gz")}"\n'
                f'[models.amrcnn-r50-fpn]\nurl = "{server.url("/fashionpedia-r50-fpn.tar.gz")}"\n'
                f'[sources.tpu]\nurl = "{tmp_path / "tpu"}"\ncommit = "{pin}"\n'
                f'[sources.FashionFormer]\nurl = "{tmp_path / "ff"}"\ncommit = "{ff_pin}"\n')
    paths.config_file().write_text(settings)
    assert main(["fetch", "all", "--json"]) == 2  # facere+ is not on the server
    finals = [e for e in events(capsys.readouterr().out) if e["event"] != "progress"]
    assert [(e["event"], e.get("model")) for e in finals] == [
        ("done", "amrcnn-spine"), ("done", "amrcnn-r50-fpn"), ("incomplete", "fformer-swin"),
        ("incomplete", "fformer-r50-fpn"), ("done", "facere"), ("error", "facere+"), ("error", None)]
    assert finals[-1]["message"] == ("1 of 6 models not fetched: facere+; 2 of 6 models still need a checkpoint "
                                     "imported by hand: fformer-swin, fformer-r50-fpn (see above)")
    assert (paths.sources_dir() / "tpu" / "README").exists()
    assert (paths.sources_dir() / "FashionFormer" / "README.md").exists()

    server.serve("/facere_plus.onnx", ONNX[::-1])  # only the hand imports are left: exit status 1
    assert main(["fetch", "all"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == \
        "2 of 6 models still need a checkpoint imported by hand: fformer-swin, fformer-r50-fpn (see above)"
