"""The one check every mask passes before pycocotools' C code sees it.

pycocotools trusts its input: a compressed counts string whose last character says "more follows"
makes `rleFrString` read and write past its buffers, a height of 0 makes `rleToBbox` divide by
zero, and runs adding up to more than h*w make `rleDecode` and `rleMerge` write past the mask. So
every RLE that comes from a file is checked here, in Python, vectorized over many masks at once,
before any pycocotools call: size two positive integers with h*w bounded, counts a well-formed
string in pycocotools' alphabet (or a list of non-negative integers), runs adding up to h*w.

The compressed format (pycocotools' rleToString / rleFrString): each run is a little-endian
base-32 number written as characters '0'+0..63, 0x20 marking "more follows" and 0x10 the sign of
the last character; from the fourth run on, a run is stored as its difference to the run two before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tui.errors import UserError

MAX_PIXELS = (1 << 29) - 1
"""The largest h*w accepted (23,170 pixels square): every run then fits in six characters, the most
pycocotools decodes without overflowing a C int."""
MAX_COUNTS_BYTES = 4 << 20
"""The longest counts string accepted for one mask; a model's mask needs a few kB."""
_MAX_CHARACTERS_PER_RUN = 6
_FIRST_CHARACTER, _LAST_CHARACTER = ord("0"), ord("0") + 63
_CHUNK_BYTES = 1 << 14
"""Counts bytes checked per numpy pass: the 64-bit temporaries (128 kB) stay in a core's cache, which
makes the check twice as fast as with 1 MB passes (bench/bench_eval.py), and memory stays bounded."""


class InvalidMask(UserError):
    """A mask that is not a well-formed pycocotools RLE: `reason`, and the bad one's `row` where known."""

    def __init__(self, reason: str, row: int | None = None):
        self.reason, self.row = reason, row
        super().__init__(f"{'a mask' if row is None else f'mask {row}'} is not a valid RLE: {reason}")


def check_masks(sizes: np.ndarray, offsets: np.ndarray, counts: np.ndarray, *, runs: bool = True) -> None:
    """Check the masks of flat columns: row r's counts are counts[offsets[r]:offsets[r+1]] (an empty
    span means no mask) and its size sizes[r] = (h, w).

    Always checks the sizes and the strings' form (pycocotools' alphabet, each string ending on a
    finished number): what holding and measuring masks needs, a few passes over bytes. With `runs`,
    also decodes every run and checks it (what decoding needs), several passes over 64-bit integers.
    Raises InvalidMask naming the first bad row and why.
    """
    sizes = np.asarray(sizes, dtype=np.int64).reshape(-1, 2)
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.uint8)
    rows = np.flatnonzero(offsets[1:] > offsets[:-1])
    if not rows.size:
        return
    lengths = offsets[rows + 1] - offsets[rows]
    heights, widths = sizes[rows, 0], sizes[rows, 1]
    _raise_first(rows, [
        ((heights < 1) | (widths < 1), "its size is not two positive numbers"),
        (heights * widths > MAX_PIXELS, f"it is larger than {MAX_PIXELS:,} pixels"),
        (lengths > MAX_COUNTS_BYTES, f"its counts are longer than {MAX_COUNTS_BYTES:,} bytes"),
    ])
    row_ends = offsets[rows + 1]
    start = 0
    while start < rows.size:
        end = int(np.searchsorted(row_ends, offsets[rows[start]] + _CHUNK_BYTES, "right"))
        end = min(max(end, start + 1), rows.size)
        chunk = rows[start:end]
        first = int(offsets[chunk[0]])
        values = counts[first:int(offsets[chunk[-1] + 1])] - _FIRST_CHARACTER  # wraps below '0': outside too
        row_starts = offsets[chunk] - first
        outside = values > _LAST_CHARACTER - _FIRST_CHARACTER
        unfinished = (values[offsets[chunk + 1] - first - 1] & 0x20) != 0
        if outside.any() or unfinished.any():
            _raise_first(chunk, [(np.add.reduceat(outside, row_starts), "its counts hold characters outside "
                                  "pycocotools' alphabet"), (unfinished, "its counts end inside a number")])
        if runs:
            _check_runs(chunk, values, row_starts, heights[start:end] * widths[start:end])
        start = end


