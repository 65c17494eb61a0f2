"""Reading `.npy`/`.npz` object arrays without trusting their pickles.

Prediction files store a list of dicts, which numpy can only write as a pickled object array.
Loading them with numpy's `allow_pickle` switched on would run whatever that pickle says; here
the zip and `.npy` structure is read directly and the pickle goes through `RestrictedUnpickler`.
It resolves only the names numpy 1.x and 2.x write for such an array, and not to numpy's own
constructors but to checked stand-ins: an object array is built only from a list of objects the
unpickler made (never over raw bytes, which numpy would follow as pointers), a number array only
from exactly the bytes its shape and dtype need, a dtype only from the state numpy writes for it.
Everything built is charged to a budget of MAX_EXPANSION times what the file holds, and a `.npy`
header announcing more than its file holds is refused before anything is read.
"""

from __future__ import annotations

import io
import math
import pickle
import queue
import re
import threading
import tokenize
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from numpy.lib import format as npy_format

from tui.errors import UserError, described
from tui.units import human_size

Progress = Callable[[float], None]
"""Receives the fraction (0..1) of the current stream read so far."""

MAX_EXPANSION = 8
"""What reading a file may build per byte it holds (decompressed): arrays while unpickling, then the
columns and the cache's index. Real prediction files need about 1 to 2."""
EXPANSION_SLACK = 16 << 20
"""Bytes allowed on top, so that tiny files need no arithmetic."""


def expansion_limit(payload_bytes: int) -> int:
    """The most bytes anything built from `payload_bytes` of a file may take."""
    return MAX_EXPANSION * payload_bytes + EXPANSION_SLACK


READING_MEMORY_FLOOR = 1 << 30
READING_MEMORY_PER_BYTE = 64


def reading_allowance(file_bytes: int) -> int:
    """The address space reading a file of `file_bytes` on disk may add (the reading child's
    RLIMIT_AS, see tui.predictions.isolation): a floor for numpy, zlib and the unpickler's tables,
    plus room for the records a compressed pickle unfolds into."""
    return READING_MEMORY_FLOOR + READING_MEMORY_PER_BYTE * file_bytes


class RefusedPickle(UserError):
    """The pickle asks for something a prediction file never needs."""


def _refuse(reason: str) -> RefusedPickle:
    return RefusedPickle(f"refused to load: its pickle {reason}, which numpy never writes (the file may be hostile)")


class _Budget:
    """Bytes of array data one load may build: each array is charged what it takes, even where its
    data is shared with another through the pickle's memo."""

    def __init__(self, payload_bytes: int):
        self.payload_bytes = payload_bytes
        self.limit = expansion_limit(payload_bytes)
        self.used = 0

    def charge(self, nbytes: int) -> None:
        self.used += nbytes
        if self.used > self.limit:
            raise RefusedPickle(f"refused to load: its pickle builds arrays of more than {human_size(self.limit)} "
                                f"from {human_size(self.payload_bytes)} (the file may be hostile)")


_DTYPE_NAME = re.compile(r"b1|[iu][1248]|f[248]|c8|c16|O8|[US][1-9][0-9]{0,8}")
"""The dtypes a prediction file's arrays and scalars have: numbers, bools, str and bytes, objects."""


class _DtypeRequest:
    """`numpy.dtype(name, False, True)` as a pickle writes it; it becomes a dtype only when the state
    BUILD gives it is exactly the one numpy writes for that dtype (a crafted state could, say, clear
    the flags that make numpy treat an object dtype's items as references)."""

    __slots__ = ("name", "dtype")

    def __init__(self, name, align=False, copy=True):
        if type(name) is not str or not _DTYPE_NAME.fullmatch(name) or align is not False or copy is not True:
            raise _refuse(f"asks for a dtype {name!r:.40}")
        self.name, self.dtype = name, None

    def __setstate__(self, state) -> None:
        if self.dtype is not None:
            raise _refuse("sets a dtype's state twice")
        if type(state) is not tuple or len(state) != 8 or state[1] not in ("<", ">", "|"):
            raise _refuse(f"gives dtype {self.name} a state it never has")
        kind = self.name[0]
        if kind in "US" and type(state[5]) is int and state[5] > 0:  # the state's size is the real one
            candidate = np.dtype(f"{kind}{state[5] // (4 if kind == 'U' else 1)}")
        else:
            candidate = np.dtype(self.name)
        if state[1] != "|":
            candidate = candidate.newbyteorder(state[1])
        expected = candidate.__reduce__()[2]
        if not all(type(given) is type(wanted) and given == wanted for given, wanted in zip(state, expected)):
            raise _refuse(f"gives dtype {self.name} a state it never has")
        self.dtype = candidate


