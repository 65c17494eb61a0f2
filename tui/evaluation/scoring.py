"""COCOeval on categories 0..26, then the paper's weighted metrics and the error counts.

The weighted metrics follow the original `compute_map_weighted`: for each weighted category, the
mean of COCOeval's precision (all IoUs and recall steps, area all, 100 detections) or recall, times
the category's weight, summed. COCOeval writes -1 for a category with no annotated object; those
cells are left out of every mean here, and a category with nothing left contributes 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tui.catalog import FASHIONFAIL_CATEGORY_IDS, category_name
from tui.errors import UserError
from tui.evaluation.conversion import to_coco_results
from tui.evaluation.curves import figures
from tui.evaluation.ground_truth import GroundTruth
from tui.evaluation.quiet import quietly
from tui.evaluation.results import CategoryResult, Evaluation, ImageErrors
from tui.predictions import ImagePredictions

MATCHING_IOU = 0.5
"""The IoU at which TP/FP/FN are counted and failure cases matched."""

ProgressCallback = Callable[[float], None]
"""The share (0..1) of COCOeval's per-image steps done."""


class _ReportingCOCOeval(COCOeval):
    """pycocotools' own COCOeval, counting its per-image steps for a progress bar."""

    def __init__(self, gt: COCO, dt: COCO, iou_type: str, on_progress: ProgressCallback | None):
        super().__init__(gt, dt, iou_type)
        self._on_progress = on_progress
        self._done = 0
        self._reported = -1

    def _step(self) -> None:
        if self._on_progress is None:
            return
        self._done += 1
        steps = max(len(self.params.imgIds) * len(self.params.catIds) * (1 + len(self.params.areaRng)), 1)
        percent = self._done * 100 // steps
        if percent != self._reported:
            self._reported = percent
            self._on_progress(self._done / steps)

    def computeIoU(self, imgId, catId):  # noqa: N802 - pycocotools' name
        ious = super().computeIoU(imgId, catId)
        self._step()
        return ious

    def evaluateImg(self, imgId, catId, aRng, maxDet):  # noqa: N802 - pycocotools' name
        result = super().evaluateImg(imgId, catId, aRng, maxDet)
        self._step()
        return result


def _load_results(truth: GroundTruth, detections: list[dict]) -> COCO:
    """COCO.loadRes, which cannot take an empty list: no detections is a valid (if poor) result."""
    if detections:
        return truth.coco.loadRes(detections)
    empty = COCO()
    empty.dataset = {"images": truth.coco.dataset["images"], "categories": truth.coco.dataset["categories"],
                     "annotations": []}
    empty.createIndex()
    return empty


def run_cocoeval(truth: GroundTruth, detections: list[dict], iou_type: str,
                 on_progress: ProgressCallback | None = None, *, matching_only: bool = False) -> COCOeval:
    """evaluate() and accumulate() over every annotated image, categories 0..26, pycocotools' chatter hidden.

    With `matching_only`, only evaluate() at MATCHING_IOU, area all, 100 detections: the matches, no curves.
    """
    with quietly():
        evaluator = _ReportingCOCOeval(truth.coco, _load_results(truth, detections), iou_type, on_progress)
        params = evaluator.params
        params.catIds = list(FASHIONFAIL_CATEGORY_IDS)
        if matching_only:
            params.iouThrs = np.array([MATCHING_IOU])
            params.areaRng = [params.areaRng[params.areaRngLbl.index("all")]]
            params.areaRngLbl = ["all"]
            params.maxDets = [max(params.maxDets)]
        evaluator.evaluate()
        if not matching_only:
            evaluator.accumulate()
    return evaluator


def _mean(cells: np.ndarray) -> float | None:
    kept = cells[cells > -1]
    return float(kept.mean()) if kept.size else None


class _Indices:
    """Where the paper's settings sit in COCOeval's arrays, looked up rather than assumed."""

    def __init__(self, params):
        self.iou50 = int(np.flatnonzero(np.isclose(params.iouThrs, MATCHING_IOU))[0])
        self.iou75 = int(np.flatnonzero(np.isclose(params.iouThrs, 0.75))[0])
        self.area_all = params.areaRngLbl.index("all")
        self.top1 = params.maxDets.index(1)
        self.top100 = params.maxDets.index(100)
        self.category = {c: k for k, c in enumerate(params.catIds)}


@dataclass(frozen=True)
class CellMatches:
    """One image and category of COCOeval's matching at IoU 0.5, area all; ignored objects and detections left out."""
    image_id: int
    category_id: int
    found: tuple[int, ...]
    """Annotation ids a detection was matched to."""
    missed: tuple[int, ...]
    """Annotation ids no detection was matched to."""
    true_positives: int
    false_positives: int


