"""Files that must not load: hostile pickles (and their code never runs), truncated, empty, foreign, malformed."""

import os
import pickle

import numpy as np
import pytest

import prediction_files as pf
from tui.errors import UserError
from tui.predictions import load_predictions


class _RunsCode:
    """Unpickling this calls `function(*arguments)`."""

    def __init__(self, function, *arguments):
        self.function, self.arguments = function, arguments

    def __reduce__(self):
        return self.function, self.arguments


def _touch_command(marker) -> str:
    return f"touch {marker}"


HOSTILE = {
    "os.system": lambda marker: _RunsCode(os.system, _touch_command(marker)),
    "builtins.exec": lambda marker: _RunsCode(exec, f"open({str(marker)!r}, 'w').close()"),
    "builtins.open": lambda marker: _RunsCode(open, str(marker), "w"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("container", ["npy", "npz", "nested"])
def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, name, container):
    marker = tmp_path / "pwned"
    payload = HOSTILE[name](marker)
    if container == "nested":  # hidden inside an otherwise normal record
        records = pf.facere_records()
        records[0]["masks"][0]["counts"] = payload
        data = pickle.dumps(pf.object_array(records), protocol=3)
        shape = (2,)
    else:
        data, shape = pickle.dumps(pf.object_array([payload]), protocol=3), (1,)
    npy = pf.npy_bytes_with_pickle(data, shape)
    path = tmp_path / f"hostile.{'npy' if container == 'npy' else 'npz'}"
    if container == "npy":
        path.write_bytes(npy)
    else:
        pf.write_zip(path, {"data.npy": npy})
    with pytest.raises(UserError, match=r"refused to load: its pickle asks for (posix|os|builtins|nt|io)\."):
        load_predictions(path)
    assert not marker.exists()


def test_the_meta_array_goes_through_the_same_unpickler(tmp_path):
    marker = tmp_path / "pwned"
    meta = pf.npy_bytes_with_pickle(pickle.dumps(pf.object_array([HOSTILE["os.system"](marker)]), protocol=3))
    good = pf.npy_bytes_with_pickle(pickle.dumps(pf.object_array(pf.facere_records()), protocol=3), (2,))
    path = pf.write_zip(tmp_path / "p.npz", {"data.npy": good, "meta.npy": meta})
    with pytest.raises(UserError, match="refused"):
        load_predictions(path)
    assert not marker.exists()


def test_a_truncated_zip_is_a_one_line_error(tmp_path):
    path = pf.write_npz(tmp_path / "p.npz", pf.facere_records())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r"is a truncated or damaged \.npz \(its zip directory is missing\)"):
        load_predictions(path)


def test_a_truncated_npy_is_a_one_line_error(tmp_path):
    path = pf.write_amrcnn(tmp_path / "p.npy", pf.amrcnn_records())
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(UserError, match="truncated"):
        load_predictions(path)


def test_a_corrupted_member_fails_its_checksum(tmp_path):
    path = pf.write_zip(tmp_path / "p.npz", {"data.npy": pf.numpy1_npy_bytes(pf.object_array(pf.facere_records()))})
    data = bytearray(path.read_bytes())
    data[60] ^= 0xFF  # inside the deflated member
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="truncated or corrupt|malformed"):
        load_predictions(path)


@pytest.mark.parametrize("write, reason", [
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: p.write_text("image,score\nx.jpg,0.5\n"), "neither a .npz nor a .npy"),
    (lambda p: np.savez(p, x=np.arange(3), y=np.ones(2)), r"no 'data' array \(it has x, y\)"),
    (lambda p: pf.write_zip(p, {"readme.txt": b"hello"}), "without .npy arrays"),
    (lambda p: pf.write_npz(p, pf.facere_records(), extra=np.ones(1)) and None, None),
], ids=["empty", "text", "foreign-npz", "foreign-zip", "extra-keys-are-fine"])
def test_empty_and_foreign_files(tmp_path, write, reason):
    path = tmp_path / "file.npz"
    write(path)
    if path.with_suffix(".npz.npz").exists():
        path = path.with_suffix(".npz.npz")
    if reason is None:
        assert len(load_predictions(path)) == 2
        return
    with pytest.raises(UserError, match=reason):
        load_predictions(path)