def _count_of(shape) -> int:
    """How many items `shape` announces (numpy refuses negative and non-integer sizes itself)."""
    count = math.prod(shape) if type(shape) is tuple and len(shape) <= 32 else None
    if type(count) is not int or count < 0:
        raise _refuse("gives an array a shape that is not a tuple of sizes")
    return count


def _dtype_of(request) -> np.dtype:
    if type(request) is not _DtypeRequest or request.dtype is None:
        raise _refuse("describes an array without a dtype numpy wrote")
    return request.dtype


class _UnpickledArray(np.ndarray):
    """An array the restricted unpickler makes: numpy's own state-setting, after a check that an
    object array's items are a list (objects the unpickler made, never raw bytes it would follow
    as pointers) and a number array's bytes are exactly as many as its shape and dtype need.

    Each load uses a subclass of its own whose `budget` the arrays are charged to. Pickled again
    (a merge writes records back), it is a plain ndarray.
    """

    __slots__ = ()
    budget: _Budget

    def __setstate__(self, state) -> None:
        try:
            version, shape, request, fortran_order, data = state
        except (TypeError, ValueError):
            raise _refuse("gives an array a state numpy never writes") from None
        dtype, count = _dtype_of(request), _count_of(shape)
        if version != 1 or type(fortran_order) is not bool:
            raise _refuse("gives an array a state numpy never writes")
        if dtype.hasobject:
            if type(data) is not list or len(data) != count:
                raise _refuse("builds an object array from something other than a list of its items")
        elif type(data) is not bytes or len(data) != count * dtype.itemsize:
            raise _refuse(f"gives a {dtype} array of shape {shape} other than its {count * dtype.itemsize} bytes")
        self.budget.charge(count * dtype.itemsize)
        np.ndarray.__setstate__(self, (1, shape, dtype, fortran_order, data))

    def __reduce_ex__(self, protocol):
        return self.view(np.ndarray).__reduce_ex__(protocol)

    def __reduce__(self):
        return self.view(np.ndarray).__reduce__()


class _Ndarray:
    """What the pickle's `numpy.ndarray` resolves to: the class argument of _reconstruct, never
    called (called with a buffer, strides and offset, it would lay an array over any bytes)."""

    def __call__(self, *arguments, **keywords):
        raise _refuse("calls numpy.ndarray directly")


_NDARRAY = _Ndarray()


class _Constructors:
    """numpy's constructors as one load's pickle may call them: checked, charged to one budget."""

    def __init__(self, payload_bytes: int):
        self.budget = _Budget(payload_bytes)
        self.array_class = type("UnpickledArray", (_UnpickledArray,), {"__slots__": (), "budget": self.budget})

    def reconstruct(self, cls, shape, typecode) -> _UnpickledArray:
        """numpy's `_reconstruct(ndarray, (0,), b'b')`: an empty array whose state BUILD then sets."""
        if cls is not _NDARRAY or shape != (0,) or typecode != b"b":
            raise _refuse("reconstructs an array other than numpy does")
        return np.ndarray.__new__(self.array_class, (0,), np.int8)

    def frombuffer(self, buffer, request, shape, order) -> _UnpickledArray:
        """numpy 2's `_frombuffer(bytes, dtype, shape, order)` for arrays of numbers (protocol 5)."""
        dtype, count = _dtype_of(request), _count_of(shape)
        if dtype.hasobject or type(buffer) not in (bytes, bytearray) or order not in ("C", "F"):
            raise _refuse("builds an array from a buffer other than numbers")
        if len(buffer) != count * dtype.itemsize:
            raise _refuse(f"gives a {dtype} array of shape {shape} other than its {count * dtype.itemsize} bytes")
        self.budget.charge(len(buffer))
        return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order).view(self.array_class)

    def scalar(self, request, data):
        """numpy's `scalar(dtype, bytes)` for a number, str or bytes scalar."""
        dtype = _dtype_of(request)
        if dtype.hasobject or type(data) is not bytes or len(data) != dtype.itemsize:
            raise _refuse(f"builds a {dtype} scalar from something other than its {dtype.itemsize} bytes")
        self.budget.charge(len(data))
        return np.frombuffer(data, dtype=dtype)[0]