def _raise_first(rows: np.ndarray, problems: list[tuple[np.ndarray, str]]) -> None:
    """InvalidMask for the lowest row any problem flags, with the first reason that flags it."""
    flagged = [(int(rows[np.flatnonzero(bad)[0]]), order, reason)
               for order, (bad, reason) in enumerate(problems) if bad.any()]
    if flagged:
        row, _, reason = min(flagged)
        raise InvalidMask(reason, row)


def _check_runs(rows: np.ndarray, values: np.ndarray, row_starts: np.ndarray, pixels: np.ndarray) -> None:
    """Decode the well-formed counts `values` (characters - '0') of consecutive masks `rows` and
    check every run; which mask is bad is worked out only once something is."""
    ends = (values & 0x20) == 0
    runs_per_row = np.add.reduceat(ends, row_starts, dtype=np.int64)
    deltas, digits = _deltas(values, ends)
    if digits.max() > _MAX_CHARACTERS_PER_RUN:
        _raise_first(rows, [(np.add.reduceat(digits > _MAX_CHARACTERS_PER_RUN, _first_runs(runs_per_row)),
                             "a run is longer than any mask")])
    runs = _undelta(deltas, runs_per_row)
    bad_runs = (runs < 0) | (runs > np.repeat(pixels, runs_per_row))
    if bad_runs.any():
        _raise_first(rows, [(np.add.reduceat(bad_runs, _first_runs(runs_per_row)),
                             "a run is negative or longer than the mask")])
    totals = np.add.reduceat(runs, _first_runs(runs_per_row))
    _raise_first(rows, [(totals != pixels, "its runs do not add up to its height x width")])


def _first_runs(runs_per_row: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(runs_per_row)[:-1]))


def _deltas(values: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stored numbers and their character counts: 5 bits per character, least significant first,
    0x10 of the last character the sign. `values` must end with a number's last character. (A number
    longer than six characters comes out wrong, but is refused by its count anyway.)"""
    last = np.flatnonzero(ends)
    first = np.empty_like(last)
    first[0], first[1:] = 0, last[:-1] + 1
    digits = last - first + 1
    place = np.arange(values.size) - np.repeat(first, digits)  # each character's place in its number
    parts = (values & 0x1F).astype(np.int64) << np.minimum(5 * place, 5 * _MAX_CHARACTERS_PER_RUN)
    numbers = np.add.reduceat(parts, first)
    negative = (values[last] & 0x10) != 0
    numbers -= np.where(negative, np.left_shift(1, 5 * np.minimum(digits, _MAX_CHARACTERS_PER_RUN + 1)), 0)
    return numbers, digits


def _undelta(deltas: np.ndarray, runs_per_row: np.ndarray) -> np.ndarray:
    """Runs from pycocotools' stored numbers, mask after mask: from the fourth run of a mask on, a
    number is the difference to the run two before. So every other number forms a chain of running
    sums, restarting at each mask's first three runs; the chains are the even and the odd positions."""
    first = _first_runs(runs_per_row)
    restarts = np.arange(deltas.size) - np.repeat(first, runs_per_row) <= 2
    runs = np.empty_like(deltas)
    for parity in (0, 1):  # position 0 and 1 are restarts (first runs of the first mask, or of the next)
        chain = deltas[parity::2]
        sums = np.cumsum(chain)
        latest = np.maximum.accumulate(np.where(restarts[parity::2], np.arange(chain.size), 0))
        runs[parity::2] = sums - (sums - chain)[latest]
    return runs


