"""The figures' numbers, from an evaluation run (tui.evaluation.engines): the weighted precision-recall curves, and the
detections' scores split into true and false positives for a reliability diagram and a histogram.

PR curve: at each of COCOeval's 101 recall points, the sum over the paper's weighted categories of
weight x precision (area all, 100 detections), at IoU .50 and .75. COCOeval's -1 cells (a category
without an object that counts) stay in, as the paper's `np.nanmean` keeps them, so the curve's mean
is exactly mAP_w@.50 (or @.75) as the paper computes it.

Calibration: the detections COCOeval2 puts into `scores_tp` and `scores_fp` (IoU .50, area all, the
first 100 detections of each image and category, ignored ones left out, categories without an
object that counts skipped), in 10 score bins (low, high] as the paper's `compute_calibration` bins
them (np.digitize, right=True); the expected calibration error is the detections-weighted mean gap
between a bin's share of true positives and its mean score.
"""

from __future__ import annotations

import numpy as np

from tui.evaluation.engines import EngineRun, scores_tp_fp

CALIBRATION_BINS = 10


def _index(values, wanted: float) -> int:
    return int(np.flatnonzero(np.isclose(np.asarray(values, dtype=float), wanted))[0])


def pr_curve(run: EngineRun, weights: dict[int, float]) -> dict:
    """`{recall: [101], iou50: [101], iou75: [101]}` of an evaluation run; `weights` category id -> weight."""
    area, top = run.area_labels.index("all"), run.max_dets.index(100)
    precision = np.asarray(run.precision)[:, :, :, area, top]  # [T, R, K]
    weight = np.array([weights.get(c, 0.0) for c in run.cat_ids])
    curves = {"recall": [float(r) for r in run.rec_thrs]}
    for key, iou in (("iou50", 0.5), ("iou75", 0.75)):
        curves[key] = (precision[_index(run.iou_thrs, iou)] @ weight).tolist()  # [R, K] @ [K]
    return curves


def scored_outcomes(run: EngineRun) -> tuple[np.ndarray, np.ndarray]:
    """(scores of true positives, scores of false positives), all categories together, as COCOeval2's
    scores_tp and scores_fp hold them (tui.evaluation.engines.scores_tp_fp)."""
    per_category = scores_tp_fp(run).values()
    return (np.array([s for true, _ in per_category for s in true], dtype=float),
            np.array([s for _, false in per_category for s in false], dtype=float))


def calibration(true_scores: np.ndarray, false_scores: np.ndarray, bins: int = CALIBRATION_BINS) -> dict:
    """`{bins: [{low, high, detections, true_positives, mean_score}], ece}`; ece None without detections."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    scores = np.concatenate([true_scores, false_scores])
    is_true = np.concatenate([np.ones(len(true_scores), bool), np.zeros(len(false_scores), bool)])
    where = np.digitize(scores, edges, right=True)  # 1..bins for scores in (0, 1]; 0 (left out) for 0
    rows, gaps, total = [], 0.0, 0
    for b in range(bins):
        chosen = where == b + 1
        count = int(np.count_nonzero(chosen))
        hits = int(np.count_nonzero(is_true[chosen]))
        mean = float(scores[chosen].mean()) if count else None
        rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "detections": count,
                     "true_positives": hits, "mean_score": mean})
        if count:
            gaps += abs(hits / count - mean) * count
            total += count
    return {"bins": rows, "ece": gaps / total if total else None}


def figures(run: EngineRun, weights: dict[int, float]) -> tuple[dict, dict]:
    """(pr_curve, calibration) of an evaluation run with curves (not a matching-only one)."""
    return pr_curve(run, weights), calibration(*scored_outcomes(run))
