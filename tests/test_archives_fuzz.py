"""Seeded fuzzing of the checkpoint tarball unpacker: mutated good tarballs either unpack to the
expected files or are refused with a UserError, and nothing is ever written outside the cache.

Mutations rewrite one header field of one member (name, type, link target, size, mode, ustar
prefix) and fix the checksum so tarfile reads on, or flip random bytes, cut the file short, or
repeat a member; half the cases are gzipped. The seed is fixed: a failure reproduces exactly.
"""

import gzip
import io
import os
import random
import shutil
import stat
import tarfile
import time

from artifacts import EXPECTED, checkpoint_members, make_tar

from tui.downloads.archives import unpack
from tui.errors import UserError

CASES = 2000
TIME_LIMIT = 60.0
"""Seconds; a loaded machine runs fewer cases, but never fewer than MIN_CASES."""
MIN_CASES = 1000
FOLDER = "fashionpedia-r50-fpn"
TYPES = [tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE,
         tarfile.DIRTYPE, tarfile.FIFOTYPE, tarfile.CONTTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK,
         tarfile.GNUTYPE_SPARSE, tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, b"Z"]
REFUSALS = ("symlink", "hard link", "device file", "fifo", "unknown member type", "climbs out", "absolute path",
            "already uses that name", "without a name", "does not contain the expected", "not a readable tar archive",
            "truncated or corrupt")
"""Each kind of refusal; the fuzzing must meet most of them, or it is not reaching the checks."""
FIELDS = {"name": (0, 100), "mode": (100, 8), "size": (124, 12), "type": (156, 1), "linkname": (157, 100),
          "prefix": (345, 155)}


def _hostile_names(outside):
    return ["../escaped", "../../escaped", f"{FOLDER}/../../escaped", f"{FOLDER}/x/../../../escaped",
            str(outside / "escaped"), "/", ".", "..", "", f"{FOLDER}/checkpoint", f"{FOLDER}/checkpoint/inner",
            FOLDER, "a" * 99, f"{FOLDER}/\x01ctl", "../new\nline", "C:\\escaped", "\\escaped", f"{FOLDER}/./checkpoint"]


def _good_tar(folder) -> bytes:
    path = make_tar(folder / "good.tar.gz", [({"name": FOLDER, "type": tarfile.DIRTYPE}, None), *checkpoint_members()])
    return gzip.decompress(path.read_bytes())


def _header_offsets(raw: bytes) -> list[int]:
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        return [member.offset for member in tar.getmembers()]


def _with_checksum(block: bytearray) -> bytearray:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % (sum(block) & 0o777777)
    return block


def _mutate(raw: bytes, offsets: list[int], rng: random.Random, outside) -> bytes:
    data = bytearray(raw)
    kind = rng.random()
    if kind < 0.6:  # one header field, checksum fixed so tarfile believes it
        offset = rng.choice(offsets)
        field, (start, width) = rng.choice(list(FIELDS.items()))
        if field == "type":
            value = rng.choice(TYPES)
        elif field in ("name", "linkname", "prefix"):
            value = rng.choice(_hostile_names(outside)).encode("utf-8", "surrogateescape")
        elif field == "size":
            value = rng.choice([b"0", b"1", b"777", b"77777777777", b"-1", b"\x80" + b"\xff" * 11,
                                b"%o" % rng.randrange(1 << 20)])
        else:
            value = b"%o" % rng.choice([0, 0o777, 0o4755, 0o7777, rng.randrange(1 << 21)])
        value = value[:width].ljust(width, b"\0")
        header = bytearray(data[offset:offset + 512])
        header[start:start + width] = value
        data[offset:offset + 512] = _with_checksum(header)
    elif kind < 0.8:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind < 0.9:
        data = data[:rng.randrange(len(data))]
    else:  # a member's header and data again, at the end
        first, rest = rng.sample(offsets + [offsets[-1]], 2)
        start, end = sorted((first, rest))
        data = data[:end] + data[start:end] + data[end:]
    return bytes(data)


def _everything_under(root):
    found = []
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.append(os.path.join(folder, name))
    return found


def test_mutated_tarballs_unpack_or_are_refused_and_never_write_outside(tmp_path):
    rng = random.Random(20250613)
    raw = _good_tar(tmp_path)
    (tmp_path / "good.tar.gz").unlink()
    offsets = _header_offsets(raw)
    outside = tmp_path / "outside"
    outside.mkdir()
    work = tmp_path / "a" / "b" / "work"
    cache = work / "cache"
    cache.mkdir(parents=True)
    archive = work / "case.tar"
    target = cache / FOLDER
    outcomes = {"unpacked": 0, "refused": 0}
    refusals = {kind: 0 for kind in REFUSALS}
    started = time.monotonic()
    cases = 0
    while cases < CASES and (cases < MIN_CASES or time.monotonic() - started < TIME_LIMIT):
        mutated = _mutate(raw, offsets, rng, outside)
        archive.write_bytes(gzip.compress(mutated, 1) if rng.random() < 0.5 else mutated)
        try:
            unpack(archive, target, EXPECTED)
        except UserError as exc:
            outcomes["refused"] += 1
            assert "\n" not in str(exc)
            kind = next((kind for kind in REFUSALS if kind in str(exc)), str(exc))
            refusals[kind] = refusals.get(kind, 0) + 1
        else:
            outcomes["unpacked"] += 1
            assert all((target / name).is_file() for name in EXPECTED)
        cases += 1
        for path in _everything_under(tmp_path):
            mode = os.lstat(path).st_mode
            assert stat.S_ISREG(mode) or stat.S_ISDIR(mode), (cases, path)
            assert path.startswith(str(target)) or path in (str(archive), str(cache), str(outside)) \
                or str(work).startswith(path), (cases, path)
        if target.exists():
            for path in _everything_under(target):
                os.chmod(path, 0o700)  # a mutated mode must not stop the clean-up
            shutil.rmtree(target)
    print(f"\n{cases} mutated tarballs: {outcomes}; refusals: {refusals}")
    assert cases >= MIN_CASES
    assert outcomes["unpacked"] > cases // 10 and outcomes["refused"] > cases // 10
    assert sum(1 for count in refusals.values() if count) >= 8, refusals
