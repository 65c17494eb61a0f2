"""COCOeval on categories 0..26, then the paper's weighted metrics and the error counts, as its code has them.

The weighted metrics are the original `compute_map_weighted`'s: for each weighted category, in id
order, weight x `np.nanmean` of COCOeval's precision (all IoUs and recall steps, area all, 100
detections) or recall, summed. COCOeval writes -1 for a category with no annotated object, and
`np.nanmean` takes those cells in: a weighted category whose objects are all crowd (`iscrowd=1`)
lowers every metric by its weight. Such categories are named in `Evaluation.warnings`; the
corrected means (`corrected`: -1 cells left out, such a category adds nothing) are kept beside.

TP/FP/FN are the original COCOeval2's: at IoU 0.5, area all, 100 detections, from COCOeval's own
matches, and a category with no annotated object is skipped before counting (`npig == 0`), so its
detections are no false positives. The same holds for the per-image counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tui.catalog import category_name
from tui.errors import UserError
from tui.evaluation.conversion import CocoResults, to_coco_results
from tui.evaluation.engines import (
    DEFAULT_ENGINE, MATCHING_IOU, CellMatches, EngineRun, ProgressCallback, run_engine,
)
from tui.evaluation.ground_truth import GroundTruth
from tui.evaluation.results import CategoryResult, Evaluation, ImageErrors
from tui.predictions import ImagePredictions

__all__ = ["MATCHING_IOU", "CellMatches", "counted_cells", "evaluate_predictions", "run_cocoeval", "summarize"]


def run_cocoeval(truth: GroundTruth, detections: list[dict], iou_type: str,
                 on_progress: ProgressCallback | None = None, *, matching_only: bool = False,
                 engine: str = DEFAULT_ENGINE) -> EngineRun:
    """evaluate() and accumulate() over every annotated image, categories 0..26 (see tui.evaluation.engines).

    With `matching_only`, only the matches at MATCHING_IOU, area all, 100 detections: no curves.
    """
    return run_engine(truth.coco, detections, iou_type, engine, on_progress, matching_only=matching_only)


def counted_cells(run: EngineRun) -> Iterator[CellMatches]:
    """The matches the paper counts: those of categories with at least one annotated object."""
    annotated = run.annotated_categories()
    return (cell for cell in run.cells if cell.category_id in annotated)


def _kept_mean(cells) -> float | None:
    """print_per_class_metrics' AP: the mean of the cells that are not -1; None when all are."""
    kept = cells[cells > -1]
    return float(kept.mean()) if kept.size else None


def _index(values: Sequence[float], wanted: float) -> int:
    return min(range(len(values)), key=lambda i: abs(values[i] - wanted))


