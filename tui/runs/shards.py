"""Shards: the I-th of N deterministic parts of a run's sorted image list.

Shard numbers are 0-based (0 <= I < N) so they equal SLURM's array task ids (`--array=0-(N-1)`).
Shard I takes the contiguous slice `images[I*T//N:(I+1)*T//N]` of the T sorted images, so joining
the shards in order gives exactly the single run's image order. The runners' `select_images` and
`shard_of` (runners/run_files.py) decide both; the app calls them rather than repeating them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tui.errors import UserError
from tui.runs.runner_files import run_files

_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True, order=True)
class Shard:
    index: int
    count: int

    def __post_init__(self):
        if self.count < 1 or not 0 <= self.index < self.count:
            raise UserError(f"shard {self.index}/{self.count} does not exist: shards are numbered 0..N-1")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """'3/16' -> Shard(3, 16); a UserError for anything else."""
        match = _SPEC.fullmatch(text)
        if not match:
            raise UserError(f"--shard wants I/N (0-based, e.g. 0/4 .. 3/4), not {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def width(self) -> int:
        """Digits in file names: at least 3, so names sort in shard order."""
        return max(3, len(str(self.count)))

    @property
    def tag(self) -> str:
        """'shard-003-of-016': the part of a shard's file names that says which shard it is."""
        return f"shard-{self.index:0{self.width}d}-of-{self.count:0{self.width}d}"

    def file_name(self, model_name: str, suffix: str = ".npz") -> str:
        return f"{model_name}.{self.tag}{suffix}"

    def select(self, items: list) -> list:
        """This shard's part of the (already sorted) list, as the runner takes it."""
        return run_files().shard_of(items, (self.index, self.count))


def all_shards(count: int) -> list[Shard]:
    return [Shard(index, count) for index in range(count)]


def list_images(folder: Path) -> list[str]:
    """The images a run over `folder` covers, in order: the runners' own listing."""
    return run_files().select_images(str(folder))
