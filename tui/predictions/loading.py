"""`load_predictions`: any family's prediction file, safely read, normalized, indexed in the cache."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tui import catalog
from tui.errors import UserError, require_file
from tui.predictions import ImagePredictions, index
from tui.predictions.columns import Columns, records_to_columns
from tui.predictions.formats import Conventions, from_content, from_meta, from_name, normalize, parse_meta
from tui.predictions.safe_pickle import expansion_limit, read_arrays

ProgressCallback = Callable[[float, str], None]
"""on_progress(fraction 0..1, stage) where stage is 'reading', 'indexing' or 'done'."""

# Share of the first open each stage takes (measured on the bench file).
_READ_SHARE = 0.8


class ImageSequence(Sequence):
    """`PredictionSet.images`: ImagePredictions built on access from the columns."""

    def __init__(self, columns: Columns):
        self._columns = columns

    def __len__(self) -> int:
        return len(self._columns.image_names)

    def __getitem__(self, item):
        if isinstance(item, slice):
            return [self[i] for i in range(*item.indices(len(self)))]
        columns = self._columns
        if item < 0:
            item += len(self)
        if not 0 <= item < len(self):
            raise IndexError(item)
        start, end = int(columns.image_offsets[item]), int(columns.image_offsets[item + 1])
        return ImagePredictions(
            image_file=str(columns.image_names[item]),
            boxes=columns.boxes[start:end],
            category_ids=columns.classes[start:end],
            scores=columns.scores[start:end],
            masks=[columns.rle(row) for row in range(start, end)],
        )


class PredictionSet:
    """One prediction file, normalized: xyxy pixel boxes, category ids 0..45, masks as RLE.

    `columns` holds every detection in flat arrays (see Columns), usually mapped read-only from the
    cache's index; `images[i]` is one image's ImagePredictions, built on access.
    """

    def __init__(self, path: Path, conventions: Conventions, meta: dict | None, columns: Columns, from_index: bool):
        self.path = path
        self.conventions = conventions
        self.meta = meta
        self.columns = columns
        self.from_index = from_index
        """True when read from the cache's index rather than the file itself."""
        self.images = ImageSequence(columns)
        self._positions = None

    @property
    def family(self) -> str:
        return self.conventions.family

    @property
    def model(self) -> str | None:
        return self.conventions.model

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_names(self) -> list[str]:
        return self.columns.image_names.tolist()

    @property
    def detection_counts(self) -> np.ndarray:
        return self.columns.detection_counts

    def index_of(self, image_name: str) -> int | None:
        """Position of an image by basename, None when the file has no predictions for it."""
        if self._positions is None:
            self._positions = {name: i for i, name in enumerate(self.image_names)}
        return self._positions.get(image_name)

    def summary(self) -> dict:
        """What `inspect` reports: counts, per-category counts, score quantiles, images without detections."""
        columns = self.columns
        per_category = np.bincount(columns.classes, minlength=len(catalog.CATEGORIES))
        order = np.argsort(-per_category, kind="stable")
        counts = columns.detection_counts
        scores = columns.scores
        quantiles = {}
        if scores.size:
            levels = {"min": 0.0, "q25": 0.25, "median": 0.5, "q75": 0.75, "max": 1.0}
            values = np.quantile(scores, list(levels.values()))
            quantiles = {name: round(float(v), 4) for name, v in zip(levels, values)}
        return {
            "file": str(self.path),
            **self.conventions.describe(),
            "images": len(self),
            "detections": int(scores.size),
            "masks": int(np.count_nonzero(np.diff(columns.mask_offsets))),
            "per_category": {catalog.category_name(int(c)): int(per_category[c]) for c in order if per_category[c]},
            "score_quantiles": quantiles,
            "images_without_detections": columns.image_names[counts == 0].tolist(),
            "meta": self.meta,
        }


def records_of(arrays: dict[str, np.ndarray], path: Path) -> np.ndarray:
    """The per-image records of a file's arrays: `data` (or a lone array), as a 1-d object array."""
    data = arrays.get("data", arrays.get("arr_0") if len(arrays) == 1 else None)
    if data is None:
        raise UserError(f"{path} has no 'data' array (it has {', '.join(sorted(arrays))}): not a prediction file")
    if data.dtype != object:
        raise UserError(f"{path}: 'data' holds {data.dtype} values, not per-image prediction records")
    if data.ndim == 0 and isinstance(data.item(), (list, tuple)):
        items = data.item()
        data = np.empty(len(items), dtype=object)
        data[:] = items
    if data.ndim != 1:
        raise UserError(f"{path}: 'data' has shape {data.shape}, not a list of per-image records")
    return data


@contextmanager
def _cycle_collection_paused():
    """Unpickling a million dicts triggers the cyclic GC over and over (it tripled the time on the
    bench file); the records hold no cycles, so collection waits until they are columns."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_predictions(path, family: str | None = None, on_progress: ProgressCallback | None = None) -> PredictionSet:
    """Read a prediction file of any family (never running its pickle), normalized.

    `family` overrides detection: a family (amrcnn, fformer, facere) or a model name (facere+).
    Uses the cache's index when the file is unchanged since it was last opened, and writes one
    otherwise. Raises UserError with a one-line reason for anything unreadable.
    """
    path = Path(path).expanduser()
    override = from_name(family) if family else None
    report = on_progress or (lambda fraction, stage: None)
    require_file(path)
    cached = index.load(path, family)
    if cached is not None:
        columns, info = cached
        try:
            conventions = Conventions.from_description(info["conventions"])
        except (KeyError, TypeError):
            conventions = None
        if conventions is not None:
            report(1.0, "done")
            return PredictionSet(path, conventions, info.get("meta"), columns, from_index=True)

    with _cycle_collection_paused():
        stored = read_arrays(path, on_progress=lambda f: report(f * _READ_SHARE, "reading"))
        meta = parse_meta(stored.arrays.get("meta"))
        raw = records_to_columns(records_of(stored.arrays, path), limit=expansion_limit(stored.payload_bytes), release=True,
                                 on_progress=lambda f: report(_READ_SHARE + f * (1 - _READ_SHARE), "indexing"))
        del stored
    conventions = override or (meta and from_meta(meta)) or from_content(raw)
    columns = normalize(raw, conventions)
    if index.save(path, family, columns, {"conventions": conventions.describe(), "meta": meta}):
        mapped = index.load(path, family)
        if mapped is not None:
            columns = mapped[0]  # the same values, mapped from the index: the file's copies can go
    report(1.0, "done")
    return PredictionSet(path, conventions, meta, columns, from_index=False)

