"""Generated evaluation cases: an annotation file and one prediction file per upstream format.

Each case is a small COCO annotation file (images of a few sizes, rectangles as polygons or RLEs,
some crowd) and predictions near the objects plus strays, written as each original script writes
them: amrcnn `.npy` (yxyx, classes = category + 1, attributes, `test/NAME` paths), facere `.npz`
(yxyx, category + 1), facere_plus `.npz` (yxyx, 1..22 over the weighted categories) and fformer
`.npz` (xyxy, int32 categories). The edges the paper's code is particular about come up on purpose:
categories with detections but no annotated object, categories annotated only as crowd, float64
files, tied scores, images without detections and annotated images without a record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from tui.catalog import CATEGORIES, WEIGHTED_CATEGORY_IDS

FORMATS = {  # the paper's model_name: (our --family, box layout, file suffix)
    "amrcnn": ("amrcnn", "yxyx", ".npy"),
    "facere": ("facere", "yxyx", ".npz"),
    "facere_plus": ("facere+", "yxyx", ".npz"),
    "fformer": ("fformer", "xyxy", ".npz"),
}
WEIGHTED = list(WEIGHTED_CATEGORY_IDS)
SIZES = [(48, 64), (64, 64), (80, 56)]  # height, width


@dataclass
class Detection:
    category: int
    box: tuple[float, float, float, float]
    """x1, y1, x2, y2."""
    score: float


def rectangle_rle(x1, y1, x2, y2, height, width) -> dict:
    mask = np.zeros((height, width), dtype=np.uint8, order="F")
    top, left = int(np.clip(np.floor(y1), 0, height - 1)), int(np.clip(np.floor(x1), 0, width - 1))
    mask[top:max(int(np.ceil(y2)), top + 1), left:max(int(np.ceil(x2)), left + 1)] = 1
    encoded = mask_utils.encode(mask)
    return {"size": [int(v) for v in encoded["size"]], "counts": encoded["counts"]}


def _random_box(rng, height, width):
    x1, y1 = rng.uniform(0, width * 0.6), rng.uniform(0, height * 0.6)
    return x1, y1, min(x1 + rng.uniform(6, width * 0.5), width), min(y1 + rng.uniform(6, height * 0.5), height)


def _annotation(annotation_id, image_id, category, box, height, width, rng, crowd=False) -> dict:
    x1, y1, x2, y2 = (round(float(v), 2) for v in box)
    if crowd or rng.random() < 0.3:
        rle = rectangle_rle(x1, y1, x2, y2, height, width)
        segmentation = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
        area = float(mask_utils.area(rle))
    else:
        segmentation = [[x1, y1, x2, y1, x2, y2, x1, y2]]
        area = (x2 - x1) * (y2 - y1)
    return {"id": annotation_id, "image_id": image_id, "category_id": int(category), "bbox": [x1, y1, x2 - x1, y2 - y1],
            "area": area, "iscrowd": int(crowd), "segmentation": segmentation}


@dataclass
class Case:
    seed: int
    annotations: dict
    detections: dict[str, list[Detection]]
    """Image file name -> its detections (every category 0..45); images absent have no record."""
    float64: bool = False

    def write(self, folder: Path) -> tuple[Path, dict[str, Path]]:
        """The annotation file and one prediction file per format, in `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        anns = folder / "anns.json"
        anns.write_text(json.dumps(self.annotations))
        return anns, {name: self._write_format(folder, name) for name in FORMATS}

    def _write_format(self, folder: Path, name: str) -> Path:
        _, layout, suffix = FORMATS[name]
        dtype = np.float64 if self.float64 else np.float32
        sizes = {image["file_name"]: (image["height"], image["width"]) for image in self.annotations["images"]}
        records = []
        for index, (file_name, detections) in enumerate(self.detections.items()):
            if name == "facere_plus":
                detections = [d for d in detections if d.category in WEIGHTED]
            boxes = np.array([d.box for d in detections], dtype=dtype).reshape(-1, 4)
            if layout == "yxyx":
                boxes = boxes[:, [1, 0, 3, 2]]
            categories = np.array([d.category for d in detections], dtype=np.int64)
            if name == "facere_plus":
                classes = np.array([WEIGHTED.index(c) + 1 for c in categories.tolist()], dtype=np.int64)
            else:
                classes = categories.astype(np.int32) if name == "fformer" else categories + 1
            height, width = sizes[file_name]
            record = {
                "image_file": f"test/{file_name}" if name == "amrcnn" and index % 2 else file_name,
                "boxes": boxes, "classes": classes,
                "scores": np.array([d.score for d in detections], dtype=dtype),
                "masks": [rectangle_rle(*d.box, height, width) for d in detections],
            }
            if name == "amrcnn":
                record["attributes"] = np.zeros((len(detections), 294), dtype=np.float32)
            records.append(record)
        data = np.empty(len(records), dtype=object)
        data[:] = records
        path = folder / f"{name}{suffix}"
        if suffix == ".npy":
            np.save(path, data)
        else:
            np.savez_compressed(path, data=data)
        return path


def _categories() -> list[dict]:
    return [{"id": i, "name": name, "supercategory": ""} for i, name in enumerate(CATEGORIES)]


def generated_case(seed: int) -> Case:
    """A random case; its seed decides which edges it has."""
    rng = np.random.default_rng(seed)
    pool = [int(c) for c in rng.choice(27, size=int(rng.integers(2, 7)), replace=False)]
    if not any(c in WEIGHTED for c in pool):
        pool.append(WEIGHTED[seed % len(WEIGHTED)])
    crowd_only = int(rng.choice([c for c in WEIGHTED if c not in pool])) if seed % 3 == 0 else None
    unannotated = [int(c) for c in rng.choice(46, size=2, replace=False) if c not in pool and c != crowd_only]
    images, annotations, detections = [], [], {}
    for image_id in range(1, int(rng.integers(2, 9)) + 1):
        height, width = SIZES[int(rng.integers(len(SIZES)))]
        file_name = f"{seed:03d}_{image_id:02d}.jpg"
        images.append({"id": image_id, "file_name": file_name, "height": height, "width": width})
        found = []
        for _ in range(int(rng.integers(0, 4))):
            category, box = int(rng.choice(pool)), _random_box(rng, height, width)
            annotations.append(_annotation(len(annotations) + 1, image_id, category, box, height, width, rng))
            for _ in range(int(rng.integers(0, 3))):  # hits, near misses, wrong categories
                jitter = rng.normal(0, rng.choice([0.5, 3.0, 8.0]), size=4)
                guess = category if rng.random() < 0.8 else int(rng.choice(pool))
                found.append((guess, np.clip(np.array(box) + jitter, 0, [width, height, width, height])))
        if crowd_only is not None and rng.random() < 0.5:
            box = _random_box(rng, height, width)
            annotations.append(_annotation(len(annotations) + 1, image_id, crowd_only, box, height, width, rng, crowd=True))
            found.append((crowd_only, np.array(box) + rng.normal(0, 1, size=4)))
        for _ in range(int(rng.integers(0, 4))):  # strays: any category, incl. unannotated and 27..45
            found.append((int(rng.choice(pool + unannotated + [crowd_only or pool[0]])), np.array(_random_box(rng, height, width))))
        if rng.random() < 0.15:
            continue  # an annotated image without a record
        scores = rng.uniform(0.05, 1.0, size=len(found))
        if len(found) > 1 and rng.random() < 0.5:
            scores[1] = scores[0]  # a tie
        scores = np.round(scores, int(rng.choice([2, 7])))
        detections[file_name] = [Detection(c, tuple(float(v) for v in b), float(s)) for (c, b), s in zip(found, scores)]
    if not any(detections.values()):  # the original cannot evaluate an empty result
        first = images[0]
        detections[first["file_name"]] = [Detection(pool[0], _random_box(rng, first["height"], first["width"]), 0.5)]
    if not any(a["category_id"] in WEIGHTED and not a["iscrowd"] for a in annotations):
        first = images[0]
        box = _random_box(rng, first["height"], first["width"])
        annotations.append(_annotation(len(annotations) + 1, 1, WEIGHTED[0], box, first["height"], first["width"], rng))
    return Case(seed, {"images": images, "annotations": annotations, "categories": _categories()}, detections,
                float64=seed % 5 == 4)


def minimal_case(name: str) -> Case:
    """The issue's four minimal cases (see tests/test_paper_semantics.py for their hand-derived values)."""
    image = {"id": 1, "file_name": "a.jpg", "height": 400, "width": 400}
    rng = np.random.default_rng(0)

    def annotation(annotation_id, category, box, crowd=False):
        return _annotation(annotation_id, 1, category, box, 400, 400, rng, crowd)

    dataset = {"images": [image], "categories": _categories()}
    if name == "unannotated":
        dataset["annotations"] = [annotation(1, 0, (10, 10, 60, 60))]
        found = [Detection(0, (10, 10, 60, 60), 0.9), Detection(1, (100, 100, 150, 150), 0.8)]
        return Case(1000, dataset, {"a.jpg": found})
    if name == "crowd_only":
        dataset["annotations"] = [annotation(1, 0, (10, 10, 60, 60)), annotation(2, 1, (100, 100, 150, 150), crowd=True)]
        found = [Detection(0, (10, 10, 60, 60), 0.9)]
        return Case(1001, dataset, {"a.jpg": found})
    if name == "rounding":
        dataset["annotations"] = [annotation(1, 0, (23.9, 10, 328.3, 60))]
        found = [Detection(0, (23.949899673461914, 10, 328.2998962402344, 60), 0.9)]
        return Case(1002, dataset, {"a.jpg": found})
    if name == "float64":
        dataset["annotations"] = [annotation(1, 0, (0.1, 0, 2.1, 2))]
        found = [Detection(0, (300, 300, 310, 310), 0.5), Detection(0, (0.15, 0, 2.15, 2), 0.5 + 1e-9)]
        return Case(1003, dataset, {"a.jpg": found}, float64=True)
    raise ValueError(name)


MINIMAL = ("unannotated", "crowd_only", "rounding", "float64")
