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
from tui.errors import UserError, described
from tui.predictions.rle import MAX_PIXELS, InvalidMask, check_masks, compressed_counts, runs_of, size_of
from tui.units import human_size

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
    """float32 or float64 [D, 4] (see file_float_dtype); xyxy pixels once normalized, the file's layout in RawColumns."""
    classes: np.ndarray
    """int64 [D]; category ids 0..45 once normalized, the file's class numbers in RawColumns."""
    scores: np.ndarray
    """float32 or float64 [D] (see file_float_dtype)."""
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


def _numbers(values) -> np.ndarray:
    """A record's boxes or scores as numbers in the file's own type: float32 and float64 as stored
    (the paper's conversion computes in the stored type), any other numbers as float64."""
    array = np.asarray(values)
    if array.dtype == np.float32 or array.dtype == np.float64:
        return array
    return np.asarray(array, dtype=np.float64)


def file_float_dtype(arrays: list[np.ndarray]) -> type:
    """float32 when every non-empty record stores float32, else float64: a float64 file stays float64,
    as the paper's code keeps it (an empty record's dtype says nothing: writers default it to float64)."""
    return np.float32 if all(a.dtype == np.float32 for a in arrays if a.size) else np.float64


def decode_mask(rle: dict) -> np.ndarray:
    """A pycocotools RLE as a bool [h, w] array, checked first and built with numpy (pycocotools' own
    decode writes as many pixels as the runs say). UserError for a malformed RLE."""
    runs = runs_of(rle)
    height, width = (int(v) for v in rle["size"])
    values = np.arange(runs.size) % 2 == 1
    return np.repeat(values, runs).reshape(width, height).T


def mask_area(rle: dict) -> int:
    """Pixels in the mask, from its runs (checked, as decode_mask does), without decoding it."""
    return int(runs_of(rle)[1::2].sum())


def basename(image_file) -> str:
    """`images/test/x.jpg` -> `x.jpg` (amrcnn keeps tar member paths; the original loader's split('/')[1] is wrong)."""
    if isinstance(image_file, bytes):  # TensorFlow hands file names over as bytes
        image_file = image_file.decode("utf-8", "replace")
    return str(image_file).replace("\\", "/").rsplit("/", 1)[-1]


def _record_error(index: int, message: str) -> UserError:
    return UserError(f"image record {index}: {message}")


def mask_error(image_offsets: np.ndarray, row: int, reason: str) -> UserError:
    """The error for detection `row`'s mask, naming its image record and its place there."""
    image = int(np.searchsorted(image_offsets, row, "right")) - 1
    return _record_error(image, f"mask {row - int(image_offsets[image])} is not a valid RLE: {reason}")


_DETECTION_BYTES = 16 + 8 + 4 + 8 + 8
"""What one detection takes in the columns: box, class, score, mask size and offset (float32 box and score)."""


