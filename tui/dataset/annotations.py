"""FashionFail's annotation files: where they come from, and the image entries they list.

Every entry is checked before anything is written for it: `file_name` must be a plain, printable
file name with an image suffix (no folders, no `..`, no NUL), so an image can only ever land in
`images/<split>/`; `original_url` must be an http(s) URL; width and height positive integers.
An entry that fails is kept, with the reason, so it is reported rather than silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from tui import paths
from tui.config import Config
from tui.downloads.files import disk_error, remove_quietly, replace_durably
from tui.downloads.http import HostNotFound, Policy, download
from tui.downloads.locks import locked
from tui.downloads.progress import Progress, ProgressCallback, ignore
from tui.errors import UserError

SPLITS = ("test", "val", "train")
"""In the order they are fetched and shown: the paper's table is on test."""
DEFAULT_ANNOTATIONS_URL = "https://huggingface.co/datasets/rizavelioglu/fashionfail/resolve/main/"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_DELIVERY = ("images/", "images/f_jpg,q_auto,fl_lossy,c_fill,g_auto/")
"""The Cloudinary transformation the original make_dataset.py asks for: JPEG, automatic quality."""
_MAX_NAME_BYTES = 255


@dataclass(frozen=True)
class ImageEntry:
    index: int
    """Position in the annotation file's `images` list."""
    name: str
    """The file name when it is safe to show and use, else `images[<index>]`."""
    url: str | None = None
    """Where the image is downloaded from (`original_url`, rewritten as the original does)."""
    width: int | None = None
    height: int | None = None
    problem: str | None = None
    """Why this entry cannot be fetched; None when it can."""


@dataclass(frozen=True)
class Annotations:
    split: str
    path: Path
    images: list[ImageEntry]
    fetched: bool
    """True when this call downloaded the file, False when it was already in the cache."""


def annotations_url(config: Config, split: str) -> str:
    return (config.dataset_annotations_url or DEFAULT_ANNOTATIONS_URL).rstrip("/") + f"/ff_{split}.json"


def delivery_url(original_url: str) -> str:
    return original_url.replace(*_DELIVERY)


def name_problem(name: object) -> str | None:
    """Why `name` cannot be a file in images/<split>/, None when it can."""
    if not isinstance(name, str) or not name:
        return "file_name is missing or not a string"
    if not name.isprintable():  # NUL, control characters, lone surrogates, bidi overrides
        return f"file_name {name!r} contains unprintable characters"
    if "/" in name or "\\" in name or name in (".", ".."):
        return f"file_name {name!r} is not a plain file name (no folders or '..' allowed)"
    if not name.lower().endswith(IMAGE_SUFFIXES):
        return f"file_name {name!r} does not end in {', '.join(IMAGE_SUFFIXES)}"
    if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        return f"file_name is longer than {_MAX_NAME_BYTES} bytes"
    return None


def _url_problem(url: object) -> str | None:
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        return "original_url is missing or not an http(s) URL"
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return f"original_url {url!r} is not a valid URL"
    return None


def _dimension(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _entry(index: int, raw: object, seen: set[str]) -> ImageEntry:
    if not isinstance(raw, dict):
        return ImageEntry(index, f"images[{index}]", problem="the entry is not an object")
    name = raw.get("file_name")
    if problem := name_problem(name):
        return ImageEntry(index, f"images[{index}]", problem=problem)
    width, height, url = _dimension(raw.get("width")), _dimension(raw.get("height")), raw.get("original_url")
    problem = _url_problem(url)
    if problem is None and (width is None or height is None):
        problem = "width and height must be positive integers"
    if problem is None and name in seen:
        problem = "file_name is listed more than once"
    seen.add(name)
    return ImageEntry(index, name, delivery_url(url) if problem is None else None, width, height, problem)


def _parse(content: bytes) -> list[ImageEntry]:
    """The image entries of an annotation file that passes the schema check (`tui.annotation_schema`);
    ValueError with the reason otherwise."""
    from tui import annotation_schema

    try:
        images = annotation_schema.parse(content)["images"]
    except annotation_schema.BadJson as exc:
        raise ValueError(f"{exc}" if str(exc).startswith(("is ", "nested")) else f"not JSON: {exc}") from None
    seen: set[str] = set()
    return [_entry(index, raw, seen) for index, raw in enumerate(images)]


def read_annotations(path: Path) -> list[ImageEntry]:
    """The image entries of a FashionFail (COCO) annotation file; UserError when it is not one."""
    from tui import annotation_schema

    try:
        return _parse(annotation_schema.read_bytes(path))
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UserError(f"{path} is not a FashionFail annotation file ({exc})") from None


def fetch_annotations(split: str, config: Config, on_progress: ProgressCallback = ignore,
                      policy: Policy = Policy()) -> Annotations:
    """ff_<split>.json in the cache, downloaded first when absent. A download lands only once it
    parses as an annotation file; UserError otherwise. One process at a time: a second one waits."""
    target = paths.fashionfail_annotations(split)
    waiting = Progress("wait", target.name, message="another process is fetching this file; waiting for it")
    with locked(paths.dataset_work_dir() / f"annotations-{split}", on_wait=lambda: on_progress(waiting)):
        if target.is_file():
            try:
                return Annotations(split, target, read_annotations(target), fetched=False)
            except UserError as exc:
                raise UserError(f"{exc}; delete it to fetch it again") from None
        return Annotations(split, target, _download_annotations(annotations_url(config, split), target, on_progress,
                                                                policy), fetched=True)


ANNOTATIONS_DEADLINE = 1800.0
"""Seconds the annotation file's request may take, first byte to last."""


def _download_annotations(url: str, target: Path, on_progress: ProgressCallback, policy: Policy) -> list[ImageEntry]:
    from dataclasses import replace

    from tui import annotation_schema

    staged = paths.dataset_work_dir() / target.name
    try:
        download(url, staged, on_progress=on_progress, policy=replace(
            policy, max_bytes=annotation_schema.MAX_BYTES,
            deadline=min(policy.deadline or ANNOTATIONS_DEADLINE, ANNOTATIONS_DEADLINE)))
    except HostNotFound as exc:
        raise UserError(f"{exc}; offline? copy {target.name} to {target}, or set [dataset] annotations_url "
                        "to a mirror you can reach") from None
    try:
        images = _parse(staged.read_bytes())
        target.parent.mkdir(parents=True, exist_ok=True)
        replace_durably(staged, target)
    except ValueError as exc:
        remove_quietly(staged)
        raise UserError(f"{url} did not send a FashionFail annotation file ({exc}); nothing was saved") from None
    except OSError as exc:
        raise disk_error(exc, target) from None
    return images
