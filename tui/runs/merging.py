"""Joining a run's shard files into the one prediction file a single run over all images writes.

The shards must be every part 0..N-1 of the same run: same model, score threshold and image set
(the runner records a fingerprint of the full sorted image list in each shard's `meta`). Their
records are concatenated in shard order, which is the single run's order; the merged `meta` is the
shards' shared fields plus each shard's timings under `shards`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tui.errors import UserError
from tui.predictions import isolation
from tui.predictions.columns import records_to_columns
from tui.predictions.formats import parse_meta
from tui.predictions.loading import records_of
from tui.predictions.safe_pickle import expansion_limit, read_arrays, reading_allowance
from tui.runs.runner_files import run_files
from tui.runs.shards import Shard

MATCHING_FIELDS = ("model", "family", "model_file", "score_threshold", "box_format", "class_ids", "image_set",
                   "image_dir", "environment_note")
"""Meta fields every shard of one run shares; any difference means a shard of another run."""
REQUIRED_FIELDS = ("started", "finished", "images", "detections")
PER_SHARD_FIELDS = ("shard", "started", "finished", "images", "detections", "providers", "host")
"""What each shard's entry under `shards` in the merged meta keeps."""


@dataclass(frozen=True)
class ShardFile:
    path: Path
    shard: Shard
    meta: dict
    records: np.ndarray


def read_shard(path: Path) -> ShardFile:
    if path.is_dir():
        raise UserError(f"{path} is a folder: pass its shard files, e.g. {path}/*.shard-*.npz")
    if not path.is_file():
        raise UserError(f"shard file {path} does not exist")
    stored = read_arrays(path)  # the browser's restricted loader: never free unpickling
    arrays = stored.arrays
    if "data" not in arrays or "meta" not in arrays:
        raise UserError(f"{path.name} is not a prediction file of this app (no `data` and `meta`)")
    records = records_of(arrays, path)
    try:  # the records pass the browser's checks (masks included) before they are written again
        records_to_columns(records, limit=expansion_limit(stored.payload_bytes), mask_runs=True)
        meta = parse_meta(arrays["meta"])
    except UserError as exc:
        raise UserError(f"{path.name}: {exc}") from None
    try:
        shard = Shard(int(meta["shard"]["index"]), int(meta["shard"]["count"]))
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{path.name} is not a shard (its meta names no shard I/N)") from None
    lacking = [key for key in REQUIRED_FIELDS if key not in meta]
    if lacking:
        raise UserError(f"{path.name} is not a complete shard file: its meta lacks {', '.join(lacking)}")
    return ShardFile(path, shard, meta, records)


def _shown(value) -> str:
    """A meta value for a one-line message; an image set by its size and hash prefix."""
    if isinstance(value, dict) and "sha256" in value:
        return f"{value.get('count')} images ({str(value['sha256'])[:12]})"
    return repr(value)


def _check_complete(shards: list[ShardFile]) -> list[ShardFile]:
    """The shards in order; a UserError for a mismatched, duplicate or missing one."""
    first = shards[0]
    for other in shards[1:]:
        for key in MATCHING_FIELDS:
            if other.meta.get(key) != first.meta.get(key):
                raise UserError(f"{other.path.name} is from another run than {first.path.name}: "
                                f"{key} {_shown(other.meta.get(key))} != {_shown(first.meta.get(key))}")
        if other.shard.count != first.shard.count:
            raise UserError(f"{other.path.name} is shard {other.shard} but {first.path.name} is shard {first.shard}: "
                            "different shard counts")
    by_index: dict[int, ShardFile] = {}
    for shard_file in shards:
        seen = by_index.setdefault(shard_file.shard.index, shard_file)
        if seen is not shard_file:
            raise UserError(f"shard {shard_file.shard} given twice: {seen.path.name} and {shard_file.path.name}")
    missing = [i for i in range(first.shard.count) if i not in by_index]
    if missing:
        names = ", ".join(Shard(i, first.shard.count).file_name(first.meta.get("model", "MODEL")) for i in missing)
        raise UserError(f"missing {len(missing)} of {first.shard.count} shards: {names}")
    return [by_index[i] for i in range(first.shard.count)]


def merged_meta(shards: list[ShardFile]) -> dict:
    """A single run's meta (its fields summed or joined over the shards) plus `shards`: each one's own."""
    meta = {key: value for key, value in shards[0].meta.items() if key not in ("shard", "host")}
    metas = [s.meta for s in shards]
    meta["started"] = min(m["started"] for m in metas)
    meta["finished"] = max(m["finished"] for m in metas)
    meta["images"] = sum(m["images"] for m in metas)
    meta["detections"] = sum(m["detections"] for m in metas)
    meta["providers"] = list(dict.fromkeys(p for m in metas for p in m.get("providers", [])))
    for key in ("skipped", "timings"):  # per-image dicts: joined in shard order, which is image order
        meta[key] = {name: value for m in metas for name, value in m.get(key, {}).items()}
    meta["shards"] = [{key: m[key] for key in PER_SHARD_FIELDS if key in m} for m in metas]
    return meta


def merge_files(files: list[Path], out: Path) -> Path:
    """Check the shards, join them, write `out`; returns it. The shards are read, and `out`
    written, in a child process (tui.predictions.isolation): a hostile shard costs one line, never the caller."""
    if not files:
        raise UserError("no shard files given")
    files = [Path(f) for f in files]

    def merge(report) -> str:
        shards = _check_complete([read_shard(f) for f in files])
        records = [record for s in shards for record in s.records]
        out.parent.mkdir(parents=True, exist_ok=True)
        run_files().write_npz_atomically(str(out), records, merged_meta(shards))
        return str(out)

    size = sum(f.stat().st_size for f in files if f.is_file())
    isolation.run(merge, what=", ".join(f.name for f in files), allowance=reading_allowance(size),
                  on_progress=lambda fraction, stage: None)
    return out

