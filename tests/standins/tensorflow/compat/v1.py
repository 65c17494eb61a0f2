"""STAND-IN for tensorflow.compat.v1 (test-only).

Graph-mode tensors are lazy nodes: a function of the feed dict. Session.run evaluates them.

`io.decode_image` stands in for TensorFlow's decoder where it differs from Pillow's RGB decode,
as measured on the real tree (see the project's MODELS.md): it reads only JPEG, PNG, GIF and BMP
(WebP raises InvalidArgumentError, as do truncated data), ignores a BMP's palette, and its JPEG
pixels are off by a level here and there (TensorFlow's default, faster JPEG decoder). PNG and GIF
come out as Pillow's RGB conversion (palette expanded, gray replicated, alpha dropped).

Test hooks (environment variables):
- TENSORFLOW_STANDIN_DECODED: a folder; every decoded image is saved there as 0.npy, 1.npy, ...
  in decoding order, so a test can see the pixels the graph was handed;
- TENSORFLOW_STANDIN_MAX_PIXELS: decode_image rejects larger images with InvalidArgumentError,
  standing in for any image that session.run rejects.
"""

import contextlib
import io as _io
import os

import numpy as np
from PIL import Image

string = "string"
RESTORED = []


class Node:
    def __init__(self, fn):
        self._fn = fn

    def evaluate(self, feed):
        computed = feed.setdefault(Node, {})  # each node computes once per run, as in a real graph
        if self not in computed:
            computed[self] = self._fn(feed)
        return computed[self]

    def set_shape(self, shape):
        pass


def lazy(fn, *inputs):
    """A node computing fn(*evaluated inputs); the stand-in source tree builds its ops with it."""
    return Node(lambda feed: fn(*[value(i, feed) for i in inputs]))


def value(x, feed):
    if isinstance(x, Node):
        return x.evaluate(feed)
    if isinstance(x, dict):
        return {k: value(v, feed) for k, v in x.items()}
    return x


class Graph:
    @contextlib.contextmanager
    def as_default(self):
        yield self


def placeholder(shape=None, dtype=None):
    node = Node(lambda feed: feed[node])
    return node


class errors:
    class OpError(Exception):
        pass

    class InvalidArgumentError(OpError):
        pass


FORMATS = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG", "png"), (b"GIF8", "gif"), (b"BM", "bmp"))


def _rejected(message):
    return errors.InvalidArgumentError(
        "Graph execution error:\n\n{}\n\t [[{{{{node DecodeImage}}}}]]".format(message))


def _decode(data):
    kind = next((name for magic, name in FORMATS if data.startswith(magic)), None)
    if kind is None:
        raise _rejected("Unknown image file format. One of JPEG, PNG, GIF, BMP required.")
    try:
        image = Image.open(_io.BytesIO(data))
        image.load()
    except OSError as exc:
        raise _rejected("Invalid {} data: {}".format(kind.upper(), exc))
    if kind == "bmp" and image.mode == "P":
        pixels = np.repeat(np.asarray(image)[:, :, None], 3, axis=2)  # the palette's indices as gray
    else:
        pixels = np.array(image.convert("RGB"), dtype=np.uint8)
    if kind == "jpeg":
        pixels[::2, ::3] = np.minimum(pixels[::2, ::3].astype(np.int16) + 1, 255)
    limit = os.environ.get("TENSORFLOW_STANDIN_MAX_PIXELS")
    if limit and pixels.shape[0] * pixels.shape[1] > int(limit):
        raise _rejected("image of {}x{} pixels is too large".format(pixels.shape[1], pixels.shape[0]))
    _record(pixels)
    return pixels


def _record(pixels):
    folder = os.environ.get("TENSORFLOW_STANDIN_DECODED")
    if folder:
        np.save(os.path.join(folder, "{}.npy".format(len(os.listdir(folder)))), pixels)


class io:
    @staticmethod
    def decode_image(contents, channels=3):
        return lazy(_decode, contents)


def reshape(x, shape):
    return lazy(lambda a: np.reshape(a, shape), x)


def expand_dims(x, axis):
    return lazy(lambda a: np.expand_dims(a, axis), x)


class train:
    class Saver:
        def restore(self, sess, path):
            if not os.path.exists(path + ".index"):
                raise ValueError("Failed to find any matching files for " + path)
            RESTORED.append(path)


class Session:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, fetches, feed_dict=None):
        return value(fetches, dict(feed_dict or {}))
