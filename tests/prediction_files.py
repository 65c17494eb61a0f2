"""Prediction files written the way each original script (and our runner) writes them.

Writing object arrays needs pickle; these helpers are the trusted side. The app only ever reads
them through the restricted unpickler.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

HEIGHT, WIDTH = 60, 80


def rle(top: int, left: int, bottom: int, right: int, height: int = HEIGHT, width: int = WIDTH) -> dict:
    """The RLE of a filled rectangle rows top:bottom, columns left:right."""
    mask = np.zeros((height, width), dtype=np.uint8, order="F")
    mask[top:bottom, left:right] = 1
    encoded = mask_utils.encode(mask)
    return {"size": [int(v) for v in encoded["size"]], "counts": encoded["counts"]}


# Two images: the first with two detections (rectangles given as top, left, bottom, right), the second with none.
RECTANGLES = [(10, 20, 30, 60), (35, 5, 55, 25)]
SCORES = np.array([0.9, 0.3], dtype=np.float32)
CATEGORIES = [31, 6]  # sleeve, pants


def _record(image_file, boxes, classes, masks=True, **extra) -> dict:
    record = {
        "image_file": image_file,
        "boxes": np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        "classes": classes,
        "scores": SCORES[: len(classes)].copy(),
        "masks": [rle(*r) for r in RECTANGLES[: len(classes)]] if masks else [],
    }
    record.update(extra)
    return record


def _yxyx() -> list:
    return [[t, l, b, r] for t, l, b, r in RECTANGLES]


def _xyxy() -> list:
    return [[l, t, r, b] for t, l, b, r in RECTANGLES]


def facere_records(image_prefix: str = "") -> list[dict]:
    """facere: yxyx boxes, int64 classes = category + 1."""
    return [
        _record(f"{image_prefix}shirt.jpg", _yxyx(), np.array([c + 1 for c in CATEGORIES], dtype=np.int64)),
        _record(f"{image_prefix}empty.jpg", np.zeros((0, 4)), np.zeros(0, dtype=np.int64)),
    ]


def facere_plus_records() -> list[dict]:
    """facere+: yxyx, classes 1..22 index the 22 weighted FashionFail categories (class 2 -> 1 top, 6 -> 6 pants)."""
    return [
        _record("shirt.jpg", _yxyx(), np.array([2, 6], dtype=np.int64)),
        _record("empty.jpg", np.zeros((0, 4)), np.zeros(0, dtype=np.int64)),
    ]


def fformer_records() -> list[dict]:
    """fformer: xyxy boxes (from the masks), int32 classes = category."""
    return [
        _record("shirt.jpg", _xyxy(), np.array(CATEGORIES, dtype=np.int32)),
        _record("empty.jpg", np.zeros((0, 4)), np.zeros(0, dtype=np.int32)),
    ]


def amrcnn_records() -> list[dict]:
    """amrcnn: yxyx, classes = category + 1, attributes [N, 294], tar member paths as image_file."""
    rng = np.random.default_rng(0)
    records = facere_records(image_prefix="images/test/")
    for record in records:
        record["attributes"] = rng.uniform(size=(len(record["scores"]), 294)).astype(np.float32)
    return records


def object_array(records: list) -> np.ndarray:
    array = np.empty(len(records), dtype=object)
    array[:] = records
    return array


def write_npz(path: Path, records: list, **extra) -> Path:
    """What facere and fformer do: np.savez_compressed(path, data=preds)."""
    np.savez_compressed(path, data=records, **extra)
    return path


def write_ours(path: Path, records: list, **meta) -> Path:
    """Our runner: data plus a JSON `meta` string."""
    np.savez_compressed(path, data=object_array(records), meta=json.dumps(meta))
    return path


def write_amrcnn(path: Path, records: list) -> Path:
    """What the amrcnn script does: np.save of the object array."""
    np.save(path, object_array(records))
    return path


def numpy1_npy_bytes(array: np.ndarray) -> bytes:
    """An object array as numpy 1.x wrote it: pickle protocol 3, globals under numpy.core."""
    payload = pickle.dumps(array, protocol=3).replace(b"cnumpy._core.", b"cnumpy.core.")
    assert b"numpy.core.multiarray" in payload
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": array.shape})
    return header.getvalue() + payload


def npy_bytes_with_pickle(payload: bytes, shape=(1,)) -> bytes:
    """A .npy object-array header followed by an arbitrary pickle."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": shape})
    return header.getvalue() + payload


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