def matches_at_iou50(evaluator: COCOeval) -> Iterator[CellMatches]:
    """COCOeval's own matches (greedy by score, best IoU first) at IoU 0.5, one per image and category it saw."""
    params = evaluator.params
    at_iou = int(np.flatnonzero(np.isclose(params.iouThrs, MATCHING_IOU))[0])
    all_area = params.areaRng[params.areaRngLbl.index("all")]
    for entry in evaluator.evalImgs:
        if entry is None or list(entry["aRng"]) != list(all_area):
            continue
        kept = ~np.asarray(entry["dtIgnore"][at_iou], dtype=bool)
        matched = np.asarray(entry["dtMatches"][at_iou]) > 0
        gt_kept = np.asarray(entry["gtIgnore"]) == 0
        gt_found = np.asarray(entry["gtMatches"][at_iou]) > 0
        gt_ids = np.asarray(entry["gtIds"], dtype=np.int64)
        yield CellMatches(
            image_id=int(entry["image_id"]), category_id=int(entry["category_id"]),
            found=tuple(gt_ids[gt_found & gt_kept].tolist()), missed=tuple(gt_ids[~gt_found & gt_kept].tolist()),
            true_positives=int(np.count_nonzero(matched & kept)), false_positives=int(np.count_nonzero(~matched & kept)),
        )


def _count_errors(evaluator: COCOeval):
    """TP/FP/FN per category and FP/missed per image at IoU 0.5, from COCOeval's own matches."""
    per_category = {c: [0, 0, 0, 0] for c in evaluator.params.catIds}  # tp, fp, fn, annotated
    per_image: dict[int, list[int]] = {}
    for cell in matches_at_iou50(evaluator):
        counts = per_category[cell.category_id]
        counts[0] += cell.true_positives
        counts[1] += cell.false_positives
        counts[2] += len(cell.missed)
        counts[3] += len(cell.found) + len(cell.missed)
        image = per_image.setdefault(cell.image_id, [0, 0])
        image[0] += cell.false_positives
        image[1] += len(cell.missed)
    return per_category, per_image


def summarize(evaluator: COCOeval, truth: GroundTruth) -> tuple[dict[str, float], list[CategoryResult], list[ImageErrors]]:
    """The weighted metrics, per-category results and per-image errors of an accumulated COCOeval."""
    at = _Indices(evaluator.params)
    precision = evaluator.eval["precision"][:, :, :, at.area_all, at.top100]  # [T, R, K]
    recall = evaluator.eval["recall"][:, :, at.area_all, :]  # [T, K, M]
    counts, per_image = _count_errors(evaluator)

    categories = []
    weighted = dict.fromkeys(("mAP_w", "mAP_w50", "mAP_w75", "mAR_w1", "mAR_w100"), 0.0)
    for category_id in evaluator.params.catIds:
        k = at.category[category_id]
        weight = truth.weights.get(category_id, 0.0)
        values = {
            "mAP_w": _mean(precision[:, :, k]),
            "mAP_w50": _mean(precision[at.iou50, :, k]),
            "mAP_w75": _mean(precision[at.iou75, :, k]),
            "mAR_w1": _mean(recall[:, k, at.top1]),
            "mAR_w100": _mean(recall[:, k, at.top100]),
        }
        for key, value in values.items():
            weighted[key] += weight * (value or 0.0)
        tp, fp, fn, annotated = counts[category_id]
        categories.append(CategoryResult(
            category_id=int(category_id), name=category_name(category_id), weight=weight,
            ap=values["mAP_w"], ap50=values["mAP_w50"], ap75=values["mAP_w75"],
            true_positives=tp, false_positives=fp, false_negatives=fn, annotated=annotated,
        ))
    images = [ImageErrors(truth.file_name(image_id), fp, missed)
              for image_id, (fp, missed) in per_image.items() if fp or missed]
    return weighted, categories, sorted(images, key=lambda e: e.image_file)


def evaluate_predictions(images: Sequence[ImagePredictions], truth: GroundTruth, iou_type: str, *,
                         file: str = "", model: str = "", on_progress: ProgressCallback | None = None) -> Evaluation:
    """One prediction set against one annotation file, for `bbox` or `segm`."""
    if iou_type == "segm" and not truth.has_masks:
        raise UserError(f"annotation file {truth.path}: not every annotation has a segmentation, "
                        "so masks cannot be evaluated", hint="use --iou bbox")
    try:
        results = to_coco_results(images, truth, iou_type)
    except UserError as exc:
        raise UserError(f"{file}: {exc}" if file else str(exc), hint=exc.hint) from None
    evaluator = run_cocoeval(truth, results.detections, iou_type, on_progress)
    weighted, categories, image_errors = summarize(evaluator, truth)
    curve, calibrated = figures(evaluator, truth.weights)
    return Evaluation(
        file=file, annotations=str(truth.path), iou_type=iou_type, **weighted,
        per_category=tuple(categories), image_errors=tuple(image_errors),
        images_evaluated=len(evaluator.params.imgIds), detections=len(results.detections),
        not_in_annotations=results.not_in_annotations, not_in_predictions=results.not_in_predictions, model=model,
        pr_curve=curve, calibration=calibrated,
    )
