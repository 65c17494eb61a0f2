"""Failure cases across models: objects every model misses, objects some find and others miss, and
the images with the most false positives, each per category.

Matching is COCOeval's own at IoU 0.5 (area all, 100 detections per image and category, greedy by
score), on the same COCO results and categories 0..26 that `eval` scores. Only detections scoring at
least `min_score` take part: with 0 every detection counts and the found/missed/false-positive
counts equal `eval`'s TP/FN/FP. As in the paper's counts, detections of a category with no annotated
object (none at all, or only crowd) are no false positives: they are listed apart, as `not_counted`.
The default `min_score` 0.5 asks what a model shows at a usual threshold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tui.catalog import FASHIONFAIL_CATEGORY_IDS, category_name
from tui.errors import UserError
from tui.evaluation.conversion import to_coco_results
from tui.evaluation.ground_truth import GroundTruth
from tui.evaluation.report import model_labels
from tui.evaluation.engines import DEFAULT_ENGINE
from tui.evaluation.scoring import MATCHING_IOU, run_cocoeval
from tui.predictions import PredictionSet, load_predictions

DEFAULT_MIN_SCORE = 0.5


@dataclass(frozen=True)
class ModelPredictions:
    """One prediction file under the name failure cases call it by."""
    label: str
    file: Path
    predictions: PredictionSet


def load_models(files: Sequence[Path], family: str | None = None,
                on_progress: Callable[[int, float], None] | None = None) -> list[ModelPredictions]:
    """Each file read (any family), named by its model; files of the same model told apart by path.

    on_progress(file index, fraction of that file read). UserError when a file is given twice."""
    seen: dict[Path, Path] = {}
    for file in files:
        resolved = Path(file).resolve()
        if resolved in seen:
            raise UserError(f"{file} is given twice (as {seen[resolved]})")
        seen[resolved] = Path(file)
    report = on_progress or (lambda index, fraction: None)
    sets = [load_predictions(file, family=family, on_progress=lambda f, _, i=i: report(i, f))
            for i, file in enumerate(files)]
    labels = model_labels([(s.model or s.family, str(file)) for s, file in zip(sets, files)])
    return [ModelPredictions(label, Path(file), s) for label, file, s in zip(labels, files, sets)]


@dataclass(frozen=True)
class AnnotatedObject:
    """One object of the annotation file and the models that found it."""
    annotation_id: int
    image: str
    category_id: int
    bbox: tuple[float, ...]
    """x, y, width, height as the annotation file has it."""
    found_by: tuple[str, ...]
    missed_by: tuple[str, ...]

    @property
    def category(self) -> str:
        return category_name(self.category_id)

    def as_json(self) -> dict:
        return {"image": self.image, "category": self.category, "category_id": self.category_id,
                "bbox": list(self.bbox), "annotation_id": self.annotation_id,
                "found_by": list(self.found_by), "missed_by": list(self.missed_by)}


@dataclass(frozen=True)
class ImageFalsePositives:
    image: str
    count: int
    by_category: dict[int, int]
    """Category id -> false positives of it on this image."""
    not_counted: dict[int, int] = field(default_factory=dict)
    """Category id -> detections on this image of a category with no annotated object in the whole
    annotation file: not false positives in the paper's counts."""

    def kinds(self) -> str:
        """`pants 2, shirt, blouse 1`: the categories seen that are not there, the most first; then
        `(not annotated anywhere: cape 1)` for detections the paper does not count."""
        text = ", ".join(f"{category_name(c)} {n}" for c, n in sorted(self.by_category.items(), key=lambda i: -i[1]))
        if self.not_counted:
            apart = ", ".join(f"{category_name(c)} {n}" for c, n in sorted(self.not_counted.items(), key=lambda i: -i[1]))
            text = f"{text} (not annotated anywhere: {apart})" if text else f"not annotated anywhere: {apart}"
        return text

    def as_json(self) -> dict:
        return {"image": self.image, "false_positives": self.count,
                "by_category": {category_name(c): n for c, n in sorted(self.by_category.items())},
                "not_counted": {category_name(c): n for c, n in sorted(self.not_counted.items())}}


@dataclass(frozen=True)
class ModelCoverage:
    label: str
    file: str
    detections: int
    """Detections that took part: categories 0..26, annotated images, score >= min_score."""
    images_not_predicted: tuple[str, ...]
    """Annotated images the file has no entry for: their objects count as missed."""


