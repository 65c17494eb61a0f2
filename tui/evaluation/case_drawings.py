"""Failure cases drawn: an image with its ground truth, or with one model's detections that took
part in the matching (score >= the cases' min_score, categories 0..26). The report and the app's
gallery both draw through this."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from tui.catalog import FASHIONFAIL_CATEGORY_IDS
from tui.evaluation.failures import FailureCases
from tui.image_files import ImageRefused, decoded_rgb
from tui.predictions import ImagePredictions
from tui.predictions.render import BACKGROUND, render
from tui.predictions.view import find_image, image_of

_EVALUATED = np.array(FASHIONFAIL_CATEGORY_IDS)


class CaseDrawings:
    """Reads each image from the first folder that has it (a grey canvas of the annotation's size when
    none does), keeping the last one read: a case's panels all draw on the same image."""

    def __init__(self, cases: FailureCases, folders: Sequence[Path], max_size: int | None = None):
        self.cases = cases
        self.folders = list(folders)
        self.max_size = max_size
        self.missing: set[str] = set()
        """Images no folder had (or that could not be read): drawn on grey."""
        self._last_image: tuple[str, Image.Image] | None = None

    def image(self, name: str) -> Image.Image:
        if self._last_image is None or self._last_image[0] != name:
            self._last_image = (name, self._read(name))
        return self._last_image[1]

    def _read(self, name: str) -> Image.Image:
        """The image at the annotation file's size, or a grey canvas of that size when it cannot be read."""
        truth = self.cases.truth
        height, width = truth.image_size(truth.image_ids[name])
        found = find_image(name, self.folders)
        try:
            if found is None:
                raise FileNotFoundError(name)
            image = decoded_rgb(found)
        except (OSError, ImageRefused):
            self.missing.add(name)
            return Image.new("RGB", (width, height), BACKGROUND)
        return image if image.size == (width, height) else image.resize((width, height))

    def ground_truth(self, name: str) -> ImagePredictions:
        """The image's annotated objects of categories 0..26 as detections scoring 1."""
        coco = self.cases.truth.coco
        annotations = [a for a in coco.imgToAnns[self.cases.truth.image_ids[name]]
                       if a["category_id"] in FASHIONFAIL_CATEGORY_IDS]
        masks = []
        for annotation in annotations:
            rle = coco.annToRLE(annotation) if annotation.get("segmentation") else None
            if rle is not None and isinstance(rle["counts"], str):
                rle = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
            masks.append(rle)
        return ImagePredictions(
            image_file=name,
            boxes=np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in annotations)],
                           dtype=np.float32).reshape(-1, 4),
            category_ids=np.array([a["category_id"] for a in annotations], dtype=np.int64),
            scores=np.ones(len(annotations), dtype=np.float32), masks=masks)

    def _predictions(self, label: str):
        return next(m.predictions for m in self.cases.models if m.label == label)

    def has_entry(self, label: str, name: str) -> bool:
        """Whether the model's file has an entry (perhaps empty) for the image."""
        return self._predictions(label).index_of(name) is not None

    def detections(self, label: str, name: str) -> tuple[ImagePredictions, np.ndarray]:
        """The model's detections on the image (none when its file has no entry) and which took part."""
        found = image_of(self._predictions(label), name)
        return found, (found.scores >= self.cases.min_score) & np.isin(found.category_ids, _EVALUATED)

    def draw(self, name: str, label: str | None) -> Image.Image:
        """The image with its ground truth (label None) or with the model's detections that took part."""
        image = self.image(name)
        if label is None:
            return render(self.ground_truth(name), image, max_size=self.max_size, scores=False)
        found, kept = self.detections(label, name)
        return render(found, image, keep=kept, max_size=self.max_size)
