"""COCO evaluation engines behind one result: faster-coco-eval (the default) and pycocotools (the reference).

Both run COCOeval's evaluate() and accumulate() on categories 0..26 over every annotated image, the
way the paper's `get_cocoeval` sets them up. An `EngineRun` holds what the rest of the app reads:
the precision [T, R, K, A, M] and recall [T, K, A, M] arrays (C-ordered float64, laid out as
COCOeval's own, so the paper's `np.nanmean` over their slices adds in the same order), and COCOeval's
matches at IoU 0.5, area all, 100 detections, one `CellMatches` per image and category it evaluated.

pycocotools' matches are its own `evalImgs`. faster-coco-eval keeps its per-image results in C++,
so its matches are made here from the IoUs it computed, by `evaluateImg`'s greedy rule at one
threshold (tests/test_engines.py holds the two engines equal). numpy, pycocotools and
faster_coco_eval are imported when an engine runs, not when this module is imported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from tui.catalog import FASHIONFAIL_CATEGORY_IDS

ENGINES = ("faster-coco-eval", "pycocotools")
DEFAULT_ENGINE = "pycocotools"
MATCHING_IOU = 0.5
"""The IoU at which TP/FP/FN are counted and failure cases matched (the paper's COCOeval2 iou_idx 0)."""
MAX_DETECTIONS = 100
_AREA_ALL = (0.0, 1e5 ** 2)

ProgressCallback = Callable[[float], None]
"""The share (0..1) of the evaluation done."""


@dataclass(frozen=True)
class CellMatches:
    """One image and category of COCOeval's matching at IoU 0.5, area all, 100 detections.

    Ignored detections (matched to a crowd object) and ignored objects (crowd) are left out."""
    image_id: int
    category_id: int
    detection_ids: tuple[int, ...]
    """Detections taking part, best score first (COCOeval's order: ties by detection id)."""
    detection_scores: tuple[float, ...]
    detection_matched: tuple[bool, ...]
    found: tuple[int, ...]
    """Annotation ids a detection was matched to."""
    missed: tuple[int, ...]
    """Annotation ids no detection was matched to."""

    @property
    def true_positives(self) -> int:
        return sum(self.detection_matched)

    @property
    def false_positives(self) -> int:
        return len(self.detection_matched) - self.true_positives


@dataclass
class EngineRun:
    engine: str
    iou_thrs: list[float]
    rec_thrs: list[float]
    cat_ids: list[int]
    area_labels: list[str]
    max_dets: list[int]
    img_ids: list[int]
    precision: object | None
    """float64 [T, R, K, A, M], -1 where COCOeval has no value; None for a matching-only run."""
    recall: object | None
    """float64 [T, K, A, M]."""
    cells: list[CellMatches]
    """Category by category (in cat_ids order), image by image (in img_ids order), as COCOeval's evalImgs."""

    def annotated_categories(self) -> set[int]:
        """Categories with at least one object COCOeval counts (not crowd): the paper's `npig > 0`."""
        return {c.category_id for c in self.cells if c.found or c.missed}


def _params(evaluator, matching_only: bool) -> None:
    import numpy as np

    params = evaluator.params
    params.catIds = list(FASHIONFAIL_CATEGORY_IDS)
    if matching_only:
        params.iouThrs = np.array([MATCHING_IOU])
        keep = params.areaRngLbl.index("all")
        params.areaRng = [params.areaRng[keep]]
        params.areaRngLbl = ["all"]
        params.maxDets = [max(params.maxDets)]


def _run_of(engine: str, evaluator, cells: list[CellMatches], matching_only: bool) -> EngineRun:
    import numpy as np

    params = evaluator.params
    precision = recall = None
    if not matching_only:
        precision = np.ascontiguousarray(evaluator.eval["precision"], dtype=np.float64)
        recall = np.ascontiguousarray(evaluator.eval["recall"], dtype=np.float64)
    return EngineRun(engine, [float(t) for t in params.iouThrs], [float(r) for r in params.recThrs],
                     [int(c) for c in params.catIds], list(params.areaRngLbl), [int(m) for m in params.maxDets],
                     [int(i) for i in params.imgIds], precision, recall, cells)


# ---- pycocotools --------------------------------------------------------------------------------

def _pycocotools_evaluator(gt, dt, iou_type: str, on_progress: ProgressCallback | None):
    from pycocotools.cocoeval import COCOeval

    class ReportingCOCOeval(COCOeval):
        """pycocotools' own COCOeval, counting its per-image steps for a progress bar."""

        done = 0
        reported = -1

        def _step(self) -> None:
            if on_progress is None:
                return
            self.done += 1
            steps = max(len(self.params.imgIds) * len(self.params.catIds) * (1 + len(self.params.areaRng)), 1)
            percent = self.done * 100 // steps
            if percent != self.reported:
                self.reported = percent
                on_progress(min(self.done / steps, 1.0))

        def computeIoU(self, imgId, catId):  # noqa: N802 - pycocotools' name
            ious = super().computeIoU(imgId, catId)
            self._step()
            return ious

        def evaluateImg(self, imgId, catId, aRng, maxDet):  # noqa: N802 - pycocotools' name
            result = super().evaluateImg(imgId, catId, aRng, maxDet)
            self._step()
            return result

    return ReportingCOCOeval(gt, dt, iou_type)


def _pycocotools_cells(evaluator) -> Iterator[CellMatches]:
    import numpy as np

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
            detection_ids=tuple(np.asarray(entry["dtIds"], dtype=np.int64)[kept].tolist()),
            detection_scores=tuple(np.asarray(entry["dtScores"], dtype=np.float64)[kept].tolist()),
            detection_matched=tuple(matched[kept].tolist()),
            found=tuple(gt_ids[gt_found & gt_kept].tolist()), missed=tuple(gt_ids[~gt_found & gt_kept].tolist()),
        )


