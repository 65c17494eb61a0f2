"""A prediction file exported for other tools: COCO results (what `COCO.loadRes` takes) or CSV.

The COCO results are exactly the detections `eval` scores (tui.evaluation.conversion): image ids
from the annotation file by file name, xywh boxes, categories 0..26, masks as RLE with text counts
when every detection has one. Scoring the export with pycocotools therefore gives what `eval` gives.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tui.catalog import category_name
from tui.errors import UserError
from tui.evaluation.conversion import to_coco_results
from tui.evaluation.ground_truth import GroundTruth
from tui.files import json_text, replaced_atomically
from tui.predictions import PredictionSet
from tui.predictions.columns import mask_area
from tui.text import csv_cell

FORMATS = ("coco", "csv")
CSV_HEADER = ("image", "model", "category_id", "category", "score", "x1", "y1", "x2", "y2", "mask_area")


@dataclass(frozen=True)
class Exported:
    path: Path
    detections: int
    images: int
    with_masks: bool
    notes: tuple[str, ...] = ()
    """What was left out, in words."""


def _every_detection_has_a_mask(predictions: PredictionSet) -> bool:
    return bool(np.all(np.diff(predictions.columns.mask_offsets) > 0))


def coco_results(predictions: PredictionSet, truth: GroundTruth) -> tuple[list[dict], bool, list[str]]:
    """(results list, whether it has masks, notes on what was left out)."""
    with_masks = _every_detection_has_a_mask(predictions)
    results = to_coco_results(predictions.images, truth, "segm" if with_masks else "bbox")
    notes = []
    if not with_masks and len(predictions.columns.scores):
        notes.append("some detections have no mask, so only boxes are exported")
    left_out = set(results.not_in_annotations)
    on_annotated = sum(count for name, count in zip(predictions.image_names, predictions.detection_counts.tolist())
                       if name not in left_out)
    if on_annotated > len(results.detections):
        notes.append(f"{on_annotated - len(results.detections)} detection(s) of categories outside 0..26 left out "
                     "(eval does not score them)")
    if results.not_in_annotations:
        notes.append(f"{len(results.not_in_annotations)} image(s) not in {truth.path.name} left out")
    return results.detections, with_masks, notes


def _number(value) -> str:
    """The shortest text that reads back as the same float32."""
    return np.format_float_positional(np.float32(value), trim="-")


def csv_rows(predictions: PredictionSet):
    """One row per detection, every category, in the file's order (see CSV_HEADER); text cells through
    `csv_cell`, so none starts a spreadsheet formula."""
    model = csv_cell(predictions.model or predictions.family)
    for image in predictions.images:
        for row in range(len(image)):
            rle = image.masks[row] if row < len(image.masks) else None
            category = int(image.category_ids[row])
            yield [csv_cell(image.image_file), model, category, csv_cell(category_name(category)), _number(image.scores[row]),
                   *(_number(v) for v in image.boxes[row]), "" if rle is None else mask_area(rle)]


def check_target(out: Path, overwrite: bool) -> Path:
    """`out` expanded, its folder made; UserError when it is a folder, or exists and `overwrite` is not set."""
    out = Path(out).expanduser()
    if out.is_dir():
        raise UserError(f"{out} is a folder; give a file name for --out")
    if out.exists() and not overwrite:
        raise UserError(f"{out} exists; pass --overwrite to replace it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the folder {out.parent} ({exc.strerror or exc})") from None
    return out


def export(predictions: PredictionSet, fmt: str, out: Path, truth: GroundTruth | None = None,
           overwrite: bool = False) -> Exported:
    """Write `predictions` as `fmt` (coco needs `truth`) to `out`, atomically; UserError for anything wrong."""
    if fmt == "coco" and truth is None:
        raise UserError("a COCO export needs the annotation file (--anns)")
    out = check_target(out, overwrite)
    try:
        if fmt == "coco":
            detections, with_masks, notes = coco_results(predictions, truth)
            with replaced_atomically(out) as handle:
                handle.write(json_text(detections))
            return Exported(out, len(detections), len({d["image_id"] for d in detections}), with_masks, tuple(notes))
        with replaced_atomically(out, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_HEADER)
            writer.writerows(csv_rows(predictions))
        return Exported(out, len(predictions.columns.scores), len(predictions.images),
                        _every_detection_has_a_mask(predictions))
    except OSError as exc:
        raise UserError(f"cannot write {out} ({exc.strerror or exc})") from None
    except UserError as exc:
        raise UserError(f"{predictions.path}: {exc}", hint=exc.hint) from None
