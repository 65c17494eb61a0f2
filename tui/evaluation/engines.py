"""COCO evaluation engines behind one result: faster-coco-eval (the default) and pycocotools (the reference).

Both run COCOeval's evaluate() and accumulate() on categories 0..26 over every annotated image, the
way the paper's `get_cocoeval` sets them up. An `EngineRun` holds what the rest of the app reads:
the precision [T, R, K, A, M] and recall [T, K, A, M] arrays (C-ordered float64, laid out as
COCOeval's own, so the paper's `np.nanmean` over their slices adds in the same order), and COCOeval's
matches at IoU 0.5, area all, 100 detections, one `CellMatches` per image and category it evaluated.

pycocotools' matches are its own `evalImgs`. faster-coco-eval keeps its per-image results in C++,
so its matches are made here from the IoUs it computed, by `evaluateImg`'s greedy rule at one
threshold, and its precision gets pycocotools' one rounding difference back (see
_as_pycocotools_precision); tests/test_engines.py holds the two engines equal. numpy, pycocotools and
faster_coco_eval are imported when an engine runs, not when this module is imported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from tui.catalog import FASHIONFAIL_CATEGORY_IDS

ENGINES = ("faster-coco-eval", "pycocotools")
DEFAULT_ENGINE = "faster-coco-eval"
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
    # The paper's numbers all use area "all"; COCOeval matches and accumulates each area range on its
    # own, so leaving out small, medium and large changes no number of it and saves most of the work.
    keep = params.areaRngLbl.index("all")
    params.areaRng = [params.areaRng[keep]]
    params.areaRngLbl = ["all"]
    if matching_only:
        params.iouThrs = np.array([MATCHING_IOU])
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

class _Cells:
    """Each image and category's objects and detections as pycocotools' COCOeval holds them (objects in
    annotation order; detections by score, ties by id, 100 at most), with the IoUs faster-coco-eval computed."""

    def __init__(self, evaluator, gt_dataset: dict, dt_anns: list[dict]):
        import numpy as np

        params = evaluator.params
        self.params = params
        cats, images = set(params.catIds), set(params.imgIds)
        self.gts = defaultdict(list)
        for annotation in gt_dataset["annotations"]:
            if annotation["category_id"] in cats and annotation["image_id"] in images:
                self.gts[annotation["image_id"], annotation["category_id"]].append(annotation)
        kept = [d for d in dt_anns if d["category_id"] in cats]
        count = len(kept)
        image = np.fromiter((d["image_id"] for d in kept), np.int64, count)
        category = np.fromiter((d["category_id"] for d in kept), np.int64, count)
        score = np.fromiter((d["score"] for d in kept), np.float64, count)
        ids = np.fromiter((d["id"] for d in kept), np.int64, count)
        area = np.fromiter((d["area"] for d in kept), np.float64, count)
        order = np.lexsort((ids, -score, category, image))  # a cell's detections by score, ties by id
        self.image, self.category, self.score, self.ids, self.area = (
            a[order] for a in (image, category, score, ids, area))
        starts = np.flatnonzero(np.r_[True, (self.image[1:] != self.image[:-1]) | (self.category[1:] != self.category[:-1])]) \
            if count else np.zeros(0, np.int64)
        ends = np.r_[starts[1:], count].astype(np.int64)
        self.position = np.arange(count) - np.repeat(starts, ends - starts)
        cut = params.maxDets[-1]
        self.dts = {(int(self.image[a]), int(self.category[a])): slice(int(a), int(min(b, a + cut)))
                    for a, b in zip(starts.tolist(), ends.tolist())}
        self.ious = evaluator.ious
        self._matched: dict = {}
        self._ordered: dict = {}
        self._ids, self._scores = self.ids.tolist(), self.score.tolist()
        self._all_areas = bool(np.all((self.area >= _AREA_ALL[0]) & (self.area <= _AREA_ALL[1])))

    def keys(self) -> Iterator[tuple[int, int]]:
        """(image, category) of every cell COCOeval evaluates, category by category, image by image."""
        for category_id in self.params.catIds:
            for image_id in self.params.imgIds:
                if (image_id, category_id) in self.gts or (image_id, category_id) in self.dts:
                    yield int(image_id), int(category_id)

    def matched(self, key: tuple[int, int], threshold: float, area: tuple[float, float]):
        """evaluateImg's greedy matching of one cell at one IoU threshold and area range: (objects in its
        order, their ignore flags, each detection's matched object index or -1, each detection's ignore flag)."""
        cache_key = (key, threshold, tuple(area))
        if cache_key not in self._matched:
            where = self.dts.get(key, slice(0, 0))
            self._matched[cache_key] = _greedy(self.gts.get(key, []), self.area[where], self.ious.get(key, []),
                                               threshold, area)
        return self._matched[cache_key]

    def cell_matches(self, key: tuple[int, int]) -> CellMatches:
        import numpy as np

        if key not in self.gts and self._all_areas:  # most cells: detections only, every one a false positive
            where = self.dts[key]
            return CellMatches(key[0], key[1], tuple(self._ids[where]), tuple(self._scores[where]),
                               (False,) * (where.stop - where.start), (), ())
        gts, gt_ignore, match, dt_ignore = self.matched(key, MATCHING_IOU, _AREA_ALL)
        where = self.dts.get(key, slice(0, 0))
        kept = ~dt_ignore
        found = set(match[match > -1].tolist())
        return CellMatches(
            image_id=key[0], category_id=key[1],
            detection_ids=tuple(self.ids[where][kept].tolist()),
            detection_scores=tuple(self.score[where][kept].tolist()),
            detection_matched=tuple((match[kept] > -1).tolist()),
            found=tuple(int(gts[g]["id"]) for g in range(len(gts)) if g in found and not gt_ignore[g]),
            missed=tuple(int(gts[g]["id"]) for g in range(len(gts)) if g not in found and not gt_ignore[g]),
        ) if len(gts) else CellMatches(key[0], key[1], tuple(self.ids[where][kept].tolist()),
                                       tuple(self.score[where][kept].tolist()), (False,) * int(np.count_nonzero(kept)),
                                       (), ())

    def ordered(self, category_id: int, max_det: int) -> Iterator[tuple[tuple[int, int], int]]:
        """accumulate()'s order of one category's detections: images in order, each cut at max_det, then by
        score (mergesort); as (cell, position in the cell)."""
        import numpy as np

        rows = self._ordered.get((category_id, max_det))
        if rows is None:
            rows = np.flatnonzero((self.category == category_id) & (self.position < max_det))
            rows = self._ordered[category_id, max_det] = rows[np.argsort(-self.score[rows], kind="mergesort")]
        return (((int(self.image[r]), category_id), int(self.position[r])) for r in rows)


def _greedy(gts: list[dict], areas, ious, threshold: float, area):
    """pycocotools' evaluateImg for one threshold and area range, on a cell's detections (their areas,
    in the cell's order) and the IoUs [detections x objects]."""
    import numpy as np

    dt_outside = (areas < area[0]) | (areas > area[1])
    if not gts:
        return gts, [], np.full(len(areas), -1), dt_outside
    ignore = [1 if (g.get("iscrowd") or g["area"] < area[0] or g["area"] > area[1]) else 0 for g in gts]
    order = np.argsort(ignore, kind="mergesort")
    gts = [gts[i] for i in order]
    ignore = [ignore[i] for i in order]
    crowd = [int(g["iscrowd"]) for g in gts]
    ious = np.asarray(ious)[:, order].tolist() if len(ious) else []
    taken = [False] * len(gts)
    match = [-1] * len(areas)
    for d, row in enumerate(ious):
        best, m = min(threshold, 1 - 1e-10), -1
        for g in range(len(gts)):
            if taken[g] and not crowd[g]:
                continue
            if m > -1 and ignore[m] == 0 and ignore[g] == 1:
                break
            if row[g] < best:
                continue
            best, m = row[g], g
        if m > -1:
            match[d] = m
            taken[m] = True
    match = np.asarray(match, dtype=np.int64)
    dt_ignore = np.where(match > -1, np.asarray(ignore + [0], dtype=bool)[match], dt_outside)
    return gts, ignore, match, dt_ignore


def _as_pycocotools_precision(precision, cells: _Cells) -> None:
    """Where faster-coco-eval's precision differs from pycocotools', make it pycocotools' (in place).

    pycocotools computes precision as tp / (tp + fp + eps) with eps = np.spacing(1); for tp + fp >= 2
    the eps vanishes in the sum, for the first detection alone it does not: 1 / (1 + eps) is
    0.9999999999999998. faster-coco-eval gives 1.0 there. So a curve whose first detection is a true
    positive and whose second is not (or absent) reads 0.9999999999999998 in pycocotools where it
    reads 1.0 in faster-coco-eval; a curve whose first two are true positives is 1.0 in both. This
    finds those curves (following each curve's detections as accumulate() orders them, until two
    count) and writes pycocotools' value into their 1.0 cells.
    """
    import numpy as np

    params = cells.params
    below_one = 1.0 / (1.0 + np.spacing(1))
    for t, k, a, m in np.argwhere((precision == 1.0).any(axis=1)).tolist():
        threshold, area = float(params.iouThrs[t]), params.areaRng[a]
        counted = []
        for cell, position in cells.ordered(int(params.catIds[k]), int(params.maxDets[m])):
            _, _, match, dt_ignore = cells.matched(cell, threshold, area)
            if not dt_ignore[position]:
                counted.append(bool(match[position] > -1))
                if len(counted) == 2:
                    break
        if counted != [True, True]:
            curve = precision[t, :, k, a, m]
            curve[curve == 1.0] = below_one


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
    cells = _Cells(evaluator, truth.dataset, results.dataset["annotations"])
    run = _run_of("faster-coco-eval", evaluator, [cells.cell_matches(key) for key in cells.keys()], matching_only)
    if run.precision is not None:
        _as_pycocotools_precision(run.precision, cells)
    report(1.0)
    return run


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