def _run_pycocotools(gt, detections: list[dict], iou_type: str, on_progress, matching_only: bool) -> EngineRun:
    from pycocotools.coco import COCO

    from tui.evaluation.quiet import quietly

    with quietly():
        if detections:
            dt = gt.loadRes(detections)
        else:  # loadRes cannot take an empty list: no detections is a valid (if poor) result
            dt = COCO()
            dt.dataset = {"images": gt.dataset["images"], "categories": gt.dataset["categories"], "annotations": []}
            dt.createIndex()
        evaluator = _pycocotools_evaluator(gt, dt, iou_type, on_progress)
        _params(evaluator, matching_only)
        evaluator.evaluate()
        if not matching_only:
            evaluator.accumulate()
    return _run_of("pycocotools", evaluator, list(_pycocotools_cells(evaluator)), matching_only)


# ---- faster-coco-eval ---------------------------------------------------------------------------

def _greedy_cell(image_id: int, category_id: int, gts: list[dict], dts: list[dict], ious) -> CellMatches:
    """pycocotools' evaluateImg at IoU 0.5, area all, 100 detections, on the IoUs [sorted dts x gts] given."""
    import numpy as np

    gt_ignore = [1 if (g.get("iscrowd") or g["area"] < _AREA_ALL[0] or g["area"] > _AREA_ALL[1]) else 0 for g in gts]
    gt_order = np.argsort(gt_ignore, kind="mergesort")
    gts = [gts[i] for i in gt_order]
    gt_ignore = [gt_ignore[i] for i in gt_order]
    dt_order = np.argsort([-d["score"] for d in dts], kind="mergesort")[:MAX_DETECTIONS]
    dts = [dts[i] for i in dt_order]
    crowd = [int(g["iscrowd"]) for g in gts]
    ious = np.asarray(ious)[:, gt_order] if len(ious) else ious
    gt_matched = [False] * len(gts)
    dt_match = [-1] * len(dts)
    if len(ious):
        for d in range(len(dts)):
            best, m = min(MATCHING_IOU, 1 - 1e-10), -1
            row = ious[d]
            for g in range(len(gts)):
                if gt_matched[g] and not crowd[g]:
                    continue
                if m > -1 and gt_ignore[m] == 0 and gt_ignore[g] == 1:
                    break
                if row[g] < best:
                    continue
                best, m = row[g], g
            if m == -1:
                continue
            dt_match[d] = m
            gt_matched[m] = True
    kept = [d for d in range(len(dts)) if not (dt_match[d] > -1 and gt_ignore[dt_match[d]])
            and not (dt_match[d] == -1 and not _AREA_ALL[0] <= dts[d]["area"] <= _AREA_ALL[1])]
    return CellMatches(
        image_id=image_id, category_id=category_id,
        detection_ids=tuple(int(dts[d]["id"]) for d in kept),
        detection_scores=tuple(float(dts[d]["score"]) for d in kept),
        detection_matched=tuple(dt_match[d] > -1 for d in kept),
        found=tuple(int(gts[g]["id"]) for g in range(len(gts)) if gt_matched[g] and not gt_ignore[g]),
        missed=tuple(int(gts[g]["id"]) for g in range(len(gts)) if not gt_matched[g] and not gt_ignore[g]),
    )


