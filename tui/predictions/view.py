"""What the browser shows, without the UI: filters, detection rows, where an image's file is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from tui import catalog, paths
from tui.predictions import ImagePredictions, PredictionSet
from tui.predictions.rle import InvalidMask, checked

SPLITS = ("test", "val", "train")


@dataclass(frozen=True)
class DetectionFilter:
    threshold: float = 0.0
    categories: frozenset[int] | None = None
    """None keeps every category."""

    def keep(self, image: ImagePredictions) -> np.ndarray:
        kept = image.scores >= self.threshold
        if self.categories is not None:
            kept &= np.isin(image.category_ids, list(self.categories))
        return kept


def parse_categories(text: str) -> frozenset[int] | None:
    """'sleeve, 6' -> the ids whose name contains a term or that a number names; None for no terms.

    A term that matches nothing matches nothing (an empty set), so the user sees the filter bite.
    """
    terms = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not terms:
        return None
    chosen = set()
    for term in terms:
        if term.isdigit():
            chosen.add(int(term))
        else:
            chosen.update(i for i, name in enumerate(catalog.CATEGORIES) if term in name.lower())
    return frozenset(chosen)


@dataclass(frozen=True)
class DetectionRow:
    detection: int
    category: str
    score: float
    box: tuple[int, int, int, int]
    mask_area: int | None


def detection_rows(image: ImagePredictions, kept: np.ndarray) -> list[DetectionRow]:
    """The kept detections, best score first; mask areas come from the RLEs without decoding them."""
    rows = np.flatnonzero(kept)
    rows = rows[np.argsort(-image.scores[rows], kind="stable")]
    masks = [image.masks[r] if r < len(image.masks) else None for r in rows]
    present = [(row, mask) for row, mask in zip(rows, masks) if mask is not None]
    try:
        areas = iter(mask_utils.area(checked([mask for _, mask in present])).tolist() if present else [])
    except InvalidMask as exc:
        raise InvalidMask(exc.reason, int(present[exc.row][0])) from None
    return [
        DetectionRow(
            detection=int(row),
            category=catalog.category_name(int(image.category_ids[row])),
            score=float(image.scores[row]),
            box=tuple(int(round(float(v))) for v in image.boxes[row]),
            mask_area=int(next(areas)) if mask is not None else None,
        )
        for row, mask in zip(rows, masks)
    ]


def image_of(predictions: PredictionSet, name: str) -> ImagePredictions:
    """The file's predictions for an image, empty when the file has none for it."""
    position = predictions.index_of(name)
    if position is not None:
        return predictions.images[position]
    return ImagePredictions(name, np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32), [])


def image_folders(images_dir: Path | None, sets: Iterable[PredictionSet]) -> list[Path]:
    """Where to look for images, in order: --images, each file's meta `image_dir`, FashionFail's splits."""
    folders = [Path(images_dir).expanduser()] if images_dir else []
    for predictions in sets:
        meta_dir = (predictions.meta or {}).get("image_dir")
        if isinstance(meta_dir, str) and meta_dir:
            folders.append(Path(meta_dir).expanduser())
    folders.extend(paths.fashionfail_dir() / "images" / split for split in SPLITS)
    return list(dict.fromkeys(folders))


def find_image(name: str, folders: Iterable[Path]) -> Path | None:
    for folder in folders:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None
