"""The paper's comparison in miniature, for the docs' examples and the report screenshot.

Two small ONNX models with Facere's and Facere+'s inputs and outputs (tests/helpers/onnx_models.py)
go where `fetch` puts the real checkpoints, and a FashionFail test split of six photos is served
by a local HTTP server (tests/fileserver.py) the way Hugging Face and Cloudinary serve the real one,
named by the config's [dataset] annotations_url. Its objects are what the models really find: on
photos 0-3 what Facere finds, on photos 2-5 what Facere+ finds, plus a bag on photo 0 that neither
finds, so that `compare` has a table with differences and failure cases of every kind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageEnhance
from pycocotools import mask as mask_utils

from tests.helpers.images import write_image
from tests.helpers.mini_dataset import DELIVERY
from tests.helpers.onnx_models import build_maskrcnn_like
from tui import paths
from tui.catalog import CATEGORIES, FASHIONFAIL_CATEGORY_IDS
from tui.predictions import load_predictions

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = [f"{index:03d}.jpg" for index in range(6)]
SIZE = (320, 240)
ANNOTATED_BY = {"facere": PHOTOS[:4], "facere+": PHOTOS[2:]}
MODEL_DETECTIONS = 8
OBJECTS_PER_MODEL = 3
"""Each model's first (highest-scoring) detections of FashionFail categories become objects."""
MISSED_BY_ALL = ("000.jpg", 24, (250, 170, 310, 230))  # a bag in a corner: category 24, xyxy


def install_models(checkpoints: Path) -> dict[str, Path]:
    """The two stand-ins, named as `fetch facere` and `fetch facere+` name the real files."""
    checkpoints.mkdir(parents=True, exist_ok=True)
    return {"facere": build_maskrcnn_like(checkpoints / "facere_base.onnx", detections=MODEL_DETECTIONS, masks_in_boxes=True),
            "facere+": build_maskrcnn_like(checkpoints / "facere_plus.onnx", detections=MODEL_DETECTIONS, classes=(1, 22), seed=5,
                                           masks_in_boxes=True)}


def write_photo(path: Path, index: int) -> Path:
    """A test image, each a little brighter than the one before: the stand-ins' labels, scores and
    boxes follow the brightness, so each photo gets its own."""
    write_image(path, size=SIZE, seed=index)
    with Image.open(path) as image:
        brighter = ImageEnhance.Brightness(image).enhance(0.75 + 0.1 * index)
    brighter.save(path, quality=90)
    return path


def fashionfail_tui(*arguments: str, cwd: Path) -> None:
    """This checkout's CLI as its own process, in `cwd`, with this process's cache, config and data folders."""
    subprocess.run([sys.executable, "-m", "tui", *arguments], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})


def _what_each_finds(models: dict[str, Path], work: Path) -> dict[str, dict]:
    """Each model run by `fashionfail-tui run` over the photos: model -> image -> its predictions."""
    found = {}
    for model, model_file in models.items():
        fashionfail_tui("run", model, "--images", str(work / "photos"), "--out", str(work / "found"),
                        "--model-file", str(model_file), cwd=work)
        output = work / "found" / f"{model}.npz"
        found[model] = {image.image_file: image for image in load_predictions(output).images}
    return found


def _annotation(annotation_id: int, image_id: int, category: int, bbox: list[float], rle: dict) -> dict:
    counts = rle["counts"]
    return {"id": annotation_id, "image_id": image_id, "category_id": int(category), "bbox": bbox,
            "area": int(mask_utils.area(rle)), "iscrowd": 0,
            "segmentation": {"size": list(rle["size"]), "counts": counts.decode() if isinstance(counts, bytes) else counts}}


def annotations(found: dict[str, dict], url_of) -> dict:
    """ff_test.json: the photos, each with its original_url, and the objects ANNOTATED_BY says."""
    images, objects = [], []
    for image_id, name in enumerate(PHOTOS, start=1):
        images.append({"id": image_id, "file_name": name, "width": SIZE[0], "height": SIZE[1],
                       "original_url": url_of(name)})
        for model, names in ANNOTATED_BY.items():
            if name not in names:
                continue
            image = found[model][name]
            kept = [d for d in zip(image.category_ids, image.boxes, image.masks) if d[0] in FASHIONFAIL_CATEGORY_IDS]
            for category, box, rle in kept[:OBJECTS_PER_MODEL]:
                grow = 3 * (len(objects) % 3)  # the box as found, or 3 or 6 pixels wider all round
                x1, y1, x2, y2 = (round(float(v), 1) for v in (box[0] - grow, box[1] - grow, box[2] + grow, box[3] + grow))
                objects.append(_annotation(len(objects) + 1, image_id, category, [x1, y1, x2 - x1, y2 - y1], rle))
    name, category, (x1, y1, x2, y2) = MISSED_BY_ALL
    rle = mask_utils.frPyObjects([[x1, y1, x2, y1, x2, y2, x1, y2]], SIZE[1], SIZE[0])[0]
    objects.append(_annotation(len(objects) + 1, PHOTOS.index(name) + 1, category, [x1, y1, x2 - x1, y2 - y1], rle))
    categories = [{"id": c, "name": CATEGORIES[c], "supercategory": ""} for c in FASHIONFAIL_CATEGORY_IDS]
    return {"info": {"description": "FashionFail in miniature"}, "images": images, "annotations": objects,
            "categories": categories}


def serve_paper_demo(server, work: Path) -> None:
    """Install the stand-in checkpoints in the cache, serve the split on `server` and name it in the
    config; `work` holds the photos and what the models found (not the cache)."""
    models = install_models(paths.checkpoints_dir())
    for index, name in enumerate(PHOTOS):
        photo = write_photo(work / "photos" / name, index)
        server.serve(DELIVERY + name, photo.read_bytes())
    found = _what_each_finds(models, work)
    server.serve("/ff/ff_test.json", json.dumps(annotations(found, lambda n: server.url("/images/" + n))).encode())
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text(f'[dataset]\nannotations_url = "{server.url("/ff/")}"\n')


def fetch_and_compare(home: Path, out: str = "runs/ff_test") -> Path:
    """What the docs' tour does once serve_paper_demo has served the split: `dataset fetch`, then
    `compare` over the fetched images into `home`/`out` (returned)."""
    fashionfail_tui("dataset", "fetch", cwd=home)
    fashionfail_tui("compare", "--images", str(paths.fashionfail_images("test")), "--out", out, cwd=home)
    return home / out
