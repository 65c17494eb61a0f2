"""A comparison workspace: images and two real ONNX models (facere, facere+) named in the config,
and an annotation file made from what one model found."""

from __future__ import annotations

from pathlib import Path

from evaluation_data import write_annotations
from tests.helpers.images import write_image
from tests.helpers.onnx_models import build_maskrcnn_like
from tui import paths
from tui.predictions import load_predictions

IMAGE_SIZE = (64, 48)


def make_workspace(folder: Path, images: int = 4) -> Path:
    """`images` images and the two models, facere (classes 1..46) and facere+ (1..22), named in the config."""
    build_maskrcnn_like(folder / "facere.onnx", detections=4)
    build_maskrcnn_like(folder / "facere-plus.onnx", detections=3, classes=(1, 22), seed=5)
    for index in range(images):
        write_image(folder / "images" / f"{index}.jpg", size=IMAGE_SIZE, seed=index)
    use_models(folder / "facere.onnx", folder / "facere-plus.onnx")
    return folder


def use_models(facere: Path, facere_plus: Path) -> None:
    paths.config_file().write_text(f'[models.facere]\nfile = "{facere}"\n[models."facere+"]\nfile = "{facere_plus}"\n')


def slow_facere_plus(folder: Path, more_images: int = 8, size: tuple[int, int] = (320, 240), channels: int = 48) -> None:
    """Make facere+ slow enough to interrupt: a conv backbone `channels` wide over `more_images` larger images."""
    build_maskrcnn_like(folder / "facere-plus.onnx", detections=3, classes=(1, 22), backbone_layers=6,
                        backbone_channels=channels)
    for index in range(4, 4 + more_images):
        write_image(folder / "images" / f"{index}.jpg", size=size, seed=index)


def annotations_from(predictions: Path, target: Path) -> Path:
    """An annotation file whose objects are what the model found (evaluated categories only), boxes
    rounded: that model then scores (nearly) perfectly and the other does not."""
    objects = {}
    for image in load_predictions(predictions).images:
        objects[image.image_file] = [(int(c), tuple(int(round(float(v))) for v in box))
                                     for c, box in zip(image.category_ids, image.boxes) if c < 27]
    return write_annotations(target, objects, size=IMAGE_SIZE[::-1])


def annotated_workspace(folder: Path) -> Path:
    """make_workspace, and `anns.json` made from facere's own run (so the two models score differently)."""
    from tui.commands import main

    make_workspace(folder)
    if main(["run", "facere", "--images", str(folder / "images"), "--out", str(folder / "reference")]) != 0:
        raise AssertionError("the reference run of facere failed")
    annotations_from(folder / "reference" / "facere.npz", folder / "anns.json")
    return folder
