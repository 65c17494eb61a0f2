"""Test images: deterministic pictures in any PIL mode, and files that are not images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_image(path: Path, size: tuple[int, int] = (48, 40), mode: str = "RGB", seed: int = 0,
                noise: int = 20) -> Path:
    """A smooth gradient plus uniform noise of +-`noise`, `size` = (width, height), saved in `mode`
    in the format the suffix says."""
    width, height = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                    (x + y + seed * 37) % 256], axis=-1).astype(np.int32)
    rgb = np.clip(rgb + rng.integers(-noise, noise + 1, rgb.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB")
    if mode == "RGBA":
        image = image.convert("RGBA")
        image.putalpha(Image.fromarray((x * 255 // max(width - 1, 1)).astype(np.uint8), "L"))
    elif mode != "RGB":
        image = image.convert(mode)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def write_corrupt_image(path: Path) -> Path:
    """A file named like an image whose bytes are not one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    return path
