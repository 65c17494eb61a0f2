"""Reading `.npy`/`.npz` object arrays without trusting their pickles.

Prediction files store a list of dicts, which numpy can only write as a pickled object array.
Loading them with numpy's `allow_pickle` switched on would run whatever that pickle says; here
the zip and `.npy` structure is read directly and the pickle goes through `RestrictedUnpickler`, which resolves
only the few names an object array of dicts needs (as numpy 1.x and 2.x write them) and refuses
every other name before anything is called.
"""

from __future__ import annotations

import io
import pickle
import queue
import threading
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np
from numpy.lib import format as npy_format

from tui.errors import UserError

Progress = Callable[[float], None]
"""Receives the fraction (0..1) of the current stream read so far."""

# numpy's own callables, taken from live objects so this works on numpy 1.x and 2.x alike.
_RECONSTRUCT = np.ndarray.__reduce__(np.ndarray((0,)))[0]
_SCALAR = np.float32(0).__reduce__()[0]
_FROMBUFFER = np.arange(2).__reduce_ex__(5)[0]

_ALLOWED = {
    # numpy 2.x writes numpy._core, numpy 1.x numpy.core.
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
"""Everything the pickle of an object array of dicts names (protocol 3 as numpy 1.x writes it, 4 or 5
as numpy 2.x does). Dicts, lists, tuples, str, bytes and numbers have opcodes of their own."""


class RefusedPickle(UserError):
    """The pickle names something other than numpy arrays, dtypes and plain containers."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays, dicts, lists, tuples, str, bytes and numbers, nothing else."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedPickle(f"refused to load: its pickle asks for {module}.{name}, "
                                "which a prediction file never needs (the file may be hostile)") from None

    def persistent_load(self, pid):
        raise RefusedPickle("refused to load: its pickle uses persistent ids, which a prediction file never needs")


class _PrefetchingReader(io.RawIOBase):
    """A read-only stream fed by a thread that reads (and, for a zip member, inflates) ahead.

    zlib releases the GIL, so inflating overlaps with unpickling; the reader also reports how far
    into `total` bytes it is.
    """

    _CHUNK = 1 << 20
    _DEPTH = 16

    def __init__(self, stream: IO[bytes], total: int, on_progress: Progress | None):
        super().__init__()
        self._total, self._on_progress = max(total, 1), on_progress
        self._done = self._next_report = 0
        self._pending = memoryview(b"")
        self._chunks: queue.Queue = queue.Queue(self._DEPTH)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(stream,), daemon=True, name="prediction-reader")
        self._thread.start()

    def _produce(self, stream: IO[bytes]) -> None:
        try:
            while not self._stopped.is_set():
                chunk = stream.read(self._CHUNK)
                self._put(chunk)
                if not chunk:
                    return
        except Exception as exc:  # handed to the reading thread, which raises it
            self._put(exc)

    def _put(self, item) -> None:
        while not self._stopped.is_set():
            try:
                self._chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self._pending:
            item = self._chunks.get()
            if isinstance(item, Exception):
                raise item
            self._pending = memoryview(item)
            if not item:
                return 0
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._done += count
        if self._on_progress is not None and self._done >= self._next_report:
            self._on_progress(min(self._done / self._total, 1.0))
            self._next_report = self._done + self._total // 100
        return count

    def close(self) -> None:
        self._stopped.set()
        self._thread.join()
        super().close()


def _read_array(stream: IO[bytes], label: str, size: int, on_progress: Progress | None) -> np.ndarray:
    """One `.npy` payload: plain arrays through numpy (pickle off), object arrays through the restricted unpickler."""
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_1_0(stream)
        else:
            shape, fortran_order, dtype = npy_format.read_array_header_2_0(stream)
    except (ValueError, EOFError) as exc:
        raise UserError(f"{label} is not a readable .npy array ({exc})") from None
    if not dtype.hasobject:
        try:
            count = int(np.prod(shape))
            data = np.frombuffer(stream.read(count * dtype.itemsize), dtype=dtype, count=count)
            return data.reshape(shape, order="F" if fortran_order else "C")
        except ValueError:
            raise UserError(f"{label} is truncated") from None
    if dtype != np.dtype(object):
        raise UserError(f"{label} has a structured dtype with objects ({dtype}), which prediction files never use")
    try:
        with io.BufferedReader(_PrefetchingReader(stream, size, on_progress), buffer_size=1 << 20) as ahead:
            array = RestrictedUnpickler(ahead).load()
    except RefusedPickle as exc:
        raise RefusedPickle(f"{label}: {exc}") from None
    except (EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{label} is truncated or corrupt ({exc or 'ends early'})") from None
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError, OverflowError, UnicodeDecodeError) as exc:
        raise UserError(f"{label} holds a malformed pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise UserError(f"{label} does not hold the object array its header announces")
    return array


def read_arrays(path: Path, on_progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Every array of a `.npz` (by key) or `.npy` (key `arr_0`), unpickling only what is safe.

    Raises UserError for an empty, truncated, foreign or hostile file; never runs the file's code.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UserError(f"cannot read {path} ({exc.strerror or exc})") from None
    if size == 0:
        raise UserError(f"{path} is empty")
    try:
        with open(path, "rb") as handle:
            head = handle.read(6)
            handle.seek(0)
            if head == npy_format.MAGIC_PREFIX:
                return {"arr_0": _read_array(handle, str(path), size, on_progress)}
            if not zipfile.is_zipfile(handle):
                if head.startswith(b"PK\x03\x04"):  # a zip's first member header, but no directory at the end
                    raise UserError(f"{path} is a truncated or damaged .npz (its zip directory is missing)")
                raise UserError(f"{path} is neither a .npz nor a .npy file")
            return _read_npz(handle, path, on_progress)
    except OSError as exc:
        raise UserError(f"cannot read {path} ({exc.strerror or exc})") from None


def _read_npz(handle: IO[bytes], path: Path, on_progress: Progress | None) -> dict[str, np.ndarray]:
    try:
        archive = zipfile.ZipFile(handle)
        members = [m for m in archive.infolist() if m.filename.endswith(".npy")]
        if not members:
            raise UserError(f"{path} is a zip file without .npy arrays, not a prediction file")
        arrays = {}
        for member in members:
            key = member.filename[: -len(".npy")]
            with archive.open(member) as stream:
                arrays[key] = _read_array(stream, f"{path} ('{key}')", member.file_size, on_progress)
        return arrays
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise UserError(f"{path} is truncated or corrupt ({exc})") from None

