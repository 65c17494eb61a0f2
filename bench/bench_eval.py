"""`eval --iou both` at FashionFail-test size against pycocotools run directly, as a ratio from one run.

    python bench/bench_eval.py [--images 1001] [--detections 100] [--folder DIR]

Builds its inputs (once, kept in --folder, default a folder in the temp dir): an annotation file of
IMAGES images of 800x800 with one annotated object each (FashionFail has one), polygons as
segmentations, and a facere-format `.npz` with DETECTIONS detections per image (a few near the
object, the rest anywhere, every category 0..45), boxes and RLE masks. Then times, in this order:

  pycocotools      COCO.loadRes, COCOeval.evaluate() and accumulate() for boxes and for masks, on the
                   very detections `eval` scores (converted beforehand, untimed): the evaluation alone
  eval             `fashionfail-tui eval FILE --anns ANNS --iou both --family facere --json` as a whole
                   command: start-up, reading and indexing the file (a cold cache), converting,
                   evaluating with the default engine (faster-coco-eval), the weighted metrics
  eval pycocotools the same command with --engine pycocotools

and prints each time and eval / pycocotools. The two evals' JSON must agree, metric for metric.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SIZE = 800


def build_inputs(folder: Path, images: int, detections: int, seed: int = 0) -> tuple[Path, Path]:
    anns, preds = folder / f"anns-{images}.json", folder / f"facere-{images}x{detections}.npz"
    if anns.exists() and preds.exists():
        return anns, preds
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weighted = [c for c in range(27) if c not in (2, 12, 16, 19, 20)]
    image_entries, annotations, records = [], [], []
    for number in range(images):
        name = f"{number:06d}.jpg"
        image_entries.append({"id": number + 1, "file_name": name, "height": SIZE, "width": SIZE})
        x, y = rng.uniform(0, SIZE - 400, 2)
        w, h = rng.uniform(100, 400, 2)
        category = int(rng.choice(weighted))
        annotations.append({"id": number + 1, "image_id": number + 1, "category_id": category, "bbox": [x, y, w, h],
                            "area": w * h, "iscrowd": 0, "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]]})
        xy = rng.uniform(0, SIZE - 120, size=(detections, 2))
        wh = rng.uniform(8, 110, size=(detections, 2))
        near = min(5, detections)
        xy[:near] = np.array([x, y]) + rng.normal(0, 6, size=(near, 2))
        wh[:near] = np.array([w, h]) + rng.normal(0, 6, size=(near, 2))
        xy, wh = np.clip(xy, 0, SIZE - 1), np.clip(wh, 1, SIZE)
        classes = rng.integers(1, 47, size=detections).astype(np.int64)
        classes[:near] = category + 1
        masks = mask_utils.frPyObjects(np.column_stack([xy, wh]), SIZE, SIZE)
        records.append({
            "image_file": name,
            "boxes": np.column_stack([xy[:, 1], xy[:, 0], xy[:, 1] + wh[:, 1], xy[:, 0] + wh[:, 0]]).astype(np.float32),
            "classes": classes,
            "scores": rng.uniform(0.05, 1, size=detections).astype(np.float32),
            "masks": [{"size": m["size"], "counts": m["counts"]} for m in masks],
        })
    anns.write_text(json.dumps({"images": image_entries, "annotations": annotations,
                                "categories": [{"id": i, "name": str(i)} for i in range(46)]}))
    data = np.empty(len(records), dtype=object)
    data[:] = records
    np.savez_compressed(preds, data=data)
    return anns, preds


def time_pycocotools(anns: Path, preds: Path) -> float:
    """The evaluation alone, pycocotools as a user would run it on the detections eval scores."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from tui.evaluation.conversion import to_coco_results
    from tui.evaluation.ground_truth import load_ground_truth
    from tui.predictions import load_predictions

    truth = load_ground_truth(anns)
    images = load_predictions(preds, family="facere").images
    results = {t: to_coco_results(images, truth, t).detections for t in ("bbox", "segm")}
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(anns))
        for iou_type, detections in results.items():
            evaluator = COCOeval(gt, gt.loadRes(detections), iou_type)
            evaluator.params.catIds = list(range(27))
            evaluator.evaluate()
            evaluator.accumulate()
    return time.perf_counter() - start


def time_eval(anns: Path, preds: Path, *extra: str) -> tuple[float, dict]:
    """The whole command, cold: a fresh cache folder and no cached result beside the file."""
    for stale in preds.parent.glob(f"{preds.name}.eval-*.json"):
        stale.unlink()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "FASHIONFAIL_TUI_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tui", "eval", str(preds), "--anns", str(anns), "--iou", "both",
                               "--family", "facere", "--json", *extra], env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"eval failed: {done.stderr.strip()}")
    return elapsed, json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1001)
    parser.add_argument("--detections", type=int, default=100)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "fashionfail-bench-eval")
    args = parser.parse_args()
    anns, preds = build_inputs(args.folder, args.images, args.detections)
    print(f"{args.images} images of {SIZE}x{SIZE}, {args.detections} detections each, boxes and masks")
    reference = time_pycocotools(anns, preds)
    print(f"pycocotools directly (evaluate + accumulate, bbox and segm): {reference:6.2f} s")
    fast, fast_out = time_eval(anns, preds)
    print(f"eval --iou both, whole command (faster-coco-eval):          {fast:6.2f} s")
    slow, slow_out = time_eval(anns, preds, "--engine", "pycocotools")
    print(f"eval --iou both, whole command (--engine pycocotools):      {slow:6.2f} s")
    keys = ("mAP_w", "mAP_w50", "mAP_w75", "mAR_w1", "mAR_w100")
    for a, b in zip(fast_out["results"], slow_out["results"]):
        if [a[k] for k in keys] != [b[k] for k in keys] or a["per_category"] != b["per_category"]:
            sys.exit(f"the engines disagree on {a['iou_type']}")
    print(f"ratio eval / pycocotools directly: {fast / reference:.2f} (goal <= 0.35); "
          f"with --engine pycocotools: {slow / reference:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
