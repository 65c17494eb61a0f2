"""Facere runner throughput against pure `InferenceSession.run`, in one run over the same images.

    PYTHONPATH=. python bench/bench_facere.py [--images 6] [--rounds 5] [--size 1024x768] [--detections 30]
                                              [--dense-masks]

Builds a Mask R-CNN-like ONNX model (tests/helpers/onnx_models.py: Facere's I/O, a conv backbone
sized for Mask R-CNN-like compute per image, masks at the input size and, as Mask R-CNN pastes
them, zero outside their boxes; `--dense-masks`: over the whole image) and writes jpg images, then:

1. pure: decodes and preprocesses every image up front, then times `session.run` alone;
2. runner: runs `runners/facere.py` as a subprocess, as `fashionfail-tui run` does, and times it
   from its `start` event to its `done` event (model loading and process start-up excluded),
   once with decoding and postprocessing in threads beside inference (`--overlap on`, the
   default) and once serial (`--overlap off`);
3. pure again, so drift on a shared machine shows.

Prints median throughputs, the median of each round's ratio runner / pure, and the runner's
per-image overhead split from the serial run's `meta` timings (decode, preprocess, mask threshold
+ RLE, journal encoding) plus the final write: serial, each step's time is its own.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "runners"))

from tests.helpers.images import write_image  # noqa: E402
from tests.helpers.onnx_models import build_maskrcnn_like  # noqa: E402

import facere  # noqa: E402  (runners/facere.py: the same session settings as the runner)


def pure_inference(model_file: Path, images: list[Path]) -> float:
    """Images per second of `session.run` alone, inputs prepared beforehand; like the runner, a
    fresh session (the runner's settings) whose first run pays the warm-up."""
    session = facere.create_session(str(model_file), "cpu")
    tensors = [(np.asarray(Image.open(p).convert("RGB")).transpose(2, 0, 1)[None] / np.float32(255)).astype(np.float32)
               for p in images]
    started = time.perf_counter()
    for tensor in tensors:
        session.run(None, {"input": tensor})
    return len(images) / (time.perf_counter() - started)


def runner(model_file: Path, image_dir: Path, output: Path, overlap: str) -> tuple[float, float, dict]:
    """(images per second from start to done, seconds of the final write, meta)."""
    argv = [sys.executable, "-u", str(ROOT / "runners" / "facere.py"), "--model", "facere", "--family", "facere",
            "--box-format", "yxyx", "--class-ids", "fashionpedia-1based", "--model-file", str(model_file),
            "--images", str(image_dir), "--output", str(output), "--device", "cpu",
            "--overlap", overlap]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stamps = {}
    for line in process.stdout:
        event = json.loads(line)
        stamps[event["event"]] = time.perf_counter()
        if event["event"] == "error":
            raise SystemExit(event["message"])
    process.wait()
    with np.load(output) as archive:
        meta = json.loads(str(archive["meta"]))
    return meta["images"] / (stamps["done"] - stamps["start"]), stamps["done"] - stamps["progress"], meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--size", default="1024x768", help="image width x height")
    parser.add_argument("--detections", type=int, default=30)
    parser.add_argument("--layers", type=int, default=10, help="backbone conv layers")
    parser.add_argument("--channels", type=int, default=96, help="backbone width")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dense-masks", action="store_true",
                        help="masks over the whole image instead of zero outside their boxes")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        model_file = build_maskrcnn_like(root / "bench.onnx", detections=args.detections,
                                         backbone_layers=args.layers, backbone_channels=args.channels,
                                         masks_in_boxes=not args.dense_masks)
        # smooth pictures give smooth masks, whose RLE is as compact as a real Mask R-CNN's
        images = [write_image(root / "images" / f"{i:03}.jpg", size=(width, height), seed=i, noise=0)
                  for i in range(args.images)]
        rates: dict[str, list[float]] = {"pure": [], "serial": [], "threads": []}
        for _ in range(args.rounds):  # interleaved, so load from elsewhere hits all three alike
            rates["pure"].append(pure_inference(model_file, images))
            rate, write_seconds, meta = runner(model_file, root / "images", root / "serial.npz", "off")
            rates["serial"].append(rate)
            rates["threads"].append(runner(model_file, root / "images", root / "threads.npz", "on")[0])

    timings = list(meta["timings"].values())
    print(f"{args.images} images {width}x{height}, {args.detections} detections each "
          f"({'dense masks' if args.dense_masks else 'masks zero outside their boxes'}), "
          f"backbone {args.layers}x{args.channels}, ONNX Runtime {onnxruntime.__version__} CPU, "
          f"{args.rounds} interleaved rounds")
    for name, label in [("pure", "pure InferenceSession.run"), ("threads", "runner, threads (default)"),
                        ("serial", "runner, serial (--overlap off)")]:
        median = statistics.median(rates[name])
        # each round's ratio pairs measurements taken moments apart, so drifting load cancels out
        ratio = "" if name == "pure" else \
            f", ratio to pure {statistics.median(r / p for r, p in zip(rates[name], rates['pure'])):.3f}"
        print(f"{label:30} {median:.3f} images/s = {1000 / median:.0f} ms/image (median){ratio} "
              f"[rounds: {' '.join(f'{r:.3f}' for r in rates[name])}]")

    def mean_ms(key: str) -> float:
        return 1000 * statistics.mean(t.get(key, 0.0) for t in timings)

    print("last serial run's per-image work, ms:")
    for key, label in [("decode", "decode"), ("preprocess", "preprocess"), ("infer", "infer"),
                       ("masks", "mask threshold + RLE"), ("encode", "journal encoding")]:
        print(f"  {label:22} {mean_ms(key):8.1f}")
    print(f"  {'final .npz write':22} {1000 * write_seconds / args.images:8.1f}  (once, {write_seconds:.2f} s in all)")
    # measured inside one process over the same seconds, this share is robust to load from elsewhere
    print(f"session.run's share of that run's time: {mean_ms('infer') * rates['serial'][-1] / 1000:.3f}")


if __name__ == "__main__":
    main()