def _faster_cells(evaluator, gt_dataset: dict, dt_anns: list[dict]) -> list[CellMatches]:
    params = evaluator.params
    cats = set(params.catIds)
    images = set(params.imgIds)
    gts, dts = defaultdict(list), defaultdict(list)
    for annotation in gt_dataset["annotations"]:
        if annotation["category_id"] in cats and annotation["image_id"] in images:
            gts[annotation["image_id"], annotation["category_id"]].append(annotation)
    for detection in dt_anns:
        if detection["category_id"] in cats:
            dts[detection["image_id"], detection["category_id"]].append(detection)
    cells = []
    for category_id in params.catIds:
        for image_id in params.imgIds:
            key = (image_id, category_id)
            if key in gts or key in dts:
                cells.append(_greedy_cell(int(image_id), int(category_id), gts.get(key, []), dts.get(key, []),
                                          evaluator.ious.get(key, [])))
    return cells


def _run_faster(gt, detections: list[dict], iou_type: str, on_progress, matching_only: bool) -> EngineRun:
    import logging

    from faster_coco_eval import COCO as FasterCOCO
    from faster_coco_eval import COCOeval_faster

    report = on_progress or (lambda fraction: None)
    logging.getLogger("faster_coco_eval").setLevel(logging.WARNING)
    silent = lambda *args, **kwargs: None  # noqa: E731
    truth = FasterCOCO(gt.dataset, print_function=silent)
    results = truth.loadRes(detections)
    report(0.05)
    evaluator = COCOeval_faster(truth, results, iou_type, print_function=silent, separate_eval=True)
    _params(evaluator, matching_only)
    evaluator.evaluate()
    report(0.7)
    if not matching_only:
        evaluator.accumulate()
    report(0.85)
    cells = _faster_cells(evaluator, truth.dataset, results.dataset["annotations"])
    report(1.0)
    return _run_of("faster-coco-eval", evaluator, cells, matching_only)


def run_engine(gt, detections: Sequence[dict], iou_type: str, engine: str = DEFAULT_ENGINE,
               on_progress: ProgressCallback | None = None, *, matching_only: bool = False) -> EngineRun:
    """COCOeval's evaluate() and accumulate() on `gt` (a pycocotools COCO) and the COCO results given.

    With `matching_only`, only the matching at IoU 0.5, area all, 100 detections: no curves."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    detections = [dict(d) for d in detections]  # loadRes adds ids and areas to what it is given
    run = _run_faster if engine == "faster-coco-eval" else _run_pycocotools
    return run(gt, detections, iou_type, on_progress, matching_only)


def scores_tp_fp(run: EngineRun) -> dict[int, tuple[list[float], list[float]]]:
    """Per category, the scores of its true and false positives at IoU 0.5 (area all, 100 detections),
    best first, as the paper's COCOeval2 `scores_tp` / `scores_fp` hold them (what a reliability
    diagram is drawn from); categories without an annotated object are left out, as COCOeval2 skips them."""
    annotated = run.annotated_categories()
    pooled: dict[int, list[tuple[float, bool]]] = {c: [] for c in run.cat_ids if c in annotated}
    for cell in run.cells:
        if cell.category_id in pooled:
            pooled[cell.category_id].extend(zip(cell.detection_scores, cell.detection_matched))
    out = {}
    for category, outcomes in pooled.items():
        ranked = sorted(outcomes, key=lambda o: -o[0])  # stable, as COCOeval2's mergesort
        out[category] = ([s for s, tp in ranked if tp], [s for s, tp in ranked if not tp])
    return out