_CONSTRUCTORS = {
    "_reconstruct": ("numpy.core.multiarray", "numpy._core.multiarray"),
    "scalar": ("numpy.core.multiarray", "numpy._core.multiarray"),
    "_frombuffer": ("numpy.core.numeric", "numpy._core.numeric"),
}
"""Where numpy 1.x (numpy.core) and 2.x (numpy._core) put what their pickles call."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays, dicts, lists, tuples, str, bytes and numbers, nothing else.

    numpy's names resolve to checked stand-ins (never to numpy's own constructors), and everything
    they build is charged to one budget of `expansion_limit(payload_bytes)` bytes.
    """

    def __init__(self, stream: IO[bytes], payload_bytes: int):
        super().__init__(stream)
        constructors = _Constructors(payload_bytes)
        built = {"_reconstruct": constructors.reconstruct, "scalar": constructors.scalar,
                 "_frombuffer": constructors.frombuffer}
        self._names = {(module, name): built[name] for name, modules in _CONSTRUCTORS.items() for module in modules}
        self._names[("numpy", "ndarray")] = _NDARRAY
        self._names[("numpy", "dtype")] = _DtypeRequest

    def find_class(self, module: str, name: str):
        try:
            return self._names[(module, name)]
        except KeyError:
            asked = " ".join(f"{module}.{name}".split())[:100]  # STACK_GLOBAL names can hold anything
            raise RefusedPickle(f"refused to load: its pickle asks for {asked}, "
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
        self._ended = False
        self._failure: Exception | None = None
        """Once the producer is done: every later read gets EOF, or the error it ended with."""
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
            if self._ended:  # the producer put its last item: another get() would wait forever
                if self._failure is not None:
                    raise self._failure
                return 0
            item = self._chunks.get()
            if isinstance(item, Exception):
                self._ended, self._failure = True, item
                raise item
            if not item:
                self._ended = True
                return 0
            self._pending = memoryview(item)
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


MAX_DEFLATE_RATIO = 1032
"""The most one byte of deflate stream can inflate to: a member cannot hold more than this many
times its compressed size, whatever its header says."""


@dataclass
class StoredArrays:
    """Every array of a `.npz` (by key) or `.npy` (key `arr_0`), and how much the file held."""

    arrays: dict[str, np.ndarray]
    payload_bytes: int
    """The bytes the arrays were read from: a `.npy`'s size, a `.npz`'s members inflated."""


def _read_array(stream: IO[bytes], label: str, size: int, on_progress: Progress | None) -> np.ndarray:
    """One `.npy` payload of at most `size` bytes: plain arrays through numpy (pickle off), object
    arrays through the restricted unpickler; never more memory than the payload justifies."""
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_1_0(stream)
        else:
            shape, fortran_order, dtype = npy_format.read_array_header_2_0(stream)
    except (ValueError, EOFError, SyntaxError, TypeError, tokenize.TokenError) as exc:  # numpy parses the header as Python
        raise UserError(f"{label} is not a readable .npy array ({described(exc)})") from None
    available = size - stream.tell()
    if not dtype.hasobject:
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > available:
            raise UserError(f"{label} announces {human_size(nbytes)} of {dtype} values but holds "
                            f"{human_size(available)}")
        try:
            data = np.frombuffer(stream.read(nbytes), dtype=dtype)
            return data.reshape(shape, order="F" if fortran_order else "C")
        except ValueError:
            raise UserError(f"{label} is truncated") from None
    if dtype != np.dtype(object):
        raise UserError(f"{label} has a structured dtype with objects ({dtype}), which prediction files never use")
    try:
        with io.BufferedReader(_PrefetchingReader(stream, available, on_progress), buffer_size=1 << 20) as ahead:
            array = RestrictedUnpickler(ahead, available).load()
    except RefusedPickle as exc:
        raise RefusedPickle(f"{label}: {exc}") from None
    except (EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{label} is truncated or corrupt ({described(exc) if str(exc) else 'it ends early'})") from None
    except RecursionError:
        raise UserError(f"{label} holds structures nested too deeply to read (the file may be hostile)") from None
    except MemoryError:
        raise UserError(f"{label}: reading it needs more memory than a file of its size may take "
                        "(the file may be hostile)") from None
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            OverflowError, UnicodeDecodeError) as exc:
        raise UserError(f"{label} holds a malformed pickle ({described(exc)})") from None
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape) or array.dtype != dtype:
        raise UserError(f"{label} does not hold the object array its header announces")
    return array.view(np.ndarray)