def summarize(run: EngineRun, truth: GroundTruth) -> tuple[dict[str, float], dict[str, float], list[CategoryResult],
                                                           list[ImageErrors], tuple[int, ...]]:
    """(the paper's weighted metrics, the corrected ones, per-category results, per-image errors,
    weighted categories whose cells are -1) of an accumulated run."""
    import numpy as np

    area_all = run.area_labels.index("all")
    top1, top100 = run.max_dets.index(1), run.max_dets.index(100)
    iou50, iou75 = _index(run.iou_thrs, MATCHING_IOU), _index(run.iou_thrs, 0.75)
    position = {c: k for k, c in enumerate(run.cat_ids)}
    annotated = run.annotated_categories()

    def cells(k: int) -> dict:
        return {
            "mAP_w": run.precision[:, :, k, area_all, top100],
            "mAP_w50": run.precision[iou50, :, k, area_all, top100],
            "mAP_w75": run.precision[iou75, :, k, area_all, top100],
            "mAR_w1": run.recall[:, k, area_all, top1],
            "mAR_w100": run.recall[:, k, area_all, top100],
        }

    keys = ("mAP_w", "mAP_w50", "mAP_w75", "mAR_w1", "mAR_w100")
    paper, corrected = dict.fromkeys(keys, 0), dict.fromkeys(keys, 0.0)
    empty = []
    for category_id in sorted(truth.weights):  # compute_map_weighted's order: its weights dict's
        weight = truth.weights[category_id]
        values = cells(position[category_id])
        if weight and any(bool((v == -1).any()) for v in values.values()):
            empty.append(category_id)
        for key, value in values.items():
            paper[key] += weight * np.nanmean(value)
            corrected[key] += weight * (_kept_mean(value) or 0.0)
    paper = {key: float(value) for key, value in paper.items()}

    counts = {c: [0, 0, 0, 0] for c in run.cat_ids}  # tp, fp, fn, annotated
    per_image: dict[int, list[int]] = {}
    for cell in counted_cells(run):
        tally = counts[cell.category_id]
        tally[0] += cell.true_positives
        tally[1] += cell.false_positives
        tally[2] += len(cell.missed)
        tally[3] += len(cell.found) + len(cell.missed)
        image = per_image.setdefault(cell.image_id, [0, 0])
        image[0] += cell.false_positives
        image[1] += len(cell.missed)
    unscored = dict.fromkeys(run.cat_ids, 0)
    for cell in run.cells:
        if cell.category_id not in annotated:
            unscored[cell.category_id] += len(cell.detection_ids)

    categories = []
    for category_id in run.cat_ids:
        k = position[category_id]
        values = cells(k)
        tp, fp, fn, objects = counts[category_id]
        categories.append(CategoryResult(
            category_id=int(category_id), name=category_name(category_id), weight=truth.weights.get(category_id, 0.0),
            ap=_kept_mean(values["mAP_w"]), ap50=_kept_mean(values["mAP_w50"]), ap75=_kept_mean(values["mAP_w75"]),
            true_positives=tp, false_positives=fp, false_negatives=fn, annotated=objects,
            not_counted=unscored[category_id],
        ))
    images = [ImageErrors(truth.file_name(image_id), fp, missed)
              for image_id, (fp, missed) in per_image.items() if fp or missed]
    return paper, corrected, categories, sorted(images, key=lambda e: e.image_file), tuple(empty)


def empty_category_warning(categories: Sequence[int], weights: dict[int, float]) -> str:
    """The warning for weighted categories whose COCOeval cells are -1 (no annotated object, only crowd)."""
    named = ", ".join(f"{category_name(c)} ({weights.get(c, 0.0):.3f})" for c in categories)
    total = sum(weights.get(c, 0.0) for c in categories)
    return (f"weighted categories with no annotated object (only crowd): {named}; the paper's formula takes their "
            f"-1 cells into its means, which lowers every weighted metric by {total:.3f} "
            "(--corrected-means leaves them out)")


def evaluate_predictions(images: Sequence[ImagePredictions], truth: GroundTruth, iou_type: str, *,
                         file: str = "", model: str = "", on_progress: ProgressCallback | None = None,
                         engine: str = DEFAULT_ENGINE, results: CocoResults | None = None) -> Evaluation:
    """One prediction set against one annotation file, for `bbox` or `segm`.

    `results`: the images already converted (with masks, they serve boxes too), else they are converted here."""
    if iou_type == "segm" and not truth.has_masks:
        raise UserError(f"annotation file {truth.path}: not every annotation has a segmentation, "
                        "so masks cannot be evaluated", hint="use --iou bbox")
    try:
        results = results or to_coco_results(images, truth, iou_type)
    except UserError as exc:
        raise UserError(f"{file}: {exc}" if file else str(exc), hint=exc.hint) from None
    run = run_cocoeval(truth, results.detections, iou_type, on_progress, engine=engine)
    weighted, corrected, categories, image_errors, empty = summarize(run, truth)
    return Evaluation(
        file=file, annotations=str(truth.path), iou_type=iou_type, **weighted,
        per_category=tuple(categories), image_errors=tuple(image_errors),
        images_evaluated=len(run.img_ids), detections=len(results.detections),
        not_in_annotations=results.not_in_annotations, not_in_predictions=results.not_in_predictions, model=model,
        corrected=corrected, empty_weighted_categories=empty,
        warnings=(empty_category_warning(empty, truth.weights),) if empty else (),
    )