@pytest.mark.parametrize("data, reason", [
    (np.arange(6.0), "holds float64 values, not per-image prediction records"),
    (pf.object_array([1, 2]), "image record 0: is a int"),
    (pf.object_array([{"image": "x.jpg", "boxes": []}]), "image record 0: lacks image_file, classes, scores"),
    (pf.object_array([{"image_file": "x.jpg", "boxes": np.zeros((2, 4)), "classes": np.array([1]),
                       "scores": np.array([0.5, 0.4])}]), "2 boxes, 1 classes and 2 scores"),
    (pf.object_array([{"image_file": "x.jpg", "boxes": "oops", "classes": [], "scores": []}]), "not numeric"),
    (pf.object_array([{"image_file": "x.jpg", "boxes": np.zeros((1, 4)), "classes": np.array([3]),
                       "scores": np.array([0.5]), "masks": [{"size": [4, 4]}]}]), "masks are not pycocotools RLEs"),
], ids=["numbers", "ints", "wrong-keys", "lengths", "boxes", "masks"])
def test_arrays_that_are_not_records(tmp_path, data, reason):
    path = tmp_path / "p.npz"
    np.savez_compressed(path, data=data)
    with pytest.raises(UserError, match=reason):
        load_predictions(path)


def test_classes_outside_the_family_suggest_an_override(tmp_path):
    records = pf.fformer_records()
    records[0]["classes"] = np.array([0, 46], dtype=np.int32)
    with pytest.raises(UserError, match="class 46 does not fit fformer ") as caught:
        load_predictions(pf.write_npz(tmp_path / "p.npz", records))
    assert caught.value.hint.startswith("choose the family with --family (")  # the CLI's way; the app has its own


def test_a_missing_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_predictions(tmp_path / "nope.npz")


def _lying_rle():
    """The runs of a 100x100 mask under a 4x4 size: pycocotools' decode would write past the mask."""
    full = pf.rle(0, 0, 100, 100, height=100, width=100)
    return {"size": [4, 4], "counts": full["counts"]}


@pytest.mark.parametrize("rle, reason", [
    ({"size": [4, 4], "counts": b"\x01\x02garbage"}, "characters outside pycocotools' alphabet"),
    ({"size": [4, 4], "counts": b"0P"}, "end inside a number"),  # P: '0' + 0x20, "more follows"
    ({"size": [0, 4], "counts": b"0"}, "size is not two positive numbers"),
], ids=["not-an-rle", "cut-short", "no-height"])
def test_masks_of_the_wrong_form_are_refused_when_the_file_is_read(tmp_path, rle, reason):
    records = pf.facere_records()
    records[0]["masks"][1] = rle
    with pytest.raises(UserError, match=f"image record 0: mask 1 is not a valid RLE: .*{reason}"):
        load_predictions(pf.write_npz(tmp_path / "p.npz", records), family="facere")  # no sampling of masks


def test_runs_that_lie_are_refused_where_the_masks_are_used(tmp_path):
    """Runs are decoded where a mask is used (too slow for every mask of a large file at once)."""
    records = pf.facere_records()
    records[0]["masks"][1] = _lying_rle()
    path = pf.write_npz(tmp_path / "p.npz", records)
    with pytest.raises(UserError, match="image record 0: mask 1 is not a valid RLE: a run is negative or longer"):
        load_predictions(path)  # detecting the family measures the masks
    predictions = load_predictions(path, family="facere")
    assert predictions.images[0].mask(0).sum() > 0
    with pytest.raises(UserError, match="a mask is not a valid RLE: a run is negative or longer"):
        predictions.images[0].mask(1)


def test_arrays_read_back_pickle_as_plain_numpy_for_a_merge(tmp_path):
    """What the restricted unpickler builds is written again by `merge`: it must name only numpy."""
    from tui.predictions.safe_pickle import read_arrays

    stored = read_arrays(pf.write_npz(tmp_path / "p.npz", pf.facere_records()))
    again = pickle.dumps(list(stored.arrays["data"]), protocol=3)
    assert b"tui" not in again
    assert stored.payload_bytes > 0
