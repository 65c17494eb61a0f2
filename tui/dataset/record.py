"""Which images were verified: `<cache>/dataset/verified-<split>.json`.

    {"images": {"<file_name>": {"size": ..., "mtime_ns": ..., "width": ..., "height": ...}}}

An image counts as verified while its size and mtime are those it had when it was decoded and its
width and height are still what the annotation says, so a rerun or `dataset status` needs a stat per
image, not a decode. A missing or unreadable record only costs a re-check of the files, never a fetch.
"""

from __future__ import annotations

from pathlib import Path

from tui import outside_json, paths
from tui.dataset.annotations import ImageEntry
from tui.downloads.files import disk_error
from tui.files import json_text, write_atomically


def record_file(split: str) -> Path:
    return paths.dataset_work_dir() / f"verified-{split}.json"


class VerifiedRecord:
    def __init__(self, split: str):
        self.path = record_file(split)
        self.images: dict[str, dict] = {}
        try:
            data = outside_json.read_object(self.path)
        except (OSError, ValueError):
            return
        images = data.get("images") if isinstance(data, dict) else None
        if isinstance(images, dict):
            self.images = {name: fields for name, fields in images.items() if isinstance(fields, dict)}

    def is_verified(self, entry: ImageEntry, path: Path) -> bool:
        fields = self.images.get(entry.name)
        if fields is None:
            return False
        try:
            stat = path.stat()
        except OSError:
            return False
        return (fields.get("size"), fields.get("mtime_ns"), fields.get("width"), fields.get("height")) == \
            (stat.st_size, stat.st_mtime_ns, entry.width, entry.height)

    def add(self, entry: ImageEntry, path: Path) -> None:
        try:
            stat = path.stat()
        except OSError:
            return  # gone again already: it is checked afresh next time
        self.images[entry.name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                                   "width": entry.width, "height": entry.height}

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json_text({"images": self.images}, sort_keys=True), durable=True)
        except OSError as exc:
            raise disk_error(exc, self.path) from None
