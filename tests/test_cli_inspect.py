"""`fashionfail-tui inspect`: what a user sees for good files, and one line plus exit 2 for bad ones."""

import json
import pickle
import re

import pytest

import prediction_files as pf
from tui import paths
from tui.commands import main
from tui.predictions import load_predictions


def inspect_json(capsys, *argv):
    code = main(["inspect", *argv, "--json"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name, write, family", [
    ("facere.npz", lambda p: pf.write_npz(p, pf.facere_records()), "facere"),
    ("fformer.npz", lambda p: pf.write_npz(p, pf.fformer_records()), "fformer"),
    ("amrcnn.npy", lambda p: pf.write_amrcnn(p, pf.amrcnn_records()), "amrcnn"),
])
def test_json_summary_of_each_family(tmp_path, capsys, name, write, family):
    path = write(tmp_path / name)
    code, out, _ = inspect_json(capsys, str(path))
    assert code == 0
    summary = json.loads(out)
    assert summary["family"] == family and summary["images"] == 2 and summary["detections"] == 2
    assert summary["per_category"] == {"sleeve": 1, "pants": 1}
    assert summary["images_without_detections"] == ["empty.jpg"]


def test_text_summary_and_family_override(tmp_path, capsys):
    path = pf.write_npz(tmp_path / "plus.npz", pf.facere_plus_records())
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "family facere (facere+)" in out and "2 images, 2 detections" in out and "pants" in out
    assert "1 image without detections: empty.jpg" in out
    code, out, _ = inspect_json(capsys, str(path), "--family", "facere")
    assert code == 0 and json.loads(out)["per_category"] == {"top, t-shirt, sweatshirt": 1, "vest": 1}  # class - 1


def test_inspect_writes_the_index_the_browser_reuses(tmp_path, capsys):
    path = pf.write_npz(tmp_path / "p.npz", pf.facere_records())
    assert not paths.indexes_dir().exists()
    assert inspect_json(capsys, str(path))[0] == 0
    assert len(list(paths.indexes_dir().glob("*.npz"))) == 1
    assert load_predictions(path).from_index


def _hostile(path, marker):
    class RunsCode:
        def __reduce__(self):
            import os
            return os.system, (f"touch {marker}",)

    path.write_bytes(pf.npy_bytes_with_pickle(pickle.dumps(pf.object_array([RunsCode()]), protocol=3)))


def _truncated(path, marker):
    pf.write_npz(path, pf.facere_records())
    path.write_bytes(path.read_bytes()[:300])


@pytest.mark.parametrize("write, reason", [
    (_hostile, "refused to load"),
    (_truncated, "truncated|corrupt|neither"),
    (lambda p, m: p.write_bytes(b""), "is empty"),
    (lambda p, m: pf.write_zip(p, {"x.npy": pf.numpy1_npy_bytes(pf.object_array([1]))}), "no 'data' array"),
], ids=["hostile", "truncated", "empty", "foreign"])
def test_bad_files_fail_with_one_line(tmp_path, capsys, write, reason):
    marker = tmp_path / "pwned"
    path = tmp_path / "bad.npz"
    write(path, marker)
    assert main(["inspect", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("fashionfail-tui: error:") and re.search(reason, err)
    assert not marker.exists()
    code, out, _ = inspect_json(capsys, str(path))
    assert code == 2 and json.loads(out)["event"] == "error"
