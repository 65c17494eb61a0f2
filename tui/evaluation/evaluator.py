"""Prediction files against one annotation file, through the cache: what the CLI and the screen call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from tui import paths
from tui.collector import collector_paused
from tui.errors import UserError, require_file
from tui.evaluation import cache
from tui.evaluation.engines import DEFAULT_ENGINE
from tui.evaluation.conversion import to_coco_results
from tui.evaluation.ground_truth import GroundTruth, load_ground_truth
from tui.evaluation.results import Evaluation
from tui.evaluation.scoring import evaluate_predictions
from tui.files import sha256_of
from tui.predictions import load_predictions

StageProgress = Callable[[float, str], None]
"""on_progress(fraction 0..1 of the stage, stage) with stages 'hashing', 'loading', 'bbox', 'segm'."""

SPLITS = ("test", "val")


def default_annotations(split: str = "test") -> Path:
    """FashionFail's annotation file in the cache; UserError saying how to get it when absent."""
    path = paths.fashionfail_annotations(split)
    if not path.is_file():
        raise UserError(f"no annotation file given and FashionFail's {path.name} is not at {path}",
                        hint=f"pass --anns JSON or fetch it: fashionfail-tui dataset fetch --split {split}")
    return path


class Evaluator:
    """Evaluates prediction files against one annotation file, reusing results cached beside each file.

    The annotation file is read (and checked) only when some evaluation is not cached.
    """

    def __init__(self, annotations: Path):
        self.annotations = Path(annotations)
        if not self.annotations.is_file():
            problem = "is a folder, not a file" if self.annotations.is_dir() else "does not exist"
            raise UserError(f"annotation file {self.annotations}: {problem}")
        self._annotations_sha256 = sha256_of(self.annotations)
        self._truth: GroundTruth | None = None

    @property
    def truth(self) -> GroundTruth:
        if self._truth is None:
            self._truth = load_ground_truth(self.annotations)
        return self._truth

    def evaluate(self, predictions: Path, iou_types: Sequence[str] = ("bbox", "segm"), family: str | None = None,
                 on_progress: StageProgress | None = None, engine: str | None = None,
                 use_cache: bool = True) -> list[Evaluation]:
        """One Evaluation per IoU type, in the order asked; UserError when a file cannot be evaluated.
        `use_cache=False` evaluates again even when a cached evaluation is there (`compare --check`)."""
        report = on_progress or (lambda fraction, stage: None)
        predictions = Path(predictions)
        require_file(predictions)
        report(0.0, "hashing")
        digest = sha256_of(predictions)
        engine = engine or DEFAULT_ENGINE
        keys = {t: cache.CacheKey(digest, self._annotations_sha256, t, family or "", engine) for t in iou_types}
        found = {t: cache.read(predictions, key, self.annotations) if use_cache else None for t, key in keys.items()}
        if all(found.values()):
            return [found[t] for t in iou_types]
        with collector_paused():
            truth = self.truth
            prediction_set = load_predictions(predictions, family=family, on_progress=lambda f, _: report(f, "loading"))
            model = prediction_set.model or prediction_set.family
            missing = [t for t, evaluation in found.items() if evaluation is None]
            results = None
            # converted once: the masks' results serve boxes too
            if "segm" in missing and "bbox" in missing and truth.has_masks:
                try:
                    results = to_coco_results(prediction_set.images, truth, "segm")
                except UserError as exc:
                    raise UserError(f"{predictions}: {exc}", hint=exc.hint) from None
            for iou_type in missing:
                evaluation = evaluate_predictions(prediction_set.images, truth, iou_type, file=str(predictions),
                                                  model=model, on_progress=lambda f, t=iou_type: report(f, t),
                                                  engine=engine, results=results)
                cache.write(predictions, keys[iou_type], evaluation)
                found[iou_type] = evaluation
        return [found[t] for t in iou_types]
