"""STAND-IN for mmcv-full 1.3.18 (test-only): Config.fromfile reads a Python config's `model` dict;
imfrombytes decodes as mmcv's OpenCV backend does, returning None for data OpenCV has no decoder
for (GIF, whatever its file name says) instead of raising."""

import io
import runpy

import numpy as np
from PIL import Image

__version__ = "1.3.18-standin"
OPENCV_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "TIFF")


class Config(object):
    def __init__(self, cfg_dict):
        self._cfg_dict = cfg_dict

    @staticmethod
    def fromfile(path):
        return Config({k: v for k, v in runpy.run_path(path).items() if not k.startswith("__")})


def imfrombytes(content, flag="color", channel_order="bgr"):
    try:
        image = Image.open(io.BytesIO(content))
        if image.format not in OPENCV_FORMATS:
            return None
        pixels = np.asarray(image.convert("RGB"))
    except OSError:
        return None
    return pixels[:, :, ::-1] if channel_order == "bgr" else pixels
