"""What of FashionFail is in the cache, per split: cheap (one annotation read and a stat per image)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui import paths
from tui.dataset.annotations import IMAGE_SUFFIXES, SPLITS, read_annotations
from tui.dataset.record import VerifiedRecord
from tui.errors import UserError


@dataclass(frozen=True)
class SplitState:
    split: str
    annotations: Path
    images_dir: Path
    annotations_present: bool
    expected: int | None
    """Images the annotation file lists; None without a readable annotation file."""
    present: int
    """Of those, how many are in images_dir (without annotations: image files in images_dir)."""
    verified: int
    """Of those, how many a fetch decoded and found the right size, unchanged since."""
    problem: str | None = None
    """Why the annotation file could not be read."""

    @property
    def complete(self) -> bool:
        return self.expected is not None and self.verified == self.expected

    def as_json(self) -> dict:
        return {"split": self.split, "annotations": str(self.annotations), "images_dir": str(self.images_dir),
                "annotations_present": self.annotations_present, "expected": self.expected,
                "present": self.present, "verified": self.verified, "complete": self.complete,
                "problem": self.problem}


def split_state(split: str) -> SplitState:
    annotations, images_dir = paths.fashionfail_annotations(split), paths.fashionfail_images(split)
    if not annotations.is_file():
        found = sum(1 for f in images_dir.glob("*") if f.suffix.lower() in IMAGE_SUFFIXES) if images_dir.is_dir() else 0
        return SplitState(split, annotations, images_dir, False, None, found, 0)
    try:
        entries = read_annotations(annotations)
    except UserError as exc:
        return SplitState(split, annotations, images_dir, True, None, 0, 0, problem=str(exc))
    record = VerifiedRecord(split)
    present = [e for e in entries if e.problem is None and (images_dir / e.name).is_file()]
    verified = sum(1 for e in present if record.is_verified(e, images_dir / e.name))
    return SplitState(split, annotations, images_dir, True, len(entries), len(present), verified)


def dataset_states() -> list[SplitState]:
    return [split_state(split) for split in SPLITS]


def describe_split(state: SplitState) -> str:
    """'test: 1001/1001 images', 'val: 12/150 images (3 not verified)', 'train: no annotations'."""
    if state.problem:
        return f"{state.split}: annotation file unreadable"
    if state.expected is None:
        return f"{state.split}: no annotations"
    unchecked = state.present - state.verified
    return f"{state.split}: {state.verified}/{state.expected} images" + (f" ({unchecked} not verified)" if unchecked else "")


def fetch_hint(states: list[SplitState]) -> str | None:
    """The command that fetches what is missing, None when every split is complete."""
    missing = [s.split for s in states if not s.complete]
    if not missing:
        return None
    return f"fashionfail-tui dataset fetch --split {missing[0] if len(missing) == 1 else 'all'}"


def describe_dataset(states: list[SplitState]) -> str:
    """'FashionFail: test: 1001/1001 images · val: no annotations · ... (fetch: fashionfail-tui dataset fetch ...)'"""
    hint = fetch_hint(states)
    return "FashionFail: " + " · ".join(describe_split(s) for s in states) + (f" (fetch: {hint})" if hint else "")