def read_arrays(path: Path, on_progress: Progress | None = None) -> StoredArrays:
    """Every array of a `.npz` or `.npy`, unpickling only what is safe.

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
                return StoredArrays({"arr_0": _read_array(handle, str(path), size, on_progress)}, size)
            if not zipfile.is_zipfile(handle):
                if head.startswith(b"PK\x03\x04"):  # a zip's first member header, but no directory at the end
                    raise UserError(f"{path} is a truncated or damaged .npz (its zip directory is missing)")
                raise UserError(f"{path} is neither a .npz nor a .npy file")
            return _read_npz(handle, path, on_progress)
    except OSError as exc:
        raise UserError(f"cannot read {path} ({exc.strerror or exc})") from None


def read_member(path: Path, key: str) -> np.ndarray | None:
    """One array of a `.npz`, `key`, through the same checks as `read_arrays` and without reading the
    others (a run's `meta`); None when the file is a zip without that member. UserError as `read_arrays`."""
    path = Path(path)
    try:
        with open(path, "rb") as handle, zipfile.ZipFile(handle) as archive:
            try:
                member = archive.getinfo(f"{key}.npy")
            except KeyError:
                return None
            with archive.open(member) as stream:
                return _read_array(stream, f"{path} ('{key}')", _member_bound(member, path), None)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError, ValueError) as exc:
        raise UserError(f"{path} is not a readable .npz ({described(exc)})") from None
    except OSError as exc:
        raise UserError(f"cannot read {path} ({exc.strerror or exc})") from None


def _member_bound(member: zipfile.ZipInfo, path: Path) -> int:
    """The most bytes `member` can inflate to, whatever its header claims."""
    if member.compress_type == zipfile.ZIP_STORED:
        return member.compress_size
    if member.compress_type == zipfile.ZIP_DEFLATED:
        return min(member.file_size, member.compress_size * MAX_DEFLATE_RATIO)
    raise UserError(f"{path}: {member.filename} is compressed in a way numpy never writes (method {member.compress_type})")


def _read_npz(handle: IO[bytes], path: Path, on_progress: Progress | None) -> StoredArrays:
    try:
        archive = zipfile.ZipFile(handle)
        members = [m for m in archive.infolist() if m.filename.endswith(".npy")]
        if not members:
            raise UserError(f"{path} is a zip file without .npy arrays, not a prediction file")
        arrays, payload = {}, 0
        for member in members:
            key = member.filename[: -len(".npy")]
            with archive.open(member) as stream:
                arrays[key] = _read_array(stream, f"{path} ('{key}')", _member_bound(member, path), on_progress)
                payload += stream.tell()
        return StoredArrays(arrays, payload)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
        # zipfile raises the last two for encrypted or unsupported members, which a damaged header can claim
        raise UserError(f"{path} is truncated or corrupt ({described(exc)})") from None
