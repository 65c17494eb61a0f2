"""The one schema check of a COCO annotation file from outside, at the boundary: `dataset fetch` runs it
before a downloaded file is kept, and `load_ground_truth` (eval, failures, compare, export, the app's
Evaluate) before anything else reads the file.

What it guarantees to the code behind it: the file is at most MAX_BYTES and nests at most MAX_DEPTH
deep; the top level is an object with `images`, `annotations` and `categories` lists of objects;
every image, annotation and category has an integer `id` (64-bit, not a bool), unique in its list;
every annotation's `image_id` and `category_id` are such integers and name an image and a category
that are there. Image sizes, boxes, polygons and RLEs are checked where they are used
(`tui.evaluation.ground_truth`, `tui.dataset.annotations`).
"""

from __future__ import annotations

from pathlib import Path

from tui import outside_json
from tui.outside_json import BadJson
from tui.units import human_size

MAX_BYTES = 1 << 30
"""1 GiB: FashionFail's largest annotation file (train) is a small fraction of this."""
MAX_DEPTH = 32
"""A COCO file nests five deep (polygons); extra keys such as `info` get room to spare."""
_ID_RANGE = 1 << 63
_LISTS = ("images", "annotations", "categories")
_SINGULAR = {"images": "image", "annotations": "annotation", "categories": "category"}


class InvalidAnnotations(ValueError):
    """Why a JSON value is not a COCO annotation file the app will read; one line."""


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", float: "a number with a fraction",
            type(None): "null"}.get(type(value), type(value).__name__)


def _integer(where: str, record: dict, key: str) -> int:
    value = record.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and -_ID_RANGE <= value < _ID_RANGE:
        return value
    found = "missing" if key not in record else (f"{value}" if isinstance(value, int) and not isinstance(value, bool)
                                                 else _kind(value))
    raise InvalidAnnotations(f"{where}: '{key}' must be an integer of at most 64 bits, not {found}")


def check(data: object) -> dict:
    """`data` itself, once it holds as the module docstring says; InvalidAnnotations otherwise."""
    if not isinstance(data, dict):
        raise InvalidAnnotations("is not a COCO annotation file (the top level is not an object)")
    for key in _LISTS:
        if not isinstance(data.get(key), list):
            raise InvalidAnnotations(f"is not a COCO annotation file (no '{key}' list)")
    ids: dict[str, set[int]] = {}
    for key in _LISTS:
        seen = ids[key] = set()
        for index, record in enumerate(data[key]):
            where = f"{key}[{index}]"
            if not isinstance(record, dict):
                raise InvalidAnnotations(f"{where} is not an object but {_kind(record)}")
            identifier = _integer(where, record, "id")
            if identifier in seen:
                raise InvalidAnnotations(f"{where}: {_SINGULAR[key]} id {identifier} is used twice")
            seen.add(identifier)
    for index, annotation in enumerate(data["annotations"]):
        where = f"annotations[{index}]"
        for key, target in (("image_id", "images"), ("category_id", "categories")):
            value = _integer(where, annotation, key)
            if value not in ids[target]:
                raise InvalidAnnotations(f"{where}: {key} {value} names no {_SINGULAR[target]}")
    return data


def parse_json(raw: bytes) -> object:
    """The JSON value in `raw`, within the size and depth limits; BadJson otherwise. (`check` it.)"""
    if len(raw) > MAX_BYTES:
        raise BadJson(f"is larger than {human_size(MAX_BYTES)}")
    return outside_json.parse(raw, MAX_DEPTH)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, read only when it is a regular file within MAX_BYTES (BadJson otherwise);
    OSError when it cannot be read."""
    return outside_json.read_bytes(path, MAX_BYTES)


def read_json(path: Path) -> object:
    """`parse_json` of the file at `path`."""
    return parse_json(read_bytes(path))


def parse(raw: bytes) -> dict:
    """The annotation file in `raw`, checked; BadJson (size, depth, not JSON) or InvalidAnnotations."""
    return check(parse_json(raw))
