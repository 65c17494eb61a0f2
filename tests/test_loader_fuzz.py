"""Fuzzing the loader: damaged .npy/.npz files, pickles and masks either load or fail with one line.

Hypothesis draws the damage (tests/mutations.py) and the reader runs in this process, so anything
but a one-line UserError fails the test; a seeded batch of the same mutations also runs in a
subprocess under the 3 GiB limit, where a crash in C code is an exit status and every mask the
validator passes is handed to pycocotools. Profiles: `quick` (the default, well under a minute)
and `thorough` (FASHIONFAIL_FUZZ=thorough, about twenty times as many cases). `pytest -s` prints
how many cases ran.
"""

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mutations
import prediction_files as pf
from tests.helpers.runs import ROOT, confine_address_space, confined_cli
from tui.errors import UserError
from tui.predictions import rle
from tui.predictions.columns import decode_mask
from tui.predictions.formats import from_name
from tui.predictions.loading import read_columns

settings.register_profile("quick", max_examples=300, deadline=None, database=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", parent=settings.get_profile("quick"), max_examples=6000)
PROFILE = settings.get_profile(os.environ.get("FASHIONFAIL_FUZZ", "quick"))
BATCH_CASES = {"quick": 2000, "thorough": 40000}[os.environ.get("FASHIONFAIL_FUZZ", "quick")]

BASES = mutations.base_pickles()
FOLDER = Path(tempfile.mkdtemp(prefix="fashionfail-fuzz-"))
CASES: Counter = Counter()


BATCH: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def cases_run():
    yield
    print(f"\nloader fuzz: {sum(CASES.values()):,} cases in this process "
          f"({', '.join(f'{k} {v:,}' for k, v in sorted(CASES.items()))}); "
          f"{BATCH.pop('cases', 0):,} seeded cases in a subprocess "
          f"({', '.join(f'{k} {v:,}' for k, v in sorted(BATCH.items()))})")


def outcome(path: Path, family: str | None = None) -> str:
    """'loaded' (every mask then decoded or refused with one line) or 'refused' with one line; else the test fails."""
    try:
        columns, _, _ = read_columns(path, from_name(family) if family else None)
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
        return "refused"
    for row in range(len(columns.scores)):
        mask = columns.rle(row)
        if mask is not None:
            try:
                decode_mask(mask)
            except UserError as exc:
                assert "\n" not in str(exc)
    return "loaded"


@PROFILE
@given(base=st.sampled_from(sorted(BASES)), action=st.sampled_from(mutations.BYTE_ACTIONS),
       position=st.integers(0, 1 << 20), value=st.integers(0, 255), length=st.integers(1, 16))
def test_damaged_npy_files(base, action, position, value, length):
    header, payload = BASES[base]
    path = mutations.write_npy(FOLDER / "damaged.npy", b"",
                               mutations.mutate_bytes(header + payload, action, position, value, length))
    CASES[f"npy bytes {outcome(path)}"] += 1


@PROFILE
@given(base=st.sampled_from(sorted(BASES)), action=st.sampled_from(mutations.OPCODE_ACTIONS),
       index=st.integers(0, 1 << 20), value=st.integers(0, 1 << 16), again=st.booleans())
def test_damaged_pickle_opcodes(base, action, index, value, again):
    header, payload = BASES[base]
    payload = mutations.mutate_opcodes(payload, action, index, value)
    if again:  # a second change, at a place the first one moved
        payload = mutations.mutate_bytes(payload, "flip", index * 31 + value, value)
    path = mutations.write_stored_npz(FOLDER / "damaged.npz", header, payload)
    CASES[f"pickle opcodes {outcome(path)}"] += 1


@PROFILE
@given(action=st.sampled_from(mutations.BYTE_ACTIONS), position=st.integers(0, 1 << 20), value=st.integers(0, 255))
def test_damaged_deflated_npz(action, position, value):
    good = pf.write_npz(FOLDER / "good.npz", pf.facere_records()).read_bytes()
    path = FOLDER / "damaged.npz"
    path.write_bytes(mutations.mutate_bytes(good, action, position, value))
    CASES[f"zip bytes {outcome(path)}"] += 1


@PROFILE
@given(detection=st.integers(0, 1), family=st.sampled_from(["facere", "fformer"]), detect=st.booleans(),
       counts_action=st.sampled_from((None, *mutations.COUNTS_ACTIONS)), size_action=st.sampled_from((None, *mutations.SIZE_ACTIONS)),
       position=st.integers(0, 1 << 10), value=st.integers(0, 1 << 10))
def test_damaged_masks(detection, family, detect, counts_action, size_action, position, value):
    good = pf.rle(*pf.RECTANGLES[detection])
    mask = {"size": good["size"], "counts": good["counts"]}
    if counts_action:
        mask["counts"] = mutations.mutate_counts(mask["counts"], counts_action, position, value)
    if size_action:
        mask["size"] = mutations.mutate_size(mask["size"], size_action, value)
    try:
        rle.checked([mask])
        verdict = "valid"
    except rle.InvalidMask as exc:
        assert "\n" not in str(exc)
        verdict = "invalid"
    path = pf.write_npz(FOLDER / "masks.npz", mutations.records_with_mask(detection, mask, family))
    CASES[f"{verdict} mask, file {outcome(path, None if detect else family)}"] += 1


def test_a_seeded_batch_never_crashes_the_reader_or_pycocotools():
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "fuzz_batch.py"), "--cases", str(BATCH_CASES)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=confine_address_space)
    assert result.returncode == 0, f"exit {result.returncode} after {result.stderr.splitlines()[-1:]}"
    summary = json.loads(result.stdout)
    assert summary["unexpected"] == []
    outcomes = summary["outcomes"]
    assert outcomes["files loaded"] and outcomes["files refused"] and outcomes["masks agreed with pycocotools"]
    assert outcomes["masks refused"]
    BATCH.update(outcomes, cases=summary["cases"])


def test_the_real_cli_survives_a_few_damaged_pickles(tmp_path):
    """The same damage through `fashionfail-tui inspect`, fork and index included: exit 0 or 2."""
    header, payload = BASES["facere-numpy1"]
    for index in range(0, len(mutations.opcode_spans(payload)), 40):
        path = mutations.write_stored_npz(tmp_path / f"d{index}.npz", header,
                                          mutations.mutate_opcodes(payload, "delete-op", index, 0))
        result = confined_cli("inspect", path, "--json")
        assert result.returncode in (0, 2) and "Traceback" not in result.stderr, result.stderr[-2000:]
        CASES["cli inspect exit 0 or 2"] += 1