@dataclass
class FailureCases:
    truth: GroundTruth
    models: tuple[ModelPredictions, ...]
    iou_type: str
    min_score: float
    objects: tuple[AnnotatedObject, ...]
    """Every object of categories 0..26 not marked crowd, by image then annotation id."""
    false_positives: dict[str, tuple[ImageFalsePositives, ...]]
    """Model label -> its images with false positives, the most first (ties by image name)."""
    coverage: tuple[ModelCoverage, ...]

    @property
    def labels(self) -> list[str]:
        return [m.label for m in self.models]

    @property
    def missed_by_all(self) -> list[AnnotatedObject]:
        return [o for o in self.objects if not o.found_by]

    @property
    def disagreements(self) -> list[AnnotatedObject]:
        return [o for o in self.objects if o.found_by and o.missed_by]

    def per_category(self) -> dict[int, dict]:
        """Category id -> objects, missed by all, disagreements, found, false positives and detections
        not counted (no annotated object) per model; categories with none of these left out."""
        table: dict[int, dict] = {}

        def row(category_id: int) -> dict:
            return table.setdefault(category_id, {
                "objects": 0, "missed_by_all": 0, "disagreements": 0,
                "found": dict.fromkeys(self.labels, 0), "false_positives": dict.fromkeys(self.labels, 0),
                "not_counted": dict.fromkeys(self.labels, 0)})

        for obj in self.objects:
            counts = row(obj.category_id)
            counts["objects"] += 1
            counts["missed_by_all"] += not obj.found_by
            counts["disagreements"] += bool(obj.found_by and obj.missed_by)
            for label in obj.found_by:
                counts["found"][label] += 1
        for label, images in self.false_positives.items():
            for image in images:
                for category_id, count in image.by_category.items():
                    row(category_id)["false_positives"][label] += count
                for category_id, count in image.not_counted.items():
                    row(category_id)["not_counted"][label] += count
        return dict(sorted(table.items()))

    def as_json(self, top: int = 10) -> dict:
        """The `failures --json` object; `top` images per model under false_positives."""
        return {
            "annotations": str(self.truth.path), "iou_type": self.iou_type, "iou_threshold": MATCHING_IOU,
            "min_score": self.min_score,
            "models": [{"name": c.label, "file": c.file, "detections": c.detections,
                        "images_not_predicted": len(c.images_not_predicted)} for c in self.coverage],
            "objects": len(self.objects),
            "missed_by_all": [_without(o.as_json(), "found_by", "missed_by") for o in self.missed_by_all],
            "disagreements": [o.as_json() for o in self.disagreements],
            "false_positives": {label: [image.as_json() for image in images[:top]]
                                for label, images in self.false_positives.items()},
            "per_category": {category_name(c): {"category_id": c, **counts}
                             for c, counts in self.per_category().items()},
        }


def _without(record: dict, *keys: str) -> dict:
    return {k: v for k, v in record.items() if k not in keys}


def _match(model: ModelPredictions, truth: GroundTruth, iou_type: str, min_score: float, engine: str):
    """(annotation ids found, {image id: Counter(category id -> false positives)}, {image id: Counter(category
    id -> detections not counted)}, coverage) for one model."""
    try:
        results = to_coco_results(model.predictions.images, truth, iou_type)
    except UserError as exc:
        raise UserError(f"{model.file}: {exc}", hint=exc.hint) from None
    detections = [d for d in results.detections if d["score"] >= min_score]
    found: set[int] = set()
    false_positives: dict[int, Counter] = {}
    not_counted: dict[int, Counter] = {}
    run = run_cocoeval(truth, detections, iou_type, matching_only=True, engine=engine)
    annotated = run.annotated_categories()
    for cell in run.cells:
        found.update(cell.found)
        if cell.category_id not in annotated:
            if cell.detection_ids:
                not_counted.setdefault(cell.image_id, Counter())[cell.category_id] += len(cell.detection_ids)
        elif cell.false_positives:
            false_positives.setdefault(cell.image_id, Counter())[cell.category_id] += cell.false_positives
    coverage = ModelCoverage(model.label, str(model.file), len(detections), results.not_in_predictions)
    return found, false_positives, not_counted, coverage


def _objects(truth: GroundTruth) -> list[dict]:
    """The annotations COCOeval counts as objects: categories 0..26, neither crowd nor ignored."""
    kept = set(FASHIONFAIL_CATEGORY_IDS)
    return sorted((a for a in truth.coco.anns.values()
                   if a["category_id"] in kept and not a.get("iscrowd") and not a.get("ignore")),
                  key=lambda a: (truth.file_name(a["image_id"]), a["id"]))


def find_failures(models: Sequence[ModelPredictions], truth: GroundTruth, iou_type: str = "bbox",
                  min_score: float = DEFAULT_MIN_SCORE,
                  on_progress: Callable[[int], None] | None = None, engine: str = DEFAULT_ENGINE) -> FailureCases:
    """Match every model against the annotations and collect the failure cases; on_progress(models done)."""
    if not models:
        raise UserError("no prediction files given")
    if iou_type == "segm" and not truth.has_masks:
        raise UserError(f"annotation file {truth.path}: not every annotation has a segmentation, "
                        "so masks cannot be compared", hint="use --iou bbox")
    found_by_model, false_positives, coverage = {}, {}, []
    for done, model in enumerate(models, start=1):
        found, per_image, apart, covered = _match(model, truth, iou_type, min_score, engine)
        found_by_model[model.label] = found
        images = [ImageFalsePositives(truth.file_name(image_id), sum(per_image.get(image_id, {}).values()),
                                      dict(per_image.get(image_id, {})), dict(apart.get(image_id, {})))
                  for image_id in per_image.keys() | apart.keys()]
        false_positives[model.label] = tuple(sorted(images, key=lambda i: (-i.count, i.image)))
        coverage.append(covered)
        if on_progress:
            on_progress(done)
    objects = []
    for annotation in _objects(truth):
        found_by = tuple(m.label for m in models if annotation["id"] in found_by_model[m.label])
        missed_by = tuple(m.label for m in models if annotation["id"] not in found_by_model[m.label])
        objects.append(AnnotatedObject(
            annotation_id=int(annotation["id"]), image=truth.file_name(annotation["image_id"]),
            category_id=int(annotation["category_id"]), bbox=tuple(float(v) for v in annotation["bbox"]),
            found_by=found_by, missed_by=missed_by))
    return FailureCases(truth, tuple(models), iou_type, min_score, tuple(objects), false_positives, tuple(coverage))
