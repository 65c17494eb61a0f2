"""A seeded batch of damaged files and masks through the loader and pycocotools, in this process.

    python tests/fuzz_batch.py --cases 2000 --seed 13

test_loader_fuzz.py runs it in a subprocess, so that a crash in C code shows as an exit status
(the last `case N KIND` line on stderr names the case). Every case must either load or fail with
a UserError; every mask that passes the validator is then handed to pycocotools (decode, area,
toBbox, iou, merge), whose decoding must agree with ours. Prints one JSON summary on stdout.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import numpy as np  # noqa: E402
from pycocotools import mask as mask_utils  # noqa: E402

import mutations  # noqa: E402
import prediction_files as pf  # noqa: E402
from tui.errors import UserError  # noqa: E402
from tui.predictions import rle  # noqa: E402
from tui.predictions.columns import decode_mask  # noqa: E402
from tui.predictions.loading import read_columns  # noqa: E402

KINDS = ("npy-bytes", "npz-opcodes", "npz-deflated-bytes", "mask-file", "mask")


def damaged_file(kind: str, rng: random.Random, folder: Path, bases: dict) -> Path:
    name = rng.choice(sorted(bases))
    header, payload = bases[name]
    if kind == "npy-bytes":
        data = mutations.mutate_bytes(header + payload, rng.choice(mutations.BYTE_ACTIONS), rng.randrange(1 << 20),
                                      rng.randrange(256), rng.randrange(1, 16))
        return mutations.write_npy(folder / "case.npy", b"", data)
    if kind == "npz-opcodes":
        payload = mutations.mutate_opcodes(payload, rng.choice(mutations.OPCODE_ACTIONS), rng.randrange(1 << 20),
                                           rng.randrange(1 << 16))
        return mutations.write_stored_npz(folder / "case.npz", header, payload)
    if kind == "npz-deflated-bytes":
        data = pf.write_npz(folder / "good.npz", pf.facere_records()).read_bytes()
        (folder / "case.npz").write_bytes(mutations.mutate_bytes(data, rng.choice(mutations.BYTE_ACTIONS),
                                                                 rng.randrange(1 << 20), rng.randrange(256)))
        return folder / "case.npz"
    if kind == "mask-file":
        records = mutations.records_with_mask(rng.randrange(2), damaged_mask(rng), rng.choice(("facere", "fformer")))
        return pf.write_npz(folder / "case.npz", records)
    raise ValueError(kind)


def damaged_mask(rng: random.Random) -> dict:
    good = pf.rle(*pf.RECTANGLES[rng.randrange(2)])
    if rng.random() < 0.6:
        counts = mutations.mutate_counts(good["counts"], rng.choice(mutations.COUNTS_ACTIONS), rng.randrange(1 << 10),
                                         rng.randrange(256))
        return {"size": good["size"], "counts": counts}
    return {"size": mutations.mutate_size(good["size"], rng.choice(mutations.SIZE_ACTIONS), rng.randrange(1 << 10)),
            "counts": good["counts"]}


def through_pycocotools(mask: dict, tally: Counter) -> None:
    """A mask the validator passed: pycocotools must take it safely and decode it as we do."""
    try:
        normalized = rle.checked_one(mask)
    except UserError:
        tally["masks refused"] += 1
        return
    ours = decode_mask(normalized)
    theirs = mask_utils.decode(normalized).astype(bool)
    if not np.array_equal(ours, theirs) or int(mask_utils.area(normalized)) != int(ours.sum()):
        raise AssertionError(f"pycocotools decodes {normalized!r} differently")
    mask_utils.toBbox([normalized])
    mask_utils.iou([normalized], [normalized], [0])
    mask_utils.merge([normalized, normalized])
    tally["masks agreed with pycocotools"] += 1


def run_case(kind: str, rng: random.Random, folder: Path, bases: dict, tally: Counter) -> None:
    if kind == "mask":
        through_pycocotools(damaged_mask(rng), tally)
        return
    path = damaged_file(kind, rng, folder, bases)
    try:
        columns, _, _ = read_columns(path)
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc), repr(exc)
        tally["files refused"] += 1
        return
    tally["files loaded"] += 1
    for row in range(len(columns.scores)):
        mask = columns.rle(row)
        if mask is not None:
            through_pycocotools(mask, tally)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    bases = mutations.base_pickles()
    tally: Counter = Counter()
    unexpected = []
    with tempfile.TemporaryDirectory() as folder:
        for number in range(args.cases):
            kind = KINDS[number % len(KINDS)]
            print(f"case {number} {kind}", file=sys.stderr, flush=True)
            try:
                run_case(kind, rng, Path(folder), bases, tally)
            except Exception as exc:  # noqa: BLE001 - what the test reports
                unexpected.append(f"case {number} {kind}: {type(exc).__name__}: {exc}"[:500])
    print(json.dumps({"cases": args.cases, "seed": args.seed, "outcomes": dict(tally), "unexpected": unexpected}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
