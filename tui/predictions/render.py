"""Drawing one image's predictions: translucent masks coloured by category, boxes and labels (Pillow).

No UI here: the browser shows the returned image, `export_png` writes it. Masks are decoded
only for the detections drawn, and blended only inside their boxes at the output resolution.
"""

from __future__ import annotations

import colorsys
import itertools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pycocotools import mask as mask_utils

from tui import catalog
from tui.errors import UserError
from tui.predictions.columns import decode_mask
from tui.predictions.image import ImagePredictions
from tui.predictions.rle import checked_one, size_of


def _palette(count: int) -> tuple[tuple[int, int, int], ...]:
    """`count` well-separated colours: hues a golden angle apart, two brightness levels alternating."""
    colours = []
    for index in range(count):
        hue = (index * 0.618033988749895) % 1.0
        value = 0.95 if index % 2 == 0 else 0.75
        red, green, blue = colorsys.hsv_to_rgb(hue, 0.85, value)
        colours.append((round(red * 255), round(green * 255), round(blue * 255)))
    return tuple(colours)


PALETTE = _palette(len(catalog.CATEGORIES))
"""One fixed colour per Fashionpedia category id 0..45."""
MASK_ALPHA = 0.45
BACKGROUND = (64, 64, 64)
"""The canvas when the image itself is not available."""


def category_colour(category_id: int) -> tuple[int, int, int]:
    return PALETTE[int(category_id) % len(PALETTE)]


def _source_size(predictions: ImagePredictions, image: Image.Image | None) -> tuple[int, int]:
    """(width, height) of the original image: the image, else its masks, else its boxes."""
    if image is not None:
        return image.size
    for rle in predictions.masks:
        if rle is not None:
            height, width = size_of(rle["size"])
            return width, height
    if len(predictions.boxes):
        return int(np.ceil(predictions.boxes[:, 2].max())) + 1, int(np.ceil(predictions.boxes[:, 3].max())) + 1
    return 640, 480


def _blend_mask(pixels: np.ndarray, rle: dict, colour: np.ndarray, alpha: float) -> None:
    """Blend one RLE mask into `pixels` (output resolution), touching only its bounding box.

    Masks are pasted at the original image size, so they are scaled to the output from their own size.
    """
    rle = checked_one(rle)
    scale = pixels.shape[1] / rle["size"][1]
    x, y, width, height = mask_utils.toBbox([rle])[0]
    if width <= 0 or height <= 0:
        return
    out_height, out_width = pixels.shape[:2]
    top, left = int(y * scale), int(x * scale)
    bottom, right = min(int(np.ceil((y + height) * scale)), out_height), min(int(np.ceil((x + width) * scale)), out_width)
    if bottom <= top or right <= left:
        return
    mask = decode_mask(rle)
    rows = np.minimum(((np.arange(top, bottom) + 0.5) / scale).astype(np.int64), mask.shape[0] - 1)
    columns = np.minimum(((np.arange(left, right) + 0.5) / scale).astype(np.int64), mask.shape[1] - 1)
    inside = mask[np.ix_(rows, columns)]
    region = pixels[top:bottom, left:right]
    region[inside] = region[inside] * (1 - alpha) + colour * alpha


def _font(height: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=max(10, height // 40))


def render(predictions: ImagePredictions, image: Image.Image | None = None, *, keep: np.ndarray | None = None,
           max_size: int | None = None, alpha: float = MASK_ALPHA, labels: bool = True,
           scores: bool = True) -> Image.Image:
    """The image with the kept detections drawn (all when `keep` is None), at most `max_size` pixels a side;
    labels name the category, followed by the score unless `scores` is False (ground truth has none).

    Without the image, draws on a grey canvas of the size the masks (or boxes) imply.
    """
    width, height = _source_size(predictions, image)
    scale = min(1.0, max_size / max(width, height)) if max_size else 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    base = image.convert("RGB") if image is not None else Image.new("RGB", (width, height), BACKGROUND)
    if base.size != size:
        base = base.resize(size, Image.Resampling.BILINEAR)
    rows = np.flatnonzero(keep) if keep is not None else np.arange(len(predictions))
    rows = rows[np.argsort(predictions.scores[rows], kind="stable")]  # the best detection ends on top
    pixels = np.asarray(base, dtype=np.float32).copy()
    for row in rows:
        rle = predictions.masks[row] if row < len(predictions.masks) else None
        if rle is not None:
            _blend_mask(pixels, rle, np.asarray(category_colour(predictions.category_ids[row]), np.float32), alpha)
    drawn = Image.fromarray(np.round(pixels).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(drawn)
    font = _font(size[1])
    line = max(1, round(max(size) / 400))
    for row in rows:
        colour = category_colour(predictions.category_ids[row])
        left, top, right, bottom = (float(v) * scale for v in predictions.boxes[row])
        draw.rectangle((left, top, right, bottom), outline=colour, width=line)
        if labels:
            text = catalog.category_name(int(predictions.category_ids[row])).split(',')[0]
            if scores:
                text += f" {predictions.scores[row]:.2f}"
            box = draw.textbbox((left, top), text, font=font)
            label_top = max(0.0, top - (box[3] - box[1]) - 2)
            box = draw.textbbox((left + line, label_top), text, font=font)
            draw.rectangle(box, fill=colour)
            ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
            draw.text((left + line, label_top), text, font=font, fill=ink)
    return drawn


def export_png(drawn: Image.Image, path: Path) -> Path:
    """Write the drawn image as PNG at `path`, or at `<stem>-2.png`, `<stem>-3.png`... beside it when
    that name is taken: an export never replaces a file. Returns where it went; UserError when the
    place cannot be written."""
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for number in itertools.count(1):
            target = path if number == 1 else path.with_name(f"{path.stem}-{number}{path.suffix}")
            try:
                handle = open(target, "xb")  # exclusive: a file made meanwhile is not replaced either
            except FileExistsError:
                continue
            try:
                with handle:
                    drawn.save(handle, format="PNG")
            except BaseException:
                target.unlink(missing_ok=True)
                raise
            return target
    except OSError as exc:
        raise UserError(f"cannot write {path} ({exc.strerror or exc})") from None
