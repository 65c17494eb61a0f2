"""What the browser shows, without the UI: filters, detection rows, where an image's file is."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from tui import catalog, paths
from tui.predictions.image import ImagePredictions
from tui.predictions.loading import PredictionSet
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


def kept_counts(columns, detection_filter: DetectionFilter) -> np.ndarray:
    """Per image of `columns` (a PredictionSet's), how many detections the filter keeps: the image
    list's counts follow the score threshold and the categories."""
    kept = columns.scores >= detection_filter.threshold
    if detection_filter.categories is not None:
        kept &= np.isin(columns.classes, list(detection_filter.categories))
    running = np.concatenate([[0], np.cumsum(kept, dtype=np.int64)])
    return running[columns.image_offsets[1:]] - running[columns.image_offsets[:-1]]


def parse_categories(text: str) -> frozenset[int] | None:
    """'sleeve, 6' -> the ids whose name contains a term or that a number names; None for no terms.

    A term that matches nothing matches nothing (an empty set), so the user sees the filter bite.
    """
    terms = _terms(text)
    if not terms:
        return None
    return frozenset().union(*map(_category_ids, terms))


def unknown_categories(text: str) -> list[tuple[str, list[str]]]:
    """Each term of a category filter that names no category, with up to three known names close to
    it (none for a number past the last id)."""
    unknown = []
    for term in _terms(text):
        if term.isdigit():
            if int(term) >= len(catalog.CATEGORIES):
                unknown.append((term, []))
        elif not _category_ids(term):
            unknown.append((term, difflib.get_close_matches(term, _CATEGORY_WORDS, n=3, cutoff=0.6)))
    return unknown


_CATEGORY_WORDS = sorted({part for name in catalog.CATEGORIES for part in name.split(", ")})
"""What a user types for a category: 'top, t-shirt, sweatshirt' is 'top', 't-shirt' or 'sweatshirt'."""


def _terms(text: str) -> list[str]:
    return [t.strip().lower() for t in text.split(",") if t.strip()]


def _category_ids(term: str) -> set[int]:
    if term.isdigit():
        return {int(term)}
    return {i for i, name in enumerate(catalog.CATEGORIES) if term in name.lower()}


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
