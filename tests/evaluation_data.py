"""Small annotation sets and predictions with rectangular objects, where the metrics can be worked out by hand.

A box [x1, y1, x2, y2] with integer corners is also its mask (pixels x1..x2-1, y1..y2-1), so box IoU
and mask IoU agree and every case holds for bbox and segm alike.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from tui.predictions import ImagePredictions

SIZE = (100, 100)  # height, width of every test image


def rectangle_rle(box, size=SIZE) -> dict:
    height, width = size
    x1, y1, x2, y2 = (int(v) for v in box)
    pixels = np.zeros((height, width), dtype=np.uint8, order="F")
    pixels[y1:y2, x1:x2] = 1
    return mask_utils.encode(pixels)


def write_annotations(path: Path, objects: dict[str, list[tuple[int, tuple]]], size=SIZE,
                      extra_images: tuple[str, ...] = ()) -> Path:
    """objects: image file -> [(category id, xyxy box)]; FashionFail's layout (RLE masks with text counts)."""
    images, annotations = [], []
    for image_id, name in enumerate([*objects, *extra_images], start=1):
        images.append({"id": image_id, "file_name": name, "height": size[0], "width": size[1]})
        for category, box in objects.get(name, []):
            rle = rectangle_rle(box, size)
            x1, y1, x2, y2 = box
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": int(mask_utils.area(rle)), "iscrowd": 0,
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
            })
    categories = [{"id": c, "name": f"category {c}", "supercategory": "x"} for c in range(27)]
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def predictions(image_file: str, detections: list[tuple[int, tuple, float]], size=SIZE) -> ImagePredictions:
    """detections: [(category id, xyxy box, score)]."""
    return ImagePredictions(
        image_file=image_file,
        boxes=np.array([d[1] for d in detections], dtype=np.float32).reshape(-1, 4),
        category_ids=np.array([d[0] for d in detections], dtype=np.int64),
        scores=np.array([d[2] for d in detections], dtype=np.float32),
        masks=[rectangle_rle(d[1], size) for d in detections],
    )


def perfect(objects: dict[str, list[tuple[int, tuple]]]) -> list[ImagePredictions]:
    return [predictions(name, [(c, box, 0.9) for c, box in found]) for name, found in objects.items()]


def write_facere_file(path: Path, images: list[ImagePredictions]) -> Path:
    """The `facere` script's file layout (classes 1..46, boxes yxyx, a pickled list under `data`)."""
    records = [{
        "image_file": image.image_file,
        "boxes": image.boxes[:, [1, 0, 3, 2]].astype(np.float32),
        "classes": (image.category_ids + 1).astype(np.int64),
        "scores": image.scores.astype(np.float32),
        "masks": list(image.masks),
    } for image in images]
    data = np.empty(len(records), dtype=object)
    data[:] = records
    np.savez_compressed(path, data=data)
    return path


def write_runner_file(path: Path, images: list[ImagePredictions], model: str) -> Path:
    """Our runner's layout for `model`: a `meta` that names it, boxes xyxy, classes 0-based (as the meta says)."""
    records = [{
        "image_file": image.image_file,
        "boxes": image.boxes.astype(np.float32),
        "classes": image.category_ids.astype(np.int64),
        "scores": image.scores.astype(np.float32),
        "masks": list(image.masks),
    } for image in images]
    data = np.empty(len(records), dtype=object)
    data[:] = records
    meta = {"model": model, "box_format": "xyxy", "class_ids": "fashionpedia-0based"}
    np.savez_compressed(path, data=data, meta=np.array(json.dumps(meta)))
    return path
