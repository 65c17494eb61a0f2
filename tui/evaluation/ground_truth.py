"""A COCO annotation file, checked once, with the paper's class weights.

The weights are what the original `calculate_class_frequencies` computes: for each of the 22
weighted categories, the number of annotated images holding it, divided by the sum of those numbers
over the 22 (a frequency, although the paper's text calls it inverse-frequency).
"""

from __future__ import annotations

import math
import posixpath
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from tui.catalog import WEIGHTED_CATEGORY_IDS
from tui.errors import UserError
from tui.evaluation.quiet import quietly
from tui.predictions.rle import MAX_PIXELS, InvalidMask, checked, size_of

_ANNOTATION_KEYS = ("id", "image_id", "category_id", "bbox", "area", "iscrowd")
_IMAGE_KEYS = ("id", "file_name", "height", "width")
_MAX_COORDINATE = 1 << 20
"""Polygon coordinates beyond this (in pixels) overflow rleFrPoly's C ints once scaled."""
_POLYGON_SCALE = 5
"""rleFrPoly traces outlines at five times the pixel resolution."""
_MAX_OUTLINE_POINTS = 1 << 22
"""The most outline points one polygon may make rleFrPoly allocate (4 x 16 bytes each)."""


@dataclass
class GroundTruth:
    path: Path
    coco: COCO
    image_ids: dict[str, int]
    """Image basename -> COCO image id."""
    weights: dict[int, float]
    """Category id -> the paper's weight, for the 22 weighted categories."""
    has_masks: bool

    def image_size(self, image_id: int) -> tuple[int, int]:
        image = self.coco.imgs[image_id]
        return int(image["height"]), int(image["width"])

    def file_name(self, image_id: int) -> str:
        return posixpath.basename(str(self.coco.imgs[image_id]["file_name"]))


def _bad(path: Path, message: str) -> UserError:
    return UserError(f"annotation file {path}: {message}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check(path: Path, dataset) -> None:
    """Everything pycocotools will read, checked first: its C code trusts image sizes, polygons and RLEs."""
    if not isinstance(dataset, dict):
        raise _bad(path, "is not a COCO annotation file (the top level is not an object)")
    for key in ("images", "annotations", "categories"):
        if not isinstance(dataset.get(key), list):
            raise _bad(path, f"is not a COCO annotation file (no '{key}' list)")
    for index, image in enumerate(dataset["images"]):
        missing = [k for k in _IMAGE_KEYS if not isinstance(image, dict) or k not in image]
        if missing:
            raise _bad(path, f"images[{index}] lacks {', '.join(missing)}")
        try:
            size_of((image["height"], image["width"]))
        except InvalidMask:
            raise _bad(path, f"images[{index}] has a height and width that are not two positive integers "
                             f"within {MAX_PIXELS:,} pixels") from None
    rles, owners = [], []
    for index, annotation in enumerate(dataset["annotations"]):
        missing = [k for k in _ANNOTATION_KEYS if not isinstance(annotation, dict) or k not in annotation]
        if missing:
            raise _bad(path, f"annotations[{index}] lacks {', '.join(missing)}")
        box = annotation["bbox"]
        if not (isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box)):
            raise _bad(path, f"annotations[{index}] has a bbox that is not [x, y, w, h]")
        if not (_is_number(annotation["area"]) and _is_number(annotation["iscrowd"])):
            raise _bad(path, f"annotations[{index}] has an area or iscrowd that is not a number")
        if "segmentation" not in annotation:  # box-only annotations: masks are then refused where compared
            continue
        segmentation = annotation["segmentation"]
        if isinstance(segmentation, dict) and {"size", "counts"} <= set(segmentation):
            rles.append(segmentation)
            owners.append(index)
        elif isinstance(segmentation, list):
            problem = _polygons_problem(segmentation)
            if problem:
                raise _bad(path, f"annotations[{index}] has polygons that {problem}")
        else:
            raise _bad(path, f"annotations[{index}] has a segmentation that is neither polygons nor an RLE")
    try:
        checked(rles)
    except InvalidMask as exc:
        raise _bad(path, f"annotations[{owners[exc.row]}] has a segmentation that is not a valid RLE: {exc.reason}") from None


def _polygons_problem(polygons: list) -> str | None:
    """Why pycocotools' rleFrPoly could not take these polygons safely (it casts coordinates to C
    ints and allocates a point per pixel of their outline); None when it can."""
    if not polygons:
        return "are an empty list"
    for polygon in polygons:
        if not isinstance(polygon, list) or len(polygon) < 6 or len(polygon) % 2:
            return "are not lists of at least three x, y points"
        if not all(_is_number(v) for v in polygon):
            return "hold a coordinate that is not a finite number"
        points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        if np.abs(points).max() > _MAX_COORDINATE:
            return f"reach beyond {_MAX_COORDINATE:,} pixels"
        steps = np.abs(np.diff(points, axis=0, append=points[:1])).max(axis=1)
        if _POLYGON_SCALE * steps.sum() + len(points) > _MAX_OUTLINE_POINTS:
            return "have an outline longer than any image's"
    return None


def class_weights(coco: COCO) -> dict[int, float]:
    """Each weighted category's share of the images, as the original code computes it."""
    counts = {c: len(coco.getImgIds(catIds=[c])) for c in WEIGHTED_CATEGORY_IDS}
    total = sum(counts.values())
    if total == 0:
        return {}
    return {c: n / total for c, n in counts.items()}


def load_ground_truth(path: Path) -> GroundTruth:
    """Read and check a COCO annotation file; UserError with one line for anything wrong."""
    from tui import annotation_schema

    path = Path(path)
    try:
        dataset = annotation_schema.read_json(path)
    except FileNotFoundError:
        raise _bad(path, "does not exist") from None
    except IsADirectoryError:
        raise _bad(path, "is a folder, not a file") from None
    except annotation_schema.BadJson as exc:
        raise _bad(path, f"{exc}" if str(exc).startswith(("is ", "nested")) else f"cannot be read as JSON ({exc})") \
            from None
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror or exc})") from None
    _check(path, dataset)
    try:
        annotation_schema.check(dataset)
    except annotation_schema.InvalidAnnotations as exc:
        raise _bad(path, str(exc)) from None
    coco = COCO()
    coco.dataset = dataset
    with quietly():
        coco.createIndex()
    weights = class_weights(coco)
    if not weights:
        raise _bad(path, "has no annotation of the 22 categories the paper weights")
    image_ids = {posixpath.basename(str(image["file_name"])): image["id"] for image in dataset["images"]}
    has_masks = all("segmentation" in a for a in dataset["annotations"])
    return GroundTruth(path, coco, image_ids, weights, has_masks)
