"""The files of a run: which images it reads, and how its prediction file is written.

The runners (through common.py) and the app both use this module, so that the app counts, shards
and merges exactly what the runners run and write: `select_images` lists the jpg/jpeg/png/webp/bmp
files of one folder sorted by name, `shard_of` keeps the I-th (0-based) of N contiguous parts of
that list, `image_set` identifies the full list in a file's `meta`, and `write_npz_atomically`
writes one compressed `.npz` with `data` (an object array of the per-image dicts, exactly as the
original scripts wrote them) and `meta` (a JSON string) to a temporary file and renames it.

It imports no sibling module: the app loads this file alone (tui/runs/runner_files.py).
Python 3.8 syntax; numpy and the standard library.
"""

import hashlib
import json
import os
import tempfile

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def select_images(image_dir, shard=None):
    """The images a run covers, in the order it runs them (sorted by file name, deterministic).
    The one place that decides which images a run sees. `shard` (index, count) keeps the slice
    [index*T//count, (index+1)*T//count) of the T images: the shards in order are the whole list."""
    names = [entry.name for entry in os.scandir(image_dir)
             if os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES and _is_file(entry)]
    return shard_of([os.path.join(image_dir, name) for name in sorted(names)], shard)


def _is_file(entry):
    """A symlink loop raises (ELOOP) instead of answering False: it is no image either."""
    try:
        return entry.is_file()
    except OSError:
        return False


def shard_of(images, shard):
    """The shard's contiguous part of the sorted list; the whole list for shard None."""
    if shard is None:
        return images
    index, count = shard
    return images[index * len(images) // count:(index + 1) * len(images) // count]


def image_set(images):
    """What identifies the full image list in `meta`, so shards of different image sets never merge."""
    names = b"\n".join(os.fsencode(os.path.basename(path)) for path in images)
    return {"count": len(images), "sha256": hashlib.sha256(names).hexdigest()}


def write_npz_atomically(output, records, meta):
    """`data` as the original scripts wrote it (an object array of dicts), `meta` as a JSON string."""
    data = np.empty(len(records), dtype=object)
    for index, record in enumerate(records):
        data[index] = record
    directory = os.path.dirname(os.path.abspath(output))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(output) + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez_compressed(stream, data=data, meta=np.array(json.dumps(meta)))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, output)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
