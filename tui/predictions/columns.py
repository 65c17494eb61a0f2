"""Predictions as flat columns: one array per field for all detections, plus per-image offsets.

A file's list of per-image dicts becomes `RawColumns` in one pass (values as the file stores
them), conventions turn it into `Columns` (xyxy boxes, category ids), and `Columns` is what the
cache index stores: plain arrays, no pickle, masks kept as concatenated RLE bytes.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass, fields
from operator import itemgetter

import numpy as np
from pycocotools import mask as mask_utils

from tui.errors import UserError

REQUIRED_KEYS = ("image_file", "boxes", "classes", "scores")
_counts_of = itemgetter("counts")
_size_of = itemgetter("size")


@dataclass
class Columns:
    """Every detection of a file, image after image; image i owns rows image_offsets[i]:image_offsets[i+1]."""

    image_names: np.ndarray
    """str [I], basenames."""
    image_offsets: np.ndarray
    """int64 [I+1]."""
    boxes: np.ndarray
    """float32 [D, 4]; xyxy pixels once normalized, the file's layout in RawColumns."""
    classes: np.ndarray
    """int64 [D]; category ids 0..45 once normalized, the file's class numbers in RawColumns."""
    scores: np.ndarray
    """float32 [D]."""
    mask_sizes: np.ndarray
    """int32 [D, 2], (height, width); (0, 0) where a detection has no mask."""
    mask_offsets: np.ndarray
    """int64 [D+1] into mask_counts; an empty span means no mask."""
    mask_counts: np.ndarray
    """uint8 [bytes], the pycocotools compressed RLE strings of all masks, concatenated."""

    @property
    def detection_counts(self) -> np.ndarray:
        return np.diff(self.image_offsets)

    def rle(self, row: int) -> dict | None:
        """The pycocotools RLE of detection `row`, None when it has no mask."""
        start, end = self.mask_offsets[row], self.mask_offsets[row + 1]
        if start == end:
            return None
        height, width = self.mask_sizes[row]
        return {"size": [int(height), int(width)], "counts": self.mask_counts[start:end].tobytes()}

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_arrays(cls, arrays) -> Columns:
        return cls(**{f.name: arrays[f.name] for f in fields(cls)})


@dataclass
class RawColumns(Columns):
    has_attributes: bool = False
    """Whether the records carry amrcnn's `attributes`."""
    classes_dtype: str = "int64"
    """The dtype the file stored classes in (fformer writes int32)."""


def rle_runs(counts: bytes) -> np.ndarray:
    """The run lengths a pycocotools compressed RLE string encodes (its rleFrString, vectorized).

    Each run is a little-endian base-32 number in characters '0'+0..63, 0x20 marking "more
    follows" and 0x10 the sign of the last chunk; from the third run on, a run is stored as the
    difference to the run two before it.
    """
    chunks = np.frombuffer(bytes(counts), dtype=np.uint8).astype(np.int64) - 48
    if not chunks.size:
        return chunks
    if chunks.min() < 0 or chunks.max() > 63:
        raise ValueError("it holds characters outside an RLE string's alphabet")
    ends = (chunks & 0x20) == 0
    if not ends[-1]:
        raise ValueError("it ends inside a number")
    starts = np.flatnonzero(np.concatenate(([True], ends[:-1])))
    position = np.arange(chunks.size) - np.repeat(starts, np.diff(np.append(starts, chunks.size)))
    if position.max() > 6:
        raise ValueError("a run is longer than any image")
    values = np.add.reduceat((chunks & 0x1F) << (5 * position), starts)
    negative = (chunks[ends] & 0x10) != 0
    values[negative] |= np.left_shift(-1, 5 * (position[ends][negative] + 1))
    runs = values.copy()
    runs[1::2] = np.cumsum(values[1::2])
    runs[2::2] = np.cumsum(values[2::2])
    return runs


def decode_mask(rle: dict) -> np.ndarray:
    """A pycocotools RLE as a bool [h, w] array, checked first.

    pycocotools' own decode writes as many pixels as the runs say, past the end of the mask when a
    file lies about them; these come from files, so the runs are checked against the size here and
    the mask is built with numpy. UserError for a malformed RLE.
    """
    height, width = (int(v) for v in rle["size"])
    runs = checked_runs(rle)
    values = np.arange(runs.size) % 2 == 1
    return np.repeat(values, runs).reshape(width, height).T


def checked_runs(rle: dict) -> np.ndarray:
    """The RLE's run lengths (background first, column-major), checked to cover its size exactly; UserError if not."""
    height, width = (int(v) for v in rle["size"])
    try:
        runs = rle_runs(rle["counts"])
    except (ValueError, TypeError, IndexError) as exc:
        raise UserError(f"a mask is not a valid RLE ({exc})") from None
    if height < 0 or width < 0 or (runs < 0).any() or int(runs.sum()) != height * width:
        raise UserError(f"a mask's runs do not cover its {height}x{width} pixels: the file is corrupt")
    return runs


def mask_area(rle: dict) -> int:
    """Pixels in the mask, from its runs (checked, as decode_mask does), without decoding it."""
    return int(checked_runs(rle)[1::2].sum())