def checked(rles: Sequence[dict]) -> list[dict]:
    """RLE dicts from anywhere, checked and normalized to {size: [h, w], counts: bytes} for pycocotools.

    Counts may be bytes, an ASCII str, or a list of run lengths (uncompressed); InvalidMask for anything else.
    """
    sizes = np.zeros((len(rles), 2), dtype=np.int64)
    strings = []
    for index, rle in enumerate(rles):
        try:
            sizes[index] = size = size_of(rle["size"])
            strings.append(compressed_counts(rle["counts"], size))
        except InvalidMask as exc:
            raise InvalidMask(exc.reason, index) from None
        except (KeyError, TypeError, IndexError):
            raise InvalidMask("it is not a dict of size and counts", index) from None
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    if (lengths == 0).any():
        raise InvalidMask("its counts are empty", int(np.flatnonzero(lengths == 0)[0]))
    check_masks(sizes, np.concatenate(([0], np.cumsum(lengths))), np.frombuffer(b"".join(strings), dtype=np.uint8))
    return [{"size": [int(h), int(w)], "counts": counts} for (h, w), counts in zip(sizes, strings)]


def size_of(size) -> tuple[int, int]:
    """(h, w) from an RLE's size: two positive integers (numpy's too; not bools or floats) within MAX_PIXELS."""
    try:
        height, width = size
    except (TypeError, ValueError):
        raise InvalidMask("its size is not two numbers") from None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in (height, width)):
        raise InvalidMask("its size is not two integers")
    height, width = int(height), int(width)
    if height < 1 or width < 1 or height * width > MAX_PIXELS:
        raise InvalidMask(f"its size {height}x{width} is not two positive numbers within {MAX_PIXELS:,} pixels")
    return height, width


def compressed_counts(counts, size: tuple[int, int]) -> bytes:
    """pycocotools' counts string of an RLE whose size is checked: bytes as they are, a str in ASCII,
    a list of run lengths checked and compressed. The string itself is checked by check_masks."""
    if isinstance(counts, bytes):
        return counts
    if isinstance(counts, str):
        try:
            return counts.encode("ascii")
        except UnicodeEncodeError:
            raise InvalidMask("its counts hold characters outside pycocotools' alphabet") from None
    if isinstance(counts, (list, tuple, np.ndarray)):
        return _compressed(counts, *size)
    raise InvalidMask(f"its counts are a {type(counts).__name__}")


def _compressed(counts, height: int, width: int) -> bytes:
    """An uncompressed RLE (a list of run lengths) checked, then written as pycocotools' string."""
    from pycocotools import mask as mask_utils  # only ever given runs checked here

    try:
        runs = np.asarray(counts)
    except (ValueError, TypeError, RecursionError):
        raise InvalidMask("its counts are not a list of integers") from None
    if runs.ndim != 1 or runs.dtype.kind not in "iu":
        raise InvalidMask("its counts are not a list of integers")
    if (runs < 0).any() or (runs > height * width).any() or int(runs.sum(dtype=np.int64)) != height * width:
        raise InvalidMask("its runs do not add up to its height x width")
    return mask_utils.frPyObjects({"size": [height, width], "counts": runs.tolist()}, height, width)["counts"]


def checked_one(rle: dict) -> dict:
    """One RLE, checked and normalized as `checked` does; its InvalidMask names no position."""
    try:
        (normalized,) = checked([rle])
    except InvalidMask as exc:
        raise InvalidMask(exc.reason) from None
    return normalized


def runs_of(rle: dict) -> np.ndarray:
    """The run lengths of one RLE, checked: what decoding it in numpy needs."""
    normalized = checked_one(rle)
    values = np.frombuffer(normalized["counts"], dtype=np.uint8) - _FIRST_CHARACTER
    deltas, _ = _deltas(values, (values & 0x20) == 0)
    return _undelta(deltas, np.array([deltas.size]))
