"""Valid prediction files and masks, and the ways the fuzz tests damage them.

Shared by the hypothesis tests (which draw the parameters) and by `fuzz_batch.py` (a seeded batch
run in a subprocess, where a crash shows as an exit status). Each mutation takes explicit
parameters, so any failing case can be replayed.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from pathlib import Path

import numpy as np

import prediction_files as pf

BYTE_ACTIONS = ("flip", "insert", "delete", "overwrite", "truncate", "duplicate")
OPCODE_ACTIONS = ("replace-opcode", "delete-op", "duplicate-op", "swap-ops", "change-argument")
COUNTS_ACTIONS = ("flip", "insert", "delete", "overwrite", "truncate", "append-more-follows", "alphabet-noise")
SIZE_ACTIONS = ("set-height", "set-width", "swap", "drop", "extra", "floats")
OPCODES = sorted({op.code.encode("latin-1")[0] for op in pickletools.opcodes})


def _header(shape) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": shape})
    return header.getvalue()


def _numpy1(array: np.ndarray) -> bytes:
    return pickle.dumps(array, protocol=3).replace(b"cnumpy._core.", b"cnumpy.core.")


def base_pickles() -> dict[str, tuple[bytes, bytes]]:
    """name -> (.npy object-array header, pickle) of each valid layout: numpy 1.x (protocol 3,
    numpy.core), np.save in numpy 2 (protocol 4), protocol 5 (numpy 2's _frombuffer), per family."""
    facere = pf.object_array(pf.facere_records())
    amrcnn = pf.object_array(pf.amrcnn_records())
    fformer = pf.object_array(pf.fformer_records())
    return {
        "facere-numpy1": (_header(facere.shape), _numpy1(facere)),
        "amrcnn-protocol4": (_header(amrcnn.shape), pickle.dumps(amrcnn, protocol=4)),
        "fformer-protocol5": (_header(fformer.shape), pickle.dumps(fformer, protocol=5)),
    }


def mutate_bytes(data: bytes, action: str, position: int, value: int, length: int = 1) -> bytes:
    """`data` with one byte-level change at `position` (taken modulo its length)."""
    value %= 256
    if not data:
        return bytes([value])
    at = position % len(data)
    span = max(1, length)
    if action == "flip":
        return data[:at] + bytes([data[at] ^ (1 << (value % 8))]) + data[at + 1:]
    if action == "insert":
        return data[:at] + bytes([value]) * span + data[at:]
    if action == "delete":
        return data[:at] + data[at + span:]
    if action == "overwrite":
        return data[:at] + bytes([value]) * span + data[at + span:]
    if action == "truncate":
        return data[:at]
    if action == "duplicate":
        return data[:at + span] + data[at:]
    raise ValueError(action)


def opcode_spans(payload: bytes) -> list[tuple[int, int]]:
    """(start, end) of every opcode of a valid pickle, its argument included."""
    starts = [position for _, _, position in pickletools.genops(payload)]
    return list(zip(starts, starts[1:] + [len(payload)]))


def mutate_opcodes(payload: bytes, action: str, index: int, value: int) -> bytes:
    """`payload` (a valid pickle) with opcode number `index` (modulo their count) changed."""
    spans = opcode_spans(payload)
    start, end = spans[index % len(spans)]
    if action == "replace-opcode":
        return payload[:start] + bytes([OPCODES[value % len(OPCODES)]]) + payload[start + 1:]
    if action == "delete-op":
        return payload[:start] + payload[end:]
    if action == "duplicate-op":
        return payload[:end] + payload[start:end] + payload[end:]
    if action == "swap-ops":
        later_start, later_end = spans[(index + 1) % len(spans)]
        if later_start <= start:
            return payload
        return payload[:start] + payload[later_start:later_end] + payload[end:later_start] + payload[start:end] + \
            payload[later_end:]
    if action == "change-argument":
        if end - start < 2:
            return payload
        at = start + 1 + value % (end - start - 1)
        return payload[:at] + bytes([(payload[at] + 1 + value // 7) % 256]) + payload[at + 1:]
    raise ValueError(action)


def mutate_counts(counts: bytes, action: str, position: int, value: int) -> bytes:
    """A compressed RLE string with one change: byte-level, or aimed at its format."""
    if action == "append-more-follows":
        return counts + bytes([48 + (0x20 | value % 32)])
    if action == "alphabet-noise":
        at = position % max(len(counts), 1)
        return counts[:at] + bytes([48 + value % 64]) + counts[at + 1:]
    return mutate_bytes(counts, action, position, value)


def mutate_size(size: list, action: str, value: int):
    """An RLE size with one change; `value` picks from sizes that break C code (0, negative, huge)."""
    pick = (0, -1, 1, 2, 59, 60, 61, 80, 1 << 15, 1 << 31, 1 << 40, -(1 << 31))[value % 12]
    if action == "set-height":
        return [pick, size[1]]
    if action == "set-width":
        return [size[0], pick]
    if action == "swap":
        return [size[1], size[0]]
    if action == "drop":
        return size[:1]
    if action == "extra":
        return [*size, pick]
    if action == "floats":
        return [float(size[0]) + value % 3 / 2, float(size[1])]
    raise ValueError(action)


def write_npy(path: Path, header: bytes, payload: bytes) -> Path:
    path.write_bytes(header + payload)
    return path


def write_stored_npz(path: Path, header: bytes, payload: bytes) -> Path:
    """An .npz whose data member is stored, not deflated: mutations reach the unpickler, the CRC matches."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("data.npy", header + payload)
        archive.writestr("meta.npy", _plain_npy(np.array('{"note": "no family: decided from the content"}')))
    return path


def _plain_npy(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array)
    return stream.getvalue()


def records_with_mask(detection: int, rle: dict, family: str = "facere") -> list[dict]:
    records = pf.fformer_records() if family == "fformer" else pf.facere_records()
    records[0]["masks"][detection % 2] = rle
    return records
