"""Facere at FashionFail resolution: the original graph + original post-processing vs the fast path.

Runs each path of `runners/facere.py` (`FacerePredictor`, `FacereHostPastePredictor`) in its own
subprocess on the same synthetic 2400x2400 images and prints seconds per image (session creation
and image decoding excluded; inference, pasting and RLE encoding included), the
process's peak resident memory (ru_maxrss: ONNX Runtime's arena is invisible to tracemalloc),
the speed-up, and whether the two outputs are identical (boxes, labels, scores, RLE bytes).

The model is a Facere-sized Mask R-CNN (torchvision `maskrcnn_resnet50_fpn_v2`, 47 classes, random
weights) exported like Facere by tests/fixtures/export_tiny_maskrcnn.py --full; about 185 MB, so it
is built once into the cache, never committed. Building it needs torch:

    python bench/bench_facere_fullres.py --torch-python /path/to/venv-with-torch/bin/python

Run from the repository root with the app's interpreter (onnx, onnxruntime, pycocotools).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "runners")]

EXPORT_SCRIPT = ROOT / "tests" / "fixtures" / "export_tiny_maskrcnn.py"


def default_model() -> Path:
    from tui import paths

    return paths.cache_dir() / "bench" / "facere_sized_random.onnx"


def build_model(path: Path, torch_python: str) -> None:
    print(f"building the Facere-sized model with {torch_python} (once) ...", flush=True)
    done = subprocess.run([torch_python, str(EXPORT_SCRIPT), "--full", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        sys.exit(
            f"could not export the model ({tail[0]}). Install torch and torchvision in some venv, e.g.\n"
            f"  python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install torch torchvision onnx onnxscript\n"
            f"then run: {sys.argv[0]} --torch-python /tmp/venv-torch/bin/python"
        )


def synthetic_images(count: int, size: int):
    import numpy as np

    rng = np.random.default_rng(2400)
    for _ in range(count):
        yield rng.random((1, 3, size, size), dtype=np.float32)


def worker(path_name: str, model: Path, count: int, size: int) -> dict:
    """One path, in this process: timings, peak memory and a digest of every output."""
    import numpy as np

    import facere  # runners/facere.py: exactly what a run does after decoding the image

    prepare_seconds, cached = 0.0, False
    if path_name == "fast":
        from tui.runs import facere_fast

        cached = (facere_fast.cache_dir_for(facere_fast.file_sha256(model)) / "plan.json").is_file()
        started = time.perf_counter()
        analysis = facere_fast.prepare(model)
        prepare_seconds = time.perf_counter() - started
        if analysis.fast is None:
            sys.exit(f"no fast path for {model}: {analysis.reason}")
        predictor = facere.FacereHostPastePredictor(str(analysis.fast.cut_model), str(analysis.fast.paste_model), "cpu", 0.0)
    else:
        predictor = facere.FacerePredictor(str(model), "cpu", 0.0)

    seconds, digests, detections, box_share = [], [], [], []
    for image in synthetic_images(count, size):
        started = time.perf_counter()
        result = predictor.finish("image.jpg", image, predictor.infer(image), {})
        seconds.append(time.perf_counter() - started)
        digest = hashlib.sha256()
        for key in ("boxes", "classes", "scores"):
            digest.update(np.ascontiguousarray(result[key]).tobytes())
        for rle in result["masks"]:
            digest.update(repr(rle["size"]).encode() + rle["counts"])
        digests.append(digest.hexdigest())
        boxes = result["boxes"]  # yxyx
        detections.append(len(boxes))
        box_share.append(float(((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sum()) / (size * size))
    return {
        "path": path_name,
        "seconds": seconds,
        "prepare_seconds": prepare_seconds,
        "prepared_from_cache": path_name == "fast" and cached,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "digests": digests,
        "detections": detections,
        "box_area_share": box_share,
    }


def run_path(path_name: str, args) -> dict:
    command = [sys.executable, __file__, "--worker", path_name, "--model", str(args.model),
               "--images", str(args.images), "--size", str(args.size)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{path_name} path failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="exported Facere-like model (default: built into the cache)")
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--size", type=int, default=2400)
    parser.add_argument("--torch-python", default=sys.executable, help="interpreter with torch, to build the model")
    parser.add_argument("--worker", choices=("original", "fast"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.model = args.model or default_model()
    if args.worker:
        print(json.dumps(worker(args.worker, args.model, args.images, args.size)))
        return 0
    if not args.model.is_file():
        args.model.parent.mkdir(parents=True, exist_ok=True)
        build_model(args.model, args.torch_python)
    print(f"model {args.model} ({args.model.stat().st_size / 1e6:.0f} MB), {args.images} images {args.size}x{args.size}")
    results = {name: run_path(name, args) for name in ("original", "fast")}
    for name, result in results.items():
        per_image = sum(result["seconds"]) / len(result["seconds"])
        how = "hash + cache lookup" if result["prepared_from_cache"] else "surgery, once per model file"
        extra = f"; before the first image: {how} {result['prepare_seconds']:.1f} s" if name == "fast" else ""
        print(f"{name:>8}: {per_image:6.2f} s/image  peak RSS {result['peak_rss_mb']:7.0f} MB{extra}")
    original, fast = results["original"], results["fast"]
    ratio = sum(original["seconds"]) / sum(fast["seconds"])
    print(f"speed-up {ratio:.1f}x; peak memory {original['peak_rss_mb'] / fast['peak_rss_mb']:.1f}x lower")
    share = sum(fast["box_area_share"]) / len(fast["box_area_share"])
    print(f"detections per image {fast['detections']}; boxes cover {share:.2f} image areas per image (summed)")
    identical = original["digests"] == fast["digests"]
    print("outputs identical (boxes, labels, scores, RLE bytes):", "yes" if identical else "NO")
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
