"""Opening a large prediction file: the original way versus `load_predictions`, first open and reopen.

    python bench/bench_browser.py [--images 10000] [--detections 100]

Writes (once, cached in the temp dir) a Facere-style `.npz` of IMAGES x DETECTIONS with an RLE
mask per detection, then times in one run:
  original  np.load(allow_pickle=True) and a pandas DataFrame from the records (skipped with a
            message when pandas is not installed), as the paper's scripts read predictions;
  first     load_predictions on a cold cache (safe unpickling, normalizing, writing the index)
            and the summary `inspect` prints (every class and score read);
  reopen    the same again, now from the cache's index.
The bench itself trusts its own file; the app never loads with allow_pickle.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

IMAGE_SIZE = 800


def synthetic_predictions(images: int, detections: int, seed: int = 0) -> list[dict]:
    """Facere-style records: yxyx boxes, classes 1..46, one rectangular RLE mask per detection."""
    rng = np.random.default_rng(seed)
    records = []
    for number in range(images):
        xy = rng.uniform(0, IMAGE_SIZE - 120, size=(detections, 2))
        wh = rng.uniform(8, 110, size=(detections, 2))
        masks = mask_utils.frPyObjects(np.column_stack([xy, wh]), IMAGE_SIZE, IMAGE_SIZE)
        boxes = np.column_stack([xy[:, 1], xy[:, 0], xy[:, 1] + wh[:, 1], xy[:, 0] + wh[:, 0]]).astype(np.float32)
        records.append({
            "image_file": f"{number:06d}.jpg",
            "boxes": boxes,
            "classes": rng.integers(1, 47, size=detections).astype(np.int64),
            "scores": np.sort(rng.uniform(0.05, 1, size=detections).astype(np.float32))[::-1],
            "masks": [{"size": m["size"], "counts": m["counts"]} for m in masks],
        })
    return records


def bench_file(images: int, detections: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"fashionfail-bench-{images}x{detections}.npz"
    if not path.exists():
        print(f"writing {path} ...", flush=True)
        partial = path.with_suffix(".part.npz")
        np.savez_compressed(partial, data=synthetic_predictions(images, detections))
        os.replace(partial, path)
    return path


def resident_mb() -> float:
    """This process's resident memory (Linux), 0 where /proc is missing."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def timed(action) -> tuple[float, float, object]:
    """(seconds, MB the result keeps resident, result)."""
    before = resident_mb()
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, resident_mb() - before, result


def original_way(path: Path):
    import pandas as pd

    data = np.load(path, allow_pickle=True)["data"]  # the bench's own file: trusted
    return pd.DataFrame.from_records(list(data))


def opened_and_summarized(load, path: Path):
    predictions = load(path)
    predictions.summary()
    predictions.images[len(predictions) // 2].masks  # one image's masks, as the browser shows them
    return predictions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--detections", type=int, default=100)
    args = parser.parse_args()
    path = bench_file(args.images, args.detections)
    print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB, {args.images * args.detections:,} detections")

    with tempfile.TemporaryDirectory() as cache:
        os.environ["FASHIONFAIL_TUI_CACHE_DIR"] = cache
        from tui.predictions import load_predictions

        try:
            import pandas  # noqa: F401
            original, original_mb, _ = timed(lambda: original_way(path))  # the frame is freed at once
            print(f"original (np.load allow_pickle + pandas): {original:.2f} s, keeps {original_mb:.0f} MB resident")
        except ImportError:
            original = None
            print("original: skipped (pandas is not installed; pip install pandas to compare)")
        first, first_mb, loaded = timed(lambda: opened_and_summarized(load_predictions, path))
        assert not loaded.from_index
        reopen, _, again = timed(lambda: opened_and_summarized(load_predictions, path))
        assert again.from_index and len(again) == args.images
    print(f"first open (safe, normalized, indexed): {first:.2f} s, keeps {first_mb:.0f} MB resident")
    print(f"reopen (cache index): {reopen:.3f} s")
    if original:
        print(f"ratios: first/original {first / original:.2f} (target <= 1.2), reopen/original {reopen / original:.3f}")
    print(f"reopen target < 0.5 s: {'met' if reopen < 0.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
