"""Image files from outside (downloaded, or in the user's image folders), opened one way everywhere:
the header first, then the pixels. `opened` reads the size from the header and refuses an image of
more than MAX_PIXELS (or not of the size expected) before a pixel is decoded; `decoded_rgb` then
decodes within a pixel budget shared by every thread, so eight workers never hold eight huge images
at once. Pillow's decompression-bomb warning is never shown: the refusal is one line instead."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

MAX_PIXELS = 89_478_485
"""Pillow's own decompression-bomb threshold (`Image.MAX_IMAGE_PIXELS`); no FashionFail image comes near it."""
PIXEL_BUDGET = 128 * 10**6
"""Pixels being decoded at once across all threads (about 400 MB as RGB)."""


class ImageRefused(ValueError):
    """Why an image file is not opened or decoded; one line."""


class PixelBudget:
    """How many pixels may be decoded at once across threads. An image larger than the whole budget
    waits until nothing else is decoding, then decodes alone."""

    def __init__(self, pixels: int):
        self.pixels, self.used = pixels, 0
        self._changed = threading.Condition()

    @contextmanager
    def reserved(self, pixels: int) -> Iterator[None]:
        need = min(pixels, self.pixels)
        with self._changed:
            self._changed.wait_for(lambda: self.used + need <= self.pixels)
            self.used += need
        try:
            yield
        finally:
            with self._changed:
                self.used -= need
                self._changed.notify_all()


DECODING = PixelBudget(PIXEL_BUDGET)
_OPENING = threading.Lock()
"""Image.open reads only the header, quickly; one at a time, so that catching its warnings (which
swaps the process's warning filters) cannot race with another thread's."""


def _described(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__


@contextmanager
def opened(path: Path, expected: tuple[int, int] | None = None) -> Iterator[Image.Image]:
    """The image at `path` with only its header read; ImageRefused when it is not an image Pillow
    knows, is not `expected` (width, height) in size, or has more than MAX_PIXELS pixels."""
    from PIL import Image

    try:
        with _OPENING, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, in one line
            image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageRefused(f"is larger than Pillow will decode ({_described(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - parsing untrusted bytes: whatever Pillow raises means unusable
        raise ImageRefused(f"does not decode as an image ({_described(exc)})") from None
    with image:
        width, height = image.size
        if expected is not None and (width, height) != tuple(expected):
            raise ImageRefused(f"is {width}x{height} pixels, the annotation says {expected[0]}x{expected[1]}")
        if width * height > MAX_PIXELS:
            raise ImageRefused(f"is {width}x{height} = {width * height:,} pixels, more than the {MAX_PIXELS:,} "
                               "an image may have")
        yield image


def decode(image: Image.Image, mode: str | None = None, budget: PixelBudget = DECODING) -> Image.Image:
    """The pixels of an image from `opened` (converted to `mode`), decoded within `budget`;
    ImageRefused when the data is broken."""
    try:
        with budget.reserved(image.size[0] * image.size[1]):
            if mode is None:
                image.load()
                return image
            return image.convert(mode)
    except Exception as exc:  # noqa: BLE001 - decoding untrusted bytes, as in `opened`
        raise ImageRefused(f"does not decode as an image ({_described(exc)})") from None


def decoded_rgb(path: Path) -> Image.Image:
    """The image at `path` as RGB, through `opened` and `decode`; ImageRefused in one line."""
    with opened(path) as image:
        return decode(image, "RGB")
