"""faster-coco-eval against pycocotools (the reference) on many random cases: the same precision and
recall arrays (to the bit; the issue allows 1e-12), the same matches at IoU 0.5 and so the same
TP/FP/FN, the same scores of true and false positives."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from tui.evaluation.engines import ENGINES, run_engine, scores_tp_fp

CASES = 60


def _rle(box, height, width) -> dict:
    x1, y1, x2, y2 = box
    mask = np.zeros((height, width), dtype=np.uint8, order="F")
    mask[int(y1):max(int(np.ceil(y2)), int(y1) + 1), int(x1):max(int(np.ceil(x2)), int(x1) + 1)] = 1
    encoded = mask_utils.encode(mask)
    return {"size": [int(v) for v in encoded["size"]], "counts": encoded["counts"].decode("ascii")}


def random_case(seed: int) -> tuple[COCO, list[dict]]:
    """Images up to 240 pixels (objects in all three COCO area ranges), a few categories, crowd
    objects, tied scores, clusters of near-duplicate detections, sometimes over 100 detections of one
    category on an image (COCOeval keeps 100), images without objects or detections."""
    rng = np.random.default_rng(seed)
    categories = [int(c) for c in rng.choice(27, size=int(rng.integers(1, 5)), replace=False)]
    images, annotations, detections = [], [], []
    for image_id in range(1, int(rng.integers(1, 12)) + 1):
        height, width = int(rng.integers(40, 241)), int(rng.integers(40, 241))
        images.append({"id": image_id, "file_name": f"{image_id}.jpg", "height": height, "width": width})
        boxes = []
        for _ in range(int(rng.integers(0, 5))):
            x1, y1 = rng.uniform(0, width * 0.7), rng.uniform(0, height * 0.7)
            box = (x1, y1, min(x1 + rng.uniform(3, width * 0.6), width), min(y1 + rng.uniform(3, height * 0.6), height))
            category, crowd = int(rng.choice(categories)), int(rng.random() < 0.15)
            rle = _rle(box, height, width)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                                "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                                "area": float(mask_utils.area(rle)), "iscrowd": crowd, "segmentation": rle})
            boxes.append((category, box))
        many = rng.random() < 0.1
        count = int(rng.integers(101, 130)) if many else int(rng.integers(0, 12))
        for _ in range(count):
            if boxes and rng.random() < 0.7:
                category, box = boxes[int(rng.integers(len(boxes)))]
                box = np.clip(np.array(box) + rng.normal(0, rng.choice([0.5, 2, 6]), 4), 0, [width, height, width, height])
            else:
                category = int(rng.choice(categories))
                x1, y1 = rng.uniform(0, width * 0.8), rng.uniform(0, height * 0.8)
                box = np.array([x1, y1, min(x1 + rng.uniform(2, 80), width), min(y1 + rng.uniform(2, 80), height)])
            if rng.random() < 0.2:
                category = int(rng.choice(categories))
            score = float(np.round(rng.uniform(0, 1), int(rng.choice([1, 2, 6]))))
            x1, y1, x2, y2 = (float(v) for v in box)
            detections.append({"image_id": image_id, "category_id": category, "score": score,
                               "bbox": [round(x1, 1), round(y1, 1), round(x2 - x1, 1), round(y2 - y1, 1)],
                               "segmentation": _rle((x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)), height, width)})
    gt = COCO()
    gt.dataset = {"images": images, "annotations": annotations,
                  "categories": [{"id": i, "name": str(i)} for i in range(27)]}
    gt.createIndex()
    return gt, detections


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_faster_coco_eval_equals_pycocotools(iou_type):
    compared = differing = 0
    for seed in range(CASES):
        gt, detections = random_case(seed)
        reference, faster = (run_engine(gt, detections, iou_type, engine) for engine in reversed(ENGINES))
        assert reference.engine == "pycocotools" and faster.engine == "faster-coco-eval"
        assert np.abs(faster.precision - reference.precision).max() <= 1e-12, seed
        differing += int(np.count_nonzero(faster.precision != reference.precision))
        assert np.array_equal(faster.recall, reference.recall), seed
        assert faster.cells == reference.cells, seed
        assert scores_tp_fp(faster) == scores_tp_fp(reference), seed
        compared += reference.precision.size
    assert differing == 0, f"{differing} of {compared} precision cells differ (within 1e-12)"


@pytest.mark.parametrize("engine", ENGINES)
def test_matching_only_gives_the_full_runs_matches(engine):
    gt, detections = random_case(7)
    full = run_engine(gt, detections, "bbox", engine)
    matching = run_engine(gt, detections, "bbox", engine, matching_only=True)
    assert matching.precision is None and matching.cells == full.cells and full.cells


@pytest.mark.parametrize("engine", ENGINES)
def test_no_detections_at_all(engine):
    gt, _ = random_case(3)
    run = run_engine(gt, [], "segm", engine)
    assert all(not cell.detection_ids for cell in run.cells)
    assert set(np.unique(run.precision)) <= {-1.0, 0.0}


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_inverted_and_empty_boxes_are_read_alike(iou_type):
    """A box with a negative or zero width (a file's x2 before x1) has a negative or zero area, which
    COCOeval's area ranges then judge: both engines alike."""
    for seed in range(8):
        gt, detections = random_case(seed)
        for index in range(0, len(detections), 3):
            x, y, w, h = detections[index]["bbox"]
            detections[index]["bbox"] = [x + w, y, -w, h] if index % 2 else [x, y, 0.0, h]
        reference, faster = (run_engine(gt, detections, iou_type, engine) for engine in reversed(ENGINES))
        assert np.array_equal(faster.precision, reference.precision), seed
        assert np.array_equal(faster.recall, reference.recall) and faster.cells == reference.cells, seed