def basename(image_file) -> str:
    """`images/test/x.jpg` -> `x.jpg` (amrcnn keeps tar member paths; the original loader's split('/')[1] is wrong)."""
    if isinstance(image_file, bytes):  # TensorFlow hands file names over as bytes
        image_file = image_file.decode("utf-8", "replace")
    return str(image_file).replace("\\", "/").rsplit("/", 1)[-1]


def _counts_bytes(counts, size) -> bytes:
    """Compressed RLE bytes whatever the file stored: bytes, str, or an uncompressed list of runs."""
    if isinstance(counts, bytes):
        return counts
    if isinstance(counts, str):
        return counts.encode("ascii")
    if isinstance(counts, (list, tuple, np.ndarray)):
        height, width = (int(v) for v in size)
        return mask_utils.frPyObjects({"size": [height, width], "counts": list(counts)}, height, width)["counts"]
    raise TypeError(f"mask counts of type {type(counts).__name__}")


def _record_error(index: int, message: str) -> UserError:
    return UserError(f"image record {index}: {message}")


def records_to_columns(records, on_progress: Callable[[float], None] | None = None, release: bool = False) -> RawColumns:
    """One pass over the file's per-image dicts, keeping values as stored. UserError for malformed records.

    With `release`, each entry of `records` (a list or object array the caller gives up) is set to
    None once read, so the dicts are freed while the columns grow instead of both being held (the
    mask bytes are copied image by image for the same reason).
    """
    count = len(records)
    names, boxes, classes, scores = [], [], [], []
    mask_bytes = bytearray()
    mask_lengths = array("q")
    size_rows: list[np.ndarray] = []
    has_attributes = False
    classes_dtype = None
    step = max(count // 50, 1)
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise _record_error(index, f"is a {type(record).__name__}, not a dict of predictions")
        missing = [key for key in REQUIRED_KEYS if key not in record]
        if missing:
            raise _record_error(index, f"lacks {', '.join(missing)} (has {', '.join(map(str, record)) or 'no keys'})")
        try:
            box = np.asarray(record["boxes"], dtype=np.float32).reshape(-1, 4)
            cls = np.asarray(record["classes"]).reshape(-1)
            score = np.asarray(record["scores"], dtype=np.float32).reshape(-1)
        except (ValueError, TypeError) as exc:
            raise _record_error(index, f"boxes, classes or scores are not numeric arrays ({exc})") from None
        if not (len(box) == len(cls) == len(score)):
            raise _record_error(index, f"{len(box)} boxes, {len(cls)} classes and {len(score)} scores")
        if cls.dtype.kind == "f" and np.all(np.mod(cls, 1) == 0):
            cls = cls.astype(np.int64)
        elif cls.dtype.kind not in "iu":
            raise _record_error(index, f"classes are not integers ({cls.dtype})")
        elif classes_dtype is None and cls.size:
            classes_dtype = cls.dtype.name
        masks = record.get("masks")
        masks = [] if masks is None else list(masks)
        if masks and len(masks) != len(score):
            raise _record_error(index, f"{len(masks)} masks for {len(score)} detections")
        try:
            sizes = list(map(_size_of, masks))
            image_counts = list(map(_counts_of, masks))
            try:
                joined = b"".join(image_counts)
            except TypeError:
                image_counts = [_counts_bytes(c, s) for c, s in zip(image_counts, sizes)]
                joined = b"".join(image_counts)
        except (KeyError, TypeError, ValueError) as exc:
            raise _record_error(index, f"masks are not pycocotools RLEs ({type(exc).__name__}: {exc})") from None
        if masks:
            if sizes.count(sizes[0]) == len(sizes):
                size_rows.append(np.broadcast_to(np.asarray(sizes[0], dtype=np.int32).reshape(1, 2), (len(sizes), 2)))
            else:
                size_rows.append(np.asarray(sizes, dtype=np.int32).reshape(-1, 2))
            mask_bytes += joined
            mask_lengths.extend(map(len, image_counts))
        else:
            size_rows.append(np.zeros((len(score), 2), dtype=np.int32))
            mask_lengths.extend([0] * len(score))
        has_attributes = has_attributes or "attributes" in record
        names.append(basename(record["image_file"]))
        boxes.append(box)
        classes.append(cls.astype(np.int64, copy=False))
        scores.append(score)
        if release:
            records[index] = None
        if on_progress is not None and index % step == 0:
            on_progress(index / max(count, 1))
    mask_offsets = np.zeros(len(mask_lengths) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(mask_lengths, dtype=np.int64), out=mask_offsets[1:])
    image_offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum([len(s) for s in scores], out=image_offsets[1:])
    return RawColumns(
        image_names=np.array(names, dtype=str) if names else np.zeros(0, dtype="<U1"),
        image_offsets=image_offsets,
        boxes=np.concatenate(boxes) if boxes else np.zeros((0, 4), np.float32),
        classes=np.concatenate(classes) if classes else np.zeros(0, np.int64),
        scores=np.concatenate(scores) if scores else np.zeros(0, np.float32),
        mask_sizes=np.ascontiguousarray(np.concatenate(size_rows)) if size_rows else np.zeros((0, 2), np.int32),
        mask_offsets=mask_offsets,
        mask_counts=np.frombuffer(mask_bytes, dtype=np.uint8),
        has_attributes=has_attributes,
        classes_dtype=classes_dtype or "int64",
    )
