"""FashionFail's images into `images/<split>/`, a bounded number at a time.

Each image is downloaded (resumably, with retries) into `<cache>/dataset/incoming/<split>/`, decoded
with Pillow and compared with the annotation's width and height, and only then moved into
`images/<split>/`; a file that fails is deleted, so that folder only ever gains checked images. An
image verified by an earlier run is not fetched again, and one already in the folder (from the
original make_dataset.py, say) is decoded and kept when it passes. One process fetches a split at a
time: a second one waits for the first.

Limits: a body may be at most IMAGE_MAX_BYTES and a request may take IMAGE_DEADLINE seconds; images
are opened and decoded through `tui.image_files` (the header's size compared with the annotation
before any pixel is decoded, a pixel budget shared by the workers).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from tui import paths
from tui.dataset.annotations import Annotations, ImageEntry
from tui.dataset.record import VerifiedRecord
from tui.downloads.files import disk_error, remove_quietly, replace_durably
from tui.downloads.http import Policy, download, http_client
from tui.downloads.locks import lock_path, locked
from tui.downloads.progress import Progress
from tui.errors import UserError
from tui.image_files import ImageRefused, decode, opened

STATUSES = ("fetched", "present", "checked", "failed")
"""fetched: downloaded and checked · present: verified by an earlier run, nothing done ·
checked: already in the folder, decoded and kept now · failed: see the reason."""
SAVE_INTERVAL = 2.0
"""Seconds between saves of the verified record while images arrive."""
IMAGE_MAX_BYTES = 64 * 10**6
"""FashionFail's images are JPEGs of a few hundred kB; a body larger than this is cut off and deleted."""
IMAGE_DEADLINE = 300.0
"""Seconds one image's request may take, first byte to last."""


@dataclass(frozen=True)
class ImageOutcome:
    split: str
    name: str
    status: str
    url: str | None = None
    reason: str | None = None

    def as_event(self) -> dict:
        event = {"event": "image", "split": self.split, "file_name": self.name, "status": self.status}
        return event | ({"url": self.url, "reason": self.reason} if self.status == "failed" else {})


@dataclass
class SplitSummary:
    split: str
    annotations: Path
    images_dir: Path
    expected: int
    counts: Counter = field(default_factory=Counter)
    failures: list[ImageOutcome] = field(default_factory=list)

    @property
    def verified(self) -> int:
        return self.expected - len(self.failures)

    def add(self, outcome: ImageOutcome) -> None:
        self.counts[outcome.status] += 1
        if outcome.status == "failed":
            self.failures.append(outcome)

    def as_event(self) -> dict:
        return {"event": "summary", "split": self.split, "annotations": str(self.annotations),
                "images_dir": str(self.images_dir), "expected": self.expected, "verified": self.verified,
                **{status: self.counts[status] for status in STATUSES if status != "failed"},
                "failed": [{"file_name": f.name, "url": f.url, "reason": f.reason} for f in self.failures]}


class _Stopped(Exception):
    """Raised inside a download's progress callback to end it early; what arrived is kept for later."""


def check_image(path: Path, width: int | None, height: int | None) -> str | None:
    """Why the file is not the annotation's image, None when it decodes at width x height. The size
    in the header is checked first: no pixel of a wrong-sized or oversized image is decoded."""
    try:
        with opened(path, (width, height)) as image:
            decode(image)
    except ImageRefused as exc:
        return str(exc)
    return None


class _Fetcher:
    """Gets one image into images/<split>/; runs in the worker threads."""

    def __init__(self, split: str, policy: Policy, client: httpx.Client, stop: threading.Event):
        self.split, self.policy, self.client, self.stop = split, policy, client, stop
        self.images_dir = paths.fashionfail_images(split)
        self.incoming = paths.dataset_work_dir() / "incoming" / split

    def outcome(self, entry: ImageEntry, status: str, reason: str | None = None) -> ImageOutcome:
        return ImageOutcome(self.split, entry.name, status, entry.url, reason)

    def _stop_requested(self, _: Progress) -> None:
        if self.stop.is_set():
            raise _Stopped()

    def obtain(self, entry: ImageEntry) -> ImageOutcome:
        target = self.images_dir / entry.name
        if target.is_file() and check_image(target, entry.width, entry.height) is None:
            return self.outcome(entry, "checked")
        staged = self.incoming / entry.name
        try:
            download(entry.url, staged, policy=self.policy, on_progress=self._stop_requested, client=self.client)
            if problem := check_image(staged, entry.width, entry.height):
                remove_quietly(staged)
                return self.outcome(entry, "failed", problem)
            replace_durably(staged, target)
        except UserError as exc:
            return self.outcome(entry, "failed", str(exc))
        except OSError as exc:
            return self.outcome(entry, "failed", str(disk_error(exc, target)))
        finally:
            remove_quietly(lock_path(staged))  # no other process can be waiting on it: the split is locked
        return self.outcome(entry, "fetched")


def fetch_images(annotations: Annotations, on_image: Callable[[ImageOutcome], None] = lambda _: None,
                 workers: int = 8, policy: Policy = Policy(),
                 on_wait: Callable[[], None] | None = None) -> SplitSummary:
    """Every image the annotation file lists, `workers` at a time; `on_image` hears about each one,
    in the calling thread. Failures are in the summary, not raised; interrupting keeps what is done."""
    split = annotations.split
    summary = SplitSummary(split, annotations.path, paths.fashionfail_images(split), len(annotations.images))

    def report(outcome: ImageOutcome) -> None:
        summary.add(outcome)
        on_image(outcome)

    incoming = paths.dataset_work_dir() / "incoming" / split
    with locked(incoming, on_wait=on_wait):
        try:
            summary.images_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(exc, summary.images_dir) from None
        record = VerifiedRecord(split)
        pending = []
        for entry in annotations.images:
            if entry.problem:
                report(ImageOutcome(split, entry.name, "failed", entry.url, entry.problem))
            elif record.is_verified(entry, summary.images_dir / entry.name):
                report(ImageOutcome(split, entry.name, "present"))
            else:
                pending.append(entry)
        stop = threading.Event()
        policy = replace(policy, max_bytes=IMAGE_MAX_BYTES,
                         deadline=min(policy.deadline or IMAGE_DEADLINE, IMAGE_DEADLINE))
        with http_client(policy) as client:
            fetcher = _Fetcher(split, policy, client, stop)
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"dataset-{split}")
            try:
                futures = {pool.submit(fetcher.obtain, entry): entry for entry in pending}
                saved_at = time.monotonic()
                for future in as_completed(futures):
                    outcome = future.result()
                    if outcome.status != "failed":
                        record.add(futures[future], summary.images_dir / outcome.name)
                    report(outcome)
                    if time.monotonic() - saved_at >= SAVE_INTERVAL:
                        record.save()
                        saved_at = time.monotonic()
            finally:
                stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                record.save()
    return summary
