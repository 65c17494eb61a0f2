"""`load_predictions`: any family's prediction file, safely read, normalized, indexed in the cache."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from tui import catalog
from tui.collector import collector_paused
from tui.errors import UserError, require_file
from tui.predictions import index, isolation
from tui.predictions.columns import Columns, records_to_columns
from tui.predictions.formats import Conventions, from_content, from_meta, from_name, normalize, parse_meta
from tui.predictions.image import ImagePredictions
from tui.predictions.safe_pickle import expansion_limit, read_arrays, reading_allowance

ProgressCallback = Callable[[float, str], None]
"""on_progress(fraction 0..1, stage) where stage is 'reading', 'indexing' or 'done'."""

# Share of the first open each stage takes (measured on the bench file).
_READ_SHARE = 0.8


class ImageSequence(Sequence):
    """`PredictionSet.images`: ImagePredictions built on access from the columns."""

    def __init__(self, columns: Columns):
        self._columns = columns

    @property
    def columns(self) -> Columns:
        return self._columns

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


def load_predictions(path, family: str | None = None, on_progress: ProgressCallback | None = None) -> PredictionSet:
    """Read a prediction file of any family (never running its pickle), normalized.

    `family` overrides detection: a family (amrcnn, fformer, facere) or a model name (facere+).
    Uses the cache's index when the file is unchanged since it was last opened. Otherwise the file
    is read in a child process (tui.predictions.isolation) that writes the index, which this process
    then maps: a file that crashes or exhausts the reader costs one line, never the app. Raises
    UserError with a one-line reason for anything unreadable.
    """
    path = Path(path).expanduser()
    override = from_name(family) if family else None
    report = on_progress or (lambda fraction, stage: None)
    require_file(path)
    indexed = _indexed(path, family)
    from_index = indexed is not None
    if indexed is None:
        indexed = _index_in_child(path, family, override, report)
    columns, conventions, meta = indexed
    report(1.0, "done")
    return PredictionSet(path, conventions, meta, columns, from_index=from_index)


def _indexed(path: Path, family: str | None, target: Path | None = None) -> tuple[Columns, Conventions, dict | None] | None:
    """(columns, conventions, meta) from a current index (the cache's, or `target`), None without one."""
    cached = index.load(path, family, target)
    if cached is None:
        return None
    columns, info = cached
    try:
        conventions = Conventions.from_description(info["conventions"])
    except (KeyError, TypeError):
        return None
    return columns, conventions, info.get("meta")


def _index_in_child(path: Path, family: str | None, override: Conventions | None,
                    report: ProgressCallback) -> tuple[Columns, Conventions, dict | None]:
    """Read the file in a child process that writes its index: into the cache, or (the cache is not
    writable, or the index larger than the cache takes) into a temporary file mapped here, then removed."""
    with tempfile.TemporaryDirectory(prefix="fashionfail-tui-index-", ignore_cleanup_errors=True) as spare_folder:
        spare = Path(spare_folder) / "index.npz"

        def write_index(child_report: ProgressCallback) -> str:
            columns, conventions, meta = read_columns(path, override, child_report)
            info = {"conventions": conventions.describe(), "meta": meta}
            if index.save(path, family, columns, info):
                return "cache"
            if index.save(path, family, columns, info, target=spare):
                return "spare"
            raise UserError(f"cannot index {path}: neither the cache nor the temporary folder can be written")

        where = isolation.run(write_index, what=str(path), allowance=reading_allowance(path.stat().st_size),
                              on_progress=report)
        indexed = _indexed(path, family, spare if where == "spare" else None)
    if indexed is None:
        raise UserError(f"{path} changed while it was read; open it again")
    return indexed


def read_columns(path: Path, override: Conventions | None = None,
                 report: ProgressCallback = lambda fraction, stage: None) -> tuple[Columns, Conventions, dict | None]:
    """The file read in this process through the restricted loader (what load_predictions runs in
    its child), its conventions decided (or `override`), its columns normalized. UserError for
    anything unreadable."""
    with collector_paused():
        stored = read_arrays(path, on_progress=lambda f: report(f * _READ_SHARE, "reading"))
        records = records_of(stored.arrays, path)
        try:
            meta = parse_meta(stored.arrays.get("meta"))
            raw = records_to_columns(records, limit=expansion_limit(stored.payload_bytes), release=True,
                                     on_progress=lambda f: report(_READ_SHARE + f * (1 - _READ_SHARE), "indexing"))
        except UserError as exc:
            raise UserError(f"{path}: {exc}") from None
        del stored, records
    conventions = override or (meta and from_meta(meta)) or from_content(raw)
    return normalize(raw, conventions), conventions, meta
