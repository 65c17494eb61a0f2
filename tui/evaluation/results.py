"""What one evaluation (one prediction file, one IoU type) found, as plain data that round-trips JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

IOU_TYPES = ("bbox", "segm")
METRICS: tuple[tuple[str, str], ...] = (
    ("mAP_w", "mAP_w"),
    ("mAP_w50", "mAP_w@.50"),
    ("mAP_w75", "mAP_w@.75"),
    ("mAR_w1", "mAR_w top-1"),
    ("mAR_w100", "mAR_w top-100"),
)
"""(JSON key, heading) of the paper's five weighted metrics, in the paper's column order."""


@dataclass(frozen=True)
class CategoryResult:
    category_id: int
    name: str
    weight: float
    """The paper's weight; 0 for the five categories it does not weight."""
    ap: float | None
    """Mean precision over IoU .50:.95 (area all, 100 detections); None when no object of it is annotated."""
    ap50: float | None
    ap75: float | None
    true_positives: int
    """Detections matched to an annotation at IoU 0.5 (the paper's COCOeval2 counts, as are the next two)."""
    false_positives: int
    false_negatives: int
    annotated: int
    not_counted: int = 0
    """Detections of this category when it has no annotated object: COCOeval2 skips such a category
    before counting, so they are in no count above."""


@dataclass(frozen=True)
class ImageErrors:
    image_file: str
    false_positives: int
    missed: int


@dataclass(frozen=True)
class Evaluation:
    file: str
    annotations: str
    iou_type: str
    mAP_w: float
    mAP_w50: float
    mAP_w75: float
    mAR_w1: float
    mAR_w100: float
    per_category: tuple[CategoryResult, ...]
    image_errors: tuple[ImageErrors, ...]
    """Every evaluated image with at least one false positive or missed object, at IoU 0.5."""
    images_evaluated: int
    detections: int
    """Detections in categories 0..26 on annotated images (what COCOeval was given)."""
    not_in_annotations: tuple[str, ...] = ()
    """Predicted images the annotation file lacks: left out of the evaluation."""
    not_in_predictions: tuple[str, ...] = ()
    """Annotated images without predictions: evaluated, their objects count as missed (as the original does)."""
    model: str = ""
    """The model (or family) whose conventions the file was read with; empty when not known."""
    corrected: dict[str, float] = field(default_factory=dict)
    """The five metrics with COCOeval's -1 cells left out of the means (METRICS keys); opt-in, not the paper's."""
    empty_weighted_categories: tuple[int, ...] = ()
    """Weighted categories with no annotated object (only crowd): their -1 cells enter the paper's means."""
    warnings: tuple[str, ...] = ()
    from_cache: bool = field(default=False, compare=False)

    def metric(self, key: str, corrected: bool = False) -> float:
        """The paper's value of a metric, or with `corrected` the value with -1 cells left out."""
        return self.corrected[key] if corrected else getattr(self, key)

    def worst_images(self, by: str, count: int = 10) -> list[ImageErrors]:
        """The images with the most `false_positives` or `missed`, ties by the other count, then name; zeros left out."""
        other = "missed" if by == "false_positives" else "false_positives"
        ranked = sorted(self.image_errors, key=lambda e: (-getattr(e, by), -getattr(e, other), e.image_file))
        return [e for e in ranked if getattr(e, by) > 0][:count]

    def as_json(self, worst: int = 10, corrected: bool = False) -> dict:
        """The `eval --json` entry; with `corrected`, the metrics are the corrected means and `means` says so."""
        out = {"file": self.file, "model": self.model, "annotations": self.annotations, "iou_type": self.iou_type}
        out.update({key: self.metric(key, corrected) for key, _ in METRICS})
        out["means"] = "corrected (-1 cells left out)" if corrected else "paper"
        out["warnings"] = list(self.warnings)
        out["per_category"] = [asdict(c) for c in self.per_category]
        out["images_evaluated"] = self.images_evaluated
        out["detections"] = self.detections
        out["not_in_annotations"] = {"count": len(self.not_in_annotations), "images": list(self.not_in_annotations)}
        out["not_in_predictions"] = {"count": len(self.not_in_predictions), "images": list(self.not_in_predictions)}
        out["most_false_positives"] = [asdict(e) for e in self.worst_images("false_positives", worst)]
        out["most_missed"] = [asdict(e) for e in self.worst_images("missed", worst)]
        out["from_cache"] = self.from_cache
        return out

    def to_dict(self) -> dict:
        """Everything, for the cache file."""
        out = asdict(self)
        out.pop("from_cache")
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Evaluation:
        data = dict(data)
        data["per_category"] = tuple(CategoryResult(**c) for c in data["per_category"])
        data["image_errors"] = tuple(ImageErrors(**e) for e in data["image_errors"])
        data["not_in_annotations"] = tuple(data["not_in_annotations"])
        data["not_in_predictions"] = tuple(data["not_in_predictions"])
        data["empty_weighted_categories"] = tuple(data.get("empty_weighted_categories", ()))
        data["warnings"] = tuple(data.get("warnings", ()))
        return cls(**data)
