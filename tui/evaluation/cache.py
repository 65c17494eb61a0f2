"""Evaluations cached beside the prediction file, as `<file>.eval-<hash>.json`.

The hash covers the SHA-256 of the prediction file and of the annotation file, the IoU type, the
family the file was read as and this module's format version, so a changed file (or a new version of the scoring) misses. The
full hashes are stored inside too and checked on reading. Writing is best effort: a read-only
folder just means no cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from tui import outside_json
from tui.evaluation.results import Evaluation
from tui.files import json_text, write_atomically

FORMAT_VERSION = 1


@dataclass(frozen=True)
class CacheKey:
    predictions_sha256: str
    annotations_sha256: str
    iou_type: str
    family: str
    """The --family the file was read with; empty for detected from the file."""

    def path_beside(self, predictions: Path) -> Path:
        text = f"{FORMAT_VERSION}:{self.predictions_sha256}:{self.annotations_sha256}:{self.iou_type}:{self.family}"
        short = hashlib.sha256(text.encode()).hexdigest()[:12]
        return predictions.with_name(f"{predictions.name}.eval-{short}.json")

    def as_json(self) -> dict:
        return {"version": FORMAT_VERSION, **dataclasses.asdict(self)}


def read(predictions: Path, key: CacheKey, annotations: Path) -> Evaluation | None:
    """The cached evaluation for exactly these files, relabelled with their current paths; None on a miss."""
    try:
        stored = outside_json.read_object(key.path_beside(predictions))
        if stored.get("key") != key.as_json():
            return None
        evaluation = Evaluation.from_dict(stored["evaluation"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return dataclasses.replace(evaluation, file=str(predictions), annotations=str(annotations), from_cache=True)


def _stale_siblings(predictions: Path, key: CacheKey):
    """Cached evaluations of an earlier version of this prediction file."""
    for path in predictions.parent.glob(f"{predictions.name}.eval-*.json"):
        try:
            stored_key = outside_json.read_object(path)["key"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not isinstance(stored_key, dict):
            continue
        if stored_key.get("predictions_sha256") != key.predictions_sha256 or stored_key.get("version") != FORMAT_VERSION:
            yield path


def write(predictions: Path, key: CacheKey, evaluation: Evaluation) -> Path | None:
    target = key.path_beside(predictions)
    try:
        for stale in _stale_siblings(predictions, key):
            stale.unlink(missing_ok=True)
        write_atomically(target, json_text({"key": key.as_json(), "evaluation": evaluation.to_dict()}))
    except OSError:
        return None
    return target
