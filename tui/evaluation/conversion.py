"""Predictions in the app's conventions -> COCO results, the way the original `convert_preds_to_coco` writes them.

Boxes xyxy -> xywh with the width and height subtracted in the file's own float type (float32, as the
original's torch tensor; float64 files stay float64), then each value `round(float(v), 1)`; mask counts
as text; categories 0..26 only (COCOeval is told to look at no others); image ids looked up by file
name; detections ordered as the original sorts them (image file, then score, both descending, ties
in the file's order), so `COCO.loadRes` numbers them alike. Unlike the original, images the
annotation file lacks are set aside and reported instead of stopping the run.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from tui.catalog import FASHIONFAIL_CATEGORY_IDS
from tui.errors import UserError
from tui.evaluation.ground_truth import GroundTruth
from tui.predictions import ImagePredictions
from tui.predictions.rle import InvalidMask, check_masks, checked

_EVALUATED = frozenset(FASHIONFAIL_CATEGORY_IDS)


@dataclass(frozen=True)
class CocoResults:
    detections: list[dict]
    not_in_annotations: tuple[str, ...]
    not_in_predictions: tuple[str, ...]


def xyxy_to_xywh(boxes: np.ndarray) -> list[list[float]]:
    """[N, 4] xyxy -> xywh lists as the original: `x2 - x1` in the array's own dtype, then round(float(v), 1)."""
    boxes = np.asarray(boxes).reshape(-1, 4)
    xywh = boxes.copy()
    xywh[:, 2:] = boxes[:, 2:] - boxes[:, :2]
    return [[round(v, 1) for v in row] for row in xywh.tolist()]


class _Image(NamedTuple):
    """One image's detections, as ImagePredictions has them, with its masks fetched one at a time."""
    image_file: str
    boxes: np.ndarray
    category_ids: np.ndarray
    scores: np.ndarray
    rle: Callable[[int], dict | None]


def _images(images: Iterable[ImagePredictions]) -> Iterator[_Image]:
    """The images, straight from a loaded file's columns where they come from one (no mask is built
    that is not converted), else as given."""
    columns = getattr(images, "columns", None)
    if columns is None:
        for image in images:
            yield _Image(image.image_file, image.boxes, image.category_ids, image.scores,
                         lambda i, masks=image.masks: masks[i] if i < len(masks) else None)
        return
    offsets = columns.image_offsets.tolist()
    for position, name in enumerate(columns.image_names.tolist()):
        start, end = offsets[position], offsets[position + 1]
        yield _Image(name, columns.boxes[start:end], columns.classes[start:end], columns.scores[start:end],
                     lambda i, start=start: columns.rle(start + i))


def _mask_result(image: _Image, index: int, expected_size: tuple[int, int]) -> dict:
    rle = image.rle(index)
    if rle is None:
        raise UserError(f"{image.image_file}: detection {index} has no mask, so masks cannot be evaluated",
                        hint="use --iou bbox")
    size = tuple(int(v) for v in rle["size"])
    if size != expected_size:
        raise UserError(f"{image.image_file}: a mask is {size[1]}x{size[0]} pixels but the annotation file "
                        f"says the image is {expected_size[1]}x{expected_size[0]}")
    counts = rle["counts"]
    return {"size": list(size), "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def _all_masks_valid(images) -> bool:
    """Whether every mask of a loaded file's columns decodes (tui.predictions.rle.check_masks), checked in
    one pass over its bytes; False also when `images` is no loaded file's (then each mask is checked)."""
    columns = getattr(images, "columns", None)
    if columns is None:
        return False
    try:
        check_masks(columns.mask_sizes, columns.mask_offsets, columns.mask_counts, runs=True)
    except InvalidMask:
        return False  # the detections evaluated are checked one by one, to name the first bad one
    return True


def to_coco_results(images: Iterable[ImagePredictions], truth: GroundTruth, iou_type: str) -> CocoResults:
    detections: list[tuple[str, dict]] = []
    masks_of: list[tuple[str, int]] = []  # (image, detection) of each segmentation, for errors
    predicted: set[str] = set()
    not_in_annotations: list[str] = []
    for image in _images(images):
        name = posixpath.basename(image.image_file)
        image_id = truth.image_ids.get(name)
        if image_id is None:
            not_in_annotations.append(name)
            continue
        predicted.add(name)
        size = truth.image_size(image_id)
        kept = [i for i, category in enumerate(image.category_ids.tolist()) if category in _EVALUATED]
        boxes = xyxy_to_xywh(image.boxes[kept])
        scores = image.scores[kept].tolist()
        nan = next((index for index, score in zip(kept, scores) if score != score), None)
        if nan is not None:  # COCOeval cannot rank it (faster-coco-eval refuses it)
            raise UserError(f"{image.image_file}: detection {nan} has a score that is not a number (NaN)")
        for index, box, score in zip(kept, boxes, scores):
            detection = {"image_id": image_id, "category_id": int(image.category_ids[index]), "bbox": box,
                         "score": score}
            if iou_type == "segm":
                detection["segmentation"] = _mask_result(image, index, size)
                masks_of.append((name, index))
            detections.append((name, detection))
    order = sorted(range(len(detections)), key=lambda i: (detections[i][0], detections[i][1]["score"]), reverse=True)
    masks_of = [masks_of[i] for i in order] if masks_of else masks_of
    detections = [detections[i][1] for i in order]
    if iou_type == "segm" and not _all_masks_valid(images):
        try:  # what pycocotools will read, all masks at once
            checked([d["segmentation"] for d in detections])
        except InvalidMask as exc:
            name, index = masks_of[exc.row]
            raise UserError(f"{name}: detection {index}'s mask is not a valid RLE: {exc.reason}") from None
    not_in_predictions = sorted(name for name in truth.image_ids if name not in predicted)
    return CocoResults(detections, tuple(sorted(set(not_in_annotations))), tuple(not_in_predictions))
