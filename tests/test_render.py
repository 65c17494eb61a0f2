"""The overlay renderer, checked pixel by pixel."""

import numpy as np
import pytest
from PIL import Image

import prediction_files as pf
from tui.errors import UserError
from tui.predictions import ImagePredictions
from tui.predictions.render import BACKGROUND, MASK_ALPHA, PALETTE, category_colour, export_png, render

GREY = (100, 150, 200)


def one_image(categories=(31, 6)) -> ImagePredictions:
    return ImagePredictions(
        image_file="shirt.jpg",
        boxes=np.array(pf._xyxy(), dtype=np.float32)[: len(categories)],
        category_ids=np.array(categories, dtype=np.int64),
        scores=pf.SCORES[: len(categories)],
        masks=[pf.rle(*r) for r in pf.RECTANGLES[: len(categories)]],
    )


def blended(base, category):
    return tuple(round(b * (1 - MASK_ALPHA) + c * MASK_ALPHA) for b, c in zip(base, category_colour(category)))


def test_the_palette_has_46_distinct_colours():
    assert len(PALETTE) == 46 and len(set(PALETTE)) == 46


def test_a_mask_pixel_blends_its_category_colour_and_a_box_edge_has_the_box_colour():
    image = Image.new("RGB", (pf.WIDTH, pf.HEIGHT), GREY)
    drawn = render(one_image(), image, labels=False)
    assert drawn.size == image.size
    top, left, bottom, right = pf.RECTANGLES[0]
    inside = drawn.getpixel((left + 5, top + 5))
    assert all(abs(a - b) <= 1 for a, b in zip(inside, blended(GREY, 31)))
    assert drawn.getpixel((left, top + 8)) == category_colour(31)  # on the box's left edge
    assert drawn.getpixel((right, top + 8)) == category_colour(31)
    assert drawn.getpixel((2, 2)) == GREY  # outside every detection: untouched
    top2, left2, _, _ = pf.RECTANGLES[1]
    assert drawn.getpixel((left2 + 4, top2 + 4)) != GREY


def test_only_kept_detections_are_drawn():
    image = Image.new("RGB", (pf.WIDTH, pf.HEIGHT), GREY)
    drawn = render(one_image(), image, keep=np.array([False, True]), labels=False)
    top, left, _, _ = pf.RECTANGLES[0]
    assert drawn.getpixel((left + 5, top + 5)) == GREY and drawn.getpixel((left, top + 8)) == GREY
    top2, left2, _, _ = pf.RECTANGLES[1]
    assert drawn.getpixel((left2 + 4, top2 + 4)) != GREY


def test_scaled_down_rendering_keeps_masks_in_place():
    image = Image.new("RGB", (pf.WIDTH, pf.HEIGHT), GREY)
    drawn = render(one_image(), image, max_size=40, labels=False)
    assert drawn.size == (40, 30)
    top, left, bottom, right = (v / 2 for v in pf.RECTANGLES[0])
    centre = drawn.getpixel((int((left + right) / 2), int((top + bottom) / 2)))
    assert all(abs(a - b) <= 1 for a, b in zip(centre, blended(GREY, 31)))


def test_without_the_image_a_canvas_of_the_mask_size_is_used_and_labels_are_drawn():
    drawn = render(one_image(), None, labels=True)
    assert drawn.size == (pf.WIDTH, pf.HEIGHT)
    assert drawn.getpixel((pf.WIDTH - 1, pf.HEIGHT - 1)) == BACKGROUND
    without_labels = render(one_image(), None, labels=False)
    assert np.any(np.asarray(drawn) != np.asarray(without_labels))


def test_export_png_round_trips(tmp_path):
    drawn = render(one_image(), Image.new("RGB", (pf.WIDTH, pf.HEIGHT), GREY))
    path = export_png(drawn, tmp_path / "out" / "shirt.png")
    assert Image.open(path).format == "PNG"
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), np.asarray(drawn))
    (tmp_path / "file").write_text("")
    with pytest.raises(UserError, match="cannot write"):
        export_png(drawn, tmp_path / "file" / "x.png")


def test_export_png_never_replaces_a_file(tmp_path):
    drawn = render(one_image(), Image.new("RGB", (pf.WIDTH, pf.HEIGHT), GREY))
    (tmp_path / "shirt.png").write_bytes(b"mine")
    assert export_png(drawn, tmp_path / "shirt.png") == tmp_path / "shirt-2.png"
    assert export_png(drawn, tmp_path / "shirt.png") == tmp_path / "shirt-3.png"
    assert (tmp_path / "shirt.png").read_bytes() == b"mine"
    assert Image.open(tmp_path / "shirt-3.png").format == "PNG"


def test_a_corrupt_mask_is_a_user_error_not_a_crash():
    image = one_image()
    image.masks[0] = {"size": [4, 4], "counts": pf.rle(0, 0, 60, 80)["counts"]}
    with pytest.raises(UserError, match="not a valid RLE"):
        render(image, None)