class _Allowance:
    """The bytes the columns may take (see safe_pickle.expansion_limit), counted as records are read:
    records that share arrays or mask strings through the pickle's memo cost what copying them would."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0

    def spend(self, nbytes: int) -> None:
        self.used += nbytes
        if self.used > self.limit:
            raise UserError(f"refused to load: its records would take more than {human_size(self.limit)}, far more "
                            "than the file holds (they share data through the pickle's memo; the file may be hostile)")


def records_to_columns(records, *, limit: int, on_progress: Callable[[float], None] | None = None,
                       release: bool = False, mask_runs: bool = False) -> RawColumns:
    """One pass over the file's per-image dicts, keeping values as stored.

    UserError for malformed records, for a mask of the wrong size or form (rle.check_masks; with
    `mask_runs` its runs too, else they are checked where a mask is used), and once the columns
    would take more than `limit` bytes. With `release`, each entry of `records` (a list or object
    array the caller gives up) is set to None once read, so the dicts are freed while the columns
    grow instead of both being held (the mask bytes are copied image by image for the same reason).
    """
    count = len(records)
    allowance = _Allowance(limit)
    allowance.spend(8 * (count + 1))
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
            keys = ", ".join(repr(key)[:40] for key in list(record)[:10])
            raise _record_error(index, f"lacks {', '.join(missing)} (has {keys or 'no keys'})")
        try:
            box = _numbers(record["boxes"]).reshape(-1, 4)
            cls = np.asarray(record["classes"]).reshape(-1)
            score = _numbers(record["scores"]).reshape(-1)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _record_error(index, f"boxes, classes or scores are not numeric arrays ({described(exc)})") from None
        if not (len(box) == len(cls) == len(score)):
            raise _record_error(index, f"{len(box)} boxes, {len(cls)} classes and {len(score)} scores")
        allowance.spend(len(score) * (_DETECTION_BYTES + 4 * (box.itemsize - 4) + score.itemsize - 4))
        if cls.dtype.kind == "f" and np.all(np.mod(cls, 1) == 0):
            cls = cls.astype(np.int64)
        elif cls.dtype.kind not in "iu":
            raise _record_error(index, f"classes are not integers ({cls.dtype})")
        elif classes_dtype is None and cls.size:
            classes_dtype = cls.dtype.name
        masks = _masks_of(record, len(score), index)
        if masks:
            sizes, image_counts = _mask_columns(masks, index)
            lengths = list(map(len, image_counts))
            if 0 in lengths:
                raise _record_error(index, "masks are not pycocotools RLEs (a mask's counts are empty)")
            allowance.spend(sum(lengths))
            size_rows.append(sizes)
            mask_bytes += b"".join(image_counts)
            mask_lengths.extend(lengths)
        else:
            size_rows.append(np.zeros((len(score), 2), dtype=np.int32))
            mask_lengths.extend([0] * len(score))
        has_attributes = has_attributes or "attributes" in record
        names.append(_image_name(record["image_file"], index))
        boxes.append(box)
        classes.append(cls.astype(np.int64, copy=False))
        scores.append(score)
        if release:
            records[index] = None
        if on_progress is not None and index % step == 0:
            on_progress(index / max(count, 1))
    allowance.spend(4 * max(map(len, names), default=0) * len(names))
    mask_offsets = np.zeros(len(mask_lengths) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(mask_lengths, dtype=np.int64), out=mask_offsets[1:])
    image_offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum([len(s) for s in scores], out=image_offsets[1:])
    mask_sizes = np.concatenate(size_rows) if size_rows else np.zeros((0, 2), np.int32)
    mask_counts = np.frombuffer(mask_bytes, dtype=np.uint8)
    try:
        check_masks(mask_sizes, mask_offsets, mask_counts, runs=mask_runs)
    except InvalidMask as exc:
        raise mask_error(image_offsets, exc.row, exc.reason) from None
    return RawColumns(
        image_names=np.array(names, dtype=str) if names else np.zeros(0, dtype="<U1"),
        image_offsets=image_offsets,
        boxes=np.concatenate(boxes, dtype=file_float_dtype(boxes)) if boxes else np.zeros((0, 4), np.float32),
        classes=np.concatenate(classes) if classes else np.zeros(0, np.int64),
        scores=np.concatenate(scores, dtype=file_float_dtype(scores)) if scores else np.zeros(0, np.float32),
        mask_sizes=mask_sizes,
        mask_offsets=mask_offsets,
        mask_counts=mask_counts,
        has_attributes=has_attributes,
        classes_dtype=classes_dtype or "int64",
    )


def _masks_of(record: dict, detections: int, index: int) -> list:
    """The record's masks as a list: empty when it has none, else one per detection."""
    masks = record.get("masks")
    if masks is None:
        return []
    try:
        if len(masks) not in (0, detections):
            raise _record_error(index, f"{len(masks)} masks for {detections} detections")
        return list(masks)
    except TypeError:
        raise _record_error(index, f"masks are a {type(masks).__name__}, not a list of RLEs") from None


def _mask_columns(masks: list, index: int) -> tuple[np.ndarray, list[bytes]]:
    """Sizes int32 [N, 2] and counts strings of one record's RLEs; their content is checked later,
    all masks at once (check_masks)."""
    try:
        sizes = list(map(_size_of, masks))
        counts = list(map(_counts_of, masks))
        try:  # a model's masks share their image's size: one to convert
            shared = sizes.count(sizes[0]) == len(sizes)
        except ValueError:  # sizes as numpy arrays compare element-wise
            shared = False
        size_array = np.asarray(sizes[:1] if shared else sizes)
    except (KeyError, TypeError, ValueError) as exc:
        raise _record_error(index, f"masks are not pycocotools RLEs ({described(exc)})") from None
    if size_array.ndim != 2 or size_array.shape[1] != 2 or size_array.dtype.kind not in "iu" or \
            (size_array < 0).any() or (size_array > MAX_PIXELS).any():
        raise _record_error(index, "masks are not pycocotools RLEs (a size is not two non-negative integers)")
    size_array = np.broadcast_to(size_array.astype(np.int32), (len(masks), 2))
    if not all(map(bytes.__instancecheck__, counts)):
        try:
            counts = [compressed_counts(c, size_of(s)) for c, s in zip(counts, size_array.tolist())]
        except InvalidMask as exc:
            raise _record_error(index, f"masks are not pycocotools RLEs ({exc.reason})") from None
    return size_array, counts


def _image_name(image_file, index: int) -> str:
    if not isinstance(image_file, (str, bytes)):
        raise _record_error(index, f"image_file is a {type(image_file).__name__}, not a file name")
    return basename(image_file)
