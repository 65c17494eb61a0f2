"""The app's own outputs are read through the restricted reader too: `run`'s check of an existing
output and `compare`'s reuse check read `meta` without numpy's loader, so a header that announces
1 TiB is a refusal (run) or "not reusable" (compare), never a MemoryError."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from prediction_files import facere_records, object_array

from tests.helpers.images import write_image
from tests.helpers.onnx_models import build_maskrcnn_like
from tui import catalog
from tui.commands import main
from tui.comparison.outputs import finished_output
from tui.config import Config
from tui.predictions.formats import read_meta
from tui.runs.request import RunRequest

TIB_OF_FLOATS = (1 << 37,)


def npy_announcing(shape: tuple, descr: str = "<f8", body: bytes = b"\0" * 64) -> bytes:
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": descr, "fortran_order": False, "shape": shape})
    return stream.getvalue() + body


def write_output(path: Path, meta_npy: bytes) -> Path:
    """A prediction file like our runners' whose meta.npy is `meta_npy`."""
    data = io.BytesIO()
    np.lib.format.write_array(data, object_array(facere_records()), allow_pickle=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.npy", data.getvalue())
        archive.writestr("meta.npy", meta_npy)
    return path


HOSTILE_META = {
    "a header announcing 1 TiB": npy_announcing(TIB_OF_FLOATS),
    "a string array announcing 1 TiB": npy_announcing((1 << 38,), "<U1"),
    "a pickle in meta": npy_announcing((), "|O", b"cos\nsystem\n(S'touch /tmp/pwned-meta'\ntR."),
    "a truncated header": b"\x93NUMPY\x01\x00\xff\xff{'descr'",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_META))
def test_the_reuse_check_reads_a_hostile_meta_as_no_meta(tmp_path, case):
    output = write_output(tmp_path / "out" / "facere.npz", HOSTILE_META[case])
    assert read_meta(output) is None
    images = tmp_path / "images"
    write_image(images / "a.jpg")
    request = RunRequest(catalog.get("facere"), images, output.parent, model_file=tmp_path / "m.onnx")
    assert finished_output(request, Config()) is False


def test_the_reuse_check_still_reads_a_good_meta(tmp_path):
    stream = io.BytesIO()
    np.lib.format.write_array(stream, np.array(json.dumps({"model": "facere", "finished": True})))
    assert read_meta(write_output(tmp_path / "facere.npz", stream.getvalue())) == {"model": "facere", "finished": True}


@pytest.mark.parametrize("case", sorted(HOSTILE_META))
def test_run_refuses_an_existing_output_with_a_hostile_meta_in_one_line(tmp_path, capsys, case):
    build_maskrcnn_like(tmp_path / "m.onnx", detections=1)
    write_image(tmp_path / "images" / "0.jpg")
    output = write_output(tmp_path / "out" / "facere.npz", HOSTILE_META[case])
    kept = output.read_bytes()
    code = main(["run", "facere", "--images", str(tmp_path / "images"), "--out", str(tmp_path / "out"),
                 "--model-file", str(tmp_path / "m.onnx")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "is not a prediction file of this app's runs" in err and "unexpected" not in err
    assert output.read_bytes() == kept
    assert not Path("/tmp/pwned-meta").exists()
