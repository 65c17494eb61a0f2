"""Which conventions a prediction file follows (box layout, class numbering), and normalizing to ours.

Our runners say so in the file's `meta`; the original scripts' files say nothing, so the
family is read from the content: amrcnn stores `attributes`, FashionFormer's boxes are xyxy
and its classes start at 0, Facere's are yxyx and 1-based, Facere+ uses only classes 1..22.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from tui import catalog, outside_json
from tui.catalog import CLASS_IDS, ClassIds
from tui.errors import UserError
from tui.predictions.columns import Columns, RawColumns, mask_error
from tui.predictions.rle import InvalidMask, checked

BOX_FORMATS = ("xyxy", "yxyx")
FAMILY_CHOICES = tuple(dict.fromkeys((*catalog.FAMILIES, *catalog.names())))
"""What --family accepts: a family (its first model's conventions) or any model name or alias."""
_LAYOUT_SAMPLE = 256


@dataclass(frozen=True)
class Conventions:
    family: str
    """amrcnn | fformer | facere."""
    box_format: str
    class_ids: ClassIds
    model: str | None
    """The catalog model when known (our files' meta, an override, or facere vs facere+ from the classes)."""
    source: str
    """How they were decided: meta | content | override."""

    def describe(self) -> dict:
        return {"family": self.family, "model": self.model, "box_format": self.box_format,
                "class_ids": self.class_ids.name, "detected_from": self.source}

    @classmethod
    def from_description(cls, described: dict) -> Conventions:
        """The inverse of describe(); KeyError or TypeError for anything else."""
        return cls(family=described["family"], box_format=described["box_format"],
                   class_ids=CLASS_IDS[described["class_ids"]], model=described["model"],
                   source=described["detected_from"])


def _of_model(model: catalog.Model, source: str) -> Conventions:
    return Conventions(model.family, model.box_format, model.class_ids, model.name, source)


def from_name(name: str) -> Conventions:
    """A user's --family: a family name, or a model name/alias (facere+ differs from facere in its classes)."""
    if name in catalog.FAMILIES:
        return replace(_of_model(catalog.family_models(name)[0], "override"), model=None)
    try:
        return _of_model(catalog.get(name), "override")
    except UserError:
        raise UserError(f"unknown family '{name}'; use one of {', '.join(FAMILY_CHOICES)}") from None


def parse_meta(raw: np.ndarray | None) -> dict | None:
    """Our runners' `meta`: a JSON string stored as a 0-d array. None when absent or unreadable;
    UserError when nested too deeply to read (a JSON parser would run out of stack)."""
    if raw is None:
        return None
    try:
        value = raw.item() if raw.shape == () else raw.tolist()
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        # a dict pickled in place of the string: keep what JSON can say of it
        meta = outside_json.parse(value if isinstance(value, str) else json.dumps(value, default=str))
    except outside_json.TooDeep:
        raise UserError("its meta is nested too deeply to read (the file may be hostile)") from None
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    except RecursionError:  # json.dumps of a pickled structure nested too deeply
        raise UserError("its meta is nested too deeply to read (the file may be hostile)") from None
    return meta if isinstance(meta, dict) else None


def read_meta(path: Path) -> dict | None:
    """The `meta` our runners write into a `.npz`, read through the restricted reader without reading
    the data; None when the file is absent, not a zip, has no meta or one that cannot be read (a header
    announcing more than the file holds, a pickle the reader refuses, JSON nested too deeply)."""
    from tui.predictions.safe_pickle import read_member

    try:
        return parse_meta(read_member(path, "meta"))
    except UserError:
        return None


def from_meta(meta: dict) -> Conventions | None:
    """Conventions our runner wrote down; None when the meta names no family or model we know."""
    model = None
    if isinstance(meta.get("model"), str):
        try:
            model = catalog.get(meta["model"])
        except UserError:
            model = None
    family = meta.get("family") if meta.get("family") in catalog.FAMILIES else (model.family if model else None)
    if family is None:
        return None
    fallback = model if model and model.family == family else catalog.family_models(family)[0]
    box_format = meta.get("box_format") if meta.get("box_format") in BOX_FORMATS else fallback.box_format
    class_ids = CLASS_IDS.get(meta.get("class_ids"), fallback.class_ids)
    return Conventions(family, box_format, class_ids, model.name if model else None, "meta")


def _mask_box_layout(raw: RawColumns) -> str | None:
    """xyxy or yxyx, by comparing stored boxes with the boxes of their masks; None without masks."""
    rows = np.flatnonzero(np.diff(raw.mask_offsets) > 0)[:_LAYOUT_SAMPLE]
    if not len(rows):
        return None
    try:
        bboxes = mask_utils.toBbox(checked([raw.rle(int(r)) for r in rows]))  # x, y, w, h
    except InvalidMask as exc:
        raise mask_error(raw.image_offsets, int(rows[exc.row]), exc.reason) from None
    from_masks = np.column_stack([bboxes[:, 0], bboxes[:, 1], bboxes[:, 0] + bboxes[:, 2], bboxes[:, 1] + bboxes[:, 3]])
    stored = raw.boxes[rows].astype(np.float64)
    as_xyxy = np.abs(stored - from_masks).mean()
    as_yxyx = np.abs(stored[:, [1, 0, 3, 2]] - from_masks).mean()
    if as_xyxy == as_yxyx:
        return None
    return "xyxy" if as_xyxy < as_yxyx else "yxyx"


def from_content(raw: RawColumns) -> Conventions:
    if raw.has_attributes:
        return replace(_of_model(catalog.get("amrcnn-spine"), "content"), model=None)
    layout = _mask_box_layout(raw)
    zero_based = bool(raw.classes.size) and int(raw.classes.min()) == 0
    if zero_based or layout == "xyxy" or (layout is None and raw.classes_dtype == "int32"):
        return replace(_of_model(catalog.get("fformer-swin"), "content"), model=None)
    plus = catalog.get("facere+")
    if raw.classes.size and int(raw.classes.max()) <= plus.class_ids.class_range[1]:
        return _of_model(plus, "content")
    return _of_model(catalog.get("facere"), "content")


def normalize(raw: RawColumns, conventions: Conventions) -> Columns:
    """Boxes to xyxy, class numbers to category ids; UserError when the classes do not fit the numbering."""
    boxes = raw.boxes[:, [1, 0, 3, 2]] if conventions.box_format == "yxyx" else raw.boxes
    class_ids = conventions.class_ids
    table = np.asarray(class_ids.table, dtype=np.int64)
    index = raw.classes - class_ids.offset
    outside = (index < 0) | (index >= len(table))
    if outside.any():
        bad = int(raw.classes[np.flatnonzero(outside)[0]])
        raise UserError(f"class {bad} does not fit {conventions.model or conventions.family} ({class_ids.description})",
                        hint=f"choose the family with --family ({', '.join(FAMILY_CHOICES)})")
    return Columns(
        image_names=raw.image_names, image_offsets=raw.image_offsets,
        boxes=np.ascontiguousarray(boxes, dtype=np.float32), classes=table[index],
        scores=raw.scores, mask_sizes=raw.mask_sizes, mask_offsets=raw.mask_offsets, mask_counts=raw.mask_counts,
    )
