"""Resumable, verified HTTP downloads into the cache.

A file is streamed into `NAME.part`, next to a sidecar `NAME.part.json` that remembers which URL and
which version of the file (ETag, Last-Modified, total size) the partial bytes belong to. An
interrupted transfer resumes with `Range: bytes=N-` and `If-Range`, and the answer is checked: a 206
must start exactly at N and describe the same file, anything else (a 200 from a server that ignores
Range, a changed file) restarts cleanly from byte 0. The sha256 is computed while streaming; only a
file whose hash matches what is expected is fsynced and renamed into place, a mismatch is deleted.
The whole transfer runs under the target's cross-process lock.

A body without Content-Length (not chunked) ends when the connection closes, so a dropped
connection looks like a whole, shorter file: such a body is kept only when its hash matches a
known sha256 (a mismatch is retried as a cut-short transfer), and refused when no hash is known.
Redirects may only lead to http(s) URLs; the credentials of a `user:password@` URL never appear
in messages, progress events or files.

Every request has limits (`Policy`): a byte cap (the announced size, or the caller's cap for its kind
of file: a body that announces or sends more is refused and its partial deleted, so an endless body
cannot fill the disk), a total deadline (a server that drips one byte a second is cut off, its
partial kept to resume), and a free-space check before the first byte is written. A host that
cannot be resolved fails at once (`HostNotFound`): retrying does not bring a network back.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tui import outside_json
from tui.downloads.files import disk_error, remove_quietly, replace_durably
from tui.downloads.locks import locked
from tui.downloads.progress import Meter, Progress, ProgressCallback, ignore
from tui.errors import UserError, redact
from tui.files import json_text, sha256_of
from tui.units import human_size
from tui.urls import url_problem

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


@dataclass(frozen=True)
class Policy:
    """How patient a download is."""

    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    retries: int = 4
    """Further attempts after the first, for dropped connections, timeouts and 5xx answers."""
    backoff: float = 1.0
    """Seconds before the first retry; doubles after each, up to max_backoff."""
    max_backoff: float = 30.0
    max_bytes: int | None = 16 * 10**9
    """The most bytes a body may have: the cap for its kind of file (dataset images and annotation
    files set theirs). A body that announces more is refused unread; one that sends more is cut off."""
    deadline: float | None = 2 * 3600.0
    """Seconds one request may take, first byte to last; a transfer cut off keeps its partial to resume."""

    def delay(self, attempt: int) -> float:
        return min(self.backoff * 2 ** attempt, self.max_backoff)


@dataclass(frozen=True)
class Downloaded:
    path: Path
    sha256: str
    size: int
    hash_source: str
    """expected (the caller's hash matched), server (X-Linked-Etag matched), or unchecked."""


class HostNotFound(UserError):
    """The host's name does not resolve (offline, or a typo): not worth a retry."""


class _Retry(Exception):
    """A transient failure: try again after a pause, resuming from what is on disk."""

    def __init__(self, message: str, fresh: bool = False):
        super().__init__(message)
        self.fresh = fresh
        """Discard the partial file before the next attempt."""


class _Watchdog:
    """Shuts a request's connection when its deadline passes, so that a server dripping even its
    status line and headers a byte at a time is cut off. It knows the connections the request opens
    (httpcore's trace); on a connection kept alive from an earlier request, the body's own check
    (`Transfer._receive`) is what cuts it off."""

    def __init__(self, seconds: float | None):
        self.seconds, self.fired = seconds, False
        self._sockets: list[socket.socket] = []
        self._timer: threading.Timer | None = None

    def trace(self, event: str, info: dict) -> None:
        if event == "connection.connect_tcp.complete" and info.get("return_value") is not None:
            opened = info["return_value"].get_extra_info("socket")
            if opened is not None:
                self._sockets.append(opened)

    def _fire(self) -> None:
        self.fired = True
        for opened in self._sockets:
            try:
                opened.shutdown(socket.SHUT_RDWR)  # the blocked read returns; httpx then raises
            except OSError:
                pass

    def __enter__(self) -> _Watchdog:
        if self.seconds is not None:
            self._timer = threading.Timer(self.seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _sidecar(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _validator(headers: httpx.Headers) -> dict:
    return {"etag": headers.get("etag"), "last_modified": headers.get("last-modified")}


def _if_range(saved: dict) -> str | None:
    """A strong ETag, else Last-Modified (weak ETags are not allowed in If-Range)."""
    etag = saved.get("etag")
    if etag and not etag.startswith("W/"):
        return etag
    return saved.get("last_modified")


def linked_sha256(response: httpx.Response) -> str | None:
    """Hugging Face's LFS sha256 (`X-Linked-Etag`), on the answer or on a redirect before it."""
    for answer in (*response.history, response):
        value = answer.headers.get("x-linked-etag", "").strip().removeprefix("W/").strip('"').lower()
        if _SHA256.match(value):
            return value
    return None


def _host(url: str) -> str:
    """host[:port], without credentials."""
    return urlsplit(url).netloc.rpartition("@")[2] or redact(url)


def _length_is_framed(headers: httpx.Headers) -> bool:
    """Whether the HTTP framing tells a whole body from one cut short (Content-Length or chunked)."""
    length = headers.get("content-length", "")
    return length.isdigit() or "chunked" in headers.get("transfer-encoding", "").lower()


class Transfer:
    """One file's download: state on disk (part + sidecar) and the attempts that fill it."""

    def __init__(self, url: str, target: Path, policy: Policy, on_progress: ProgressCallback,
                 expected_sha256: str | None = None, fallback_sha256: str | None = None):
        self.url, self.target, self.policy, self.on_progress = url, target, policy, on_progress
        self.shown_url = redact(url)
        """The url as messages, progress events and the sidecar show it: without credentials."""
        self.expected_sha256, self.fallback_sha256 = expected_sha256, fallback_sha256
        self.part = target.with_name(target.name + ".part")
        self.sidecar = _sidecar(self.part)
        self.server_sha256: str | None = None
        self.digest = hashlib.sha256()
        """sha256 of the partial file's bytes, updated while streaming."""

    def wanted(self) -> tuple[str | None, str]:
        """The sha256 the file must have and where that came from: the caller's pinned hash, the
        server's X-Linked-Etag, the earlier download's record; (None, "unchecked") when none is known."""
        if self.expected_sha256:
            return self.expected_sha256.lower(), "expected"
        if self.server_sha256:
            return self.server_sha256, "server"
        if self.fallback_sha256:
            return self.fallback_sha256.lower(), "expected"
        return None, "unchecked"

    def discard_partial(self) -> None:
        remove_quietly(self.part, self.sidecar)

    def _saved(self) -> dict | None:
        """The sidecar of a usable partial file, None when there is nothing to resume."""
        try:
            saved = outside_json.read_object(self.sidecar)
        except (OSError, ValueError):
            saved = None
        if not isinstance(saved, dict) or saved.get("url") != self.shown_url or not self.part.exists() \
                or self._over_cap(self.part.stat().st_size):
            self.discard_partial()
            return None
        return saved

    def _over_cap(self, size: int) -> bool:
        return self.policy.max_bytes is not None and size > self.policy.max_bytes

    def _check_room(self, total: int | None, offset: int) -> None:
        """Refuse, before a byte is written, a body announced larger than the cap or than the free space."""
        if total is None:
            return
        if self._over_cap(total):
            self.discard_partial()
            raise UserError(f"{self.shown_url} announces {human_size(total)}, more than the "
                            f"{human_size(self.policy.max_bytes)} {self.target.name} may be; nothing was written")
        try:
            free = shutil.disk_usage(self.part.parent).free
        except OSError:
            return
        if total - offset > free:
            raise UserError(f"{self.target.name} needs {human_size(total - offset)} but {self.part.parent} has "
                            f"{human_size(free)} free; nothing was written")

    def _save(self, headers: httpx.Headers, total: int | None) -> None:
        self.sidecar.write_text(json_text({"url": self.shown_url, "total": total, **_validator(headers)}),
                                encoding="utf-8")

    def attempt(self, client: httpx.Client) -> None:
        """Fetch whatever is missing from the partial file; raise _Retry on a transient failure."""
        saved = self._saved()
        offset = self.part.stat().st_size if saved else 0
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if validator := _if_range(saved):
                headers["If-Range"] = validator
        started = time.monotonic()
        deadline = self.policy.deadline
        timeout = httpx.USE_CLIENT_DEFAULT
        if deadline is not None:  # no single wait longer than the whole request may take
            timeout = httpx.Timeout(min(self.policy.read_timeout, deadline),
                                    connect=min(self.policy.connect_timeout, deadline))
        with _Watchdog(deadline) as watchdog:
            try:
                self._request(client, headers, timeout, watchdog, saved, offset, started)
            except (httpx.TransportError, httpx.StreamError):
                if watchdog.fired:
                    raise self._too_slow(None) from None
                raise

    def _too_slow(self, total: int | None) -> UserError:
        arrived = self.part.stat().st_size if self.part.exists() else 0
        return UserError(f"{self.shown_url} did not finish within {self.policy.deadline:g} s "
                         f"({human_size(arrived)} of {human_size(total)} arrived); run the same command again "
                         "to resume")

    def _request(self, client: httpx.Client, headers: dict, timeout, watchdog: _Watchdog, saved: dict | None,
                 offset: int, started: float) -> None:
        with client.stream("GET", self.url, headers=headers, timeout=timeout,
                           extensions={"trace": watchdog.trace}) as response:
            self.server_sha256 = linked_sha256(response) or self.server_sha256
            status = response.status_code
            if status == 416:
                raise _Retry(f"the server refused to resume at byte {offset}", fresh=True)
            if status >= 500 or status == 429:
                raise _Retry(f"HTTP {status} {response.reason_phrase} from {self.shown_url}")
            if status >= 400:
                raise UserError(f"HTTP {status} {response.reason_phrase} for {self.shown_url}")
            if status == 206:
                offset, total = self._check_resume(response, saved, offset)
            elif status == 200:
                if offset:
                    self.on_progress(Progress("restart", self.target.name, 0, None,
                                              message="the server sent the whole file; starting again"))
                offset = 0
                length = response.headers.get("content-length")
                total = int(length) if length and length.isdigit() else None
            else:
                raise UserError(f"unexpected HTTP {status} {response.reason_phrase} for {self.shown_url}")
            self._check_room(total, offset)
            self._save(response.headers, total)
            self._receive(response, offset, total, started)
            if total is None and not _length_is_framed(response.headers):
                self._check_unframed_body()

    def _check_unframed_body(self) -> None:
        """A body that ended when the connection closed: only its hash can say it is whole."""
        size = self.part.stat().st_size
        wanted, _ = self.wanted()
        if wanted is None:
            self.discard_partial()
            raise UserError(f"{self.shown_url} sent {self.target.name} with no Content-Length and no sha256 is "
                            f"known for it, so {size} bytes cut short cannot be told from the whole file; "
                            f"set its sha256 in the config ([models.NAME] sha256) to download it")
        if self.digest.hexdigest() != wanted:
            raise _Retry(f"the {size} bytes received (the server sent no Content-Length) do not match "
                         f"sha256 {wanted}: the transfer was cut short or the file is wrong", fresh=True)

    def _disk(self, operation, *args):
        try:
            return operation(*args)
        except OSError as exc:
            raise disk_error(exc, self.part) from None

    def _check_resume(self, response: httpx.Response, saved: dict | None, offset: int) -> tuple[int, int]:
        match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if not saved or not match or int(match.group(1)) != offset or match.group(3) == "*":
            raise _Retry("the server answered the resume request with the wrong range", fresh=True)
        total = int(match.group(3))
        now = _validator(response.headers)
        changed = any(saved.get(k) and now[k] and saved[k] != now[k] for k in now)
        if changed or (saved.get("total") is not None and saved["total"] != total):
            raise _Retry("the file changed on the server since the partial download", fresh=True)
        return offset, total

    def _receive(self, response: httpx.Response, offset: int, total: int | None, started: float) -> None:
        meter = Meter("download", self.target.name, self.on_progress, total=total, start=offset)
        meter.update(offset, force=True)
        # only the file operations are disk errors: an OSError from a progress callback is the caller's
        handle = self._disk(open, self.part, "r+b" if offset else "wb")
        try:
            self.digest = hashlib.sha256()
            if offset:  # the bytes from earlier attempts, then the new ones as they arrive
                self._disk(handle.truncate, offset)
                while chunk := self._disk(handle.read, 1 << 20):
                    self.digest.update(chunk)
            for chunk in response.iter_raw():
                if self._over_cap(meter.done + len(chunk)):
                    handle.close()
                    self.discard_partial()
                    raise UserError(f"{self.shown_url} sent more than {human_size(self.policy.max_bytes)} for "
                                    f"{self.target.name}, more than it may be; the partial download was deleted")
                self._disk(handle.write, chunk)
                self.digest.update(chunk)
                meter.advance(len(chunk))
                if self.policy.deadline is not None and time.monotonic() - started > self.policy.deadline:
                    self._disk(handle.flush)
                    raise self._too_slow(total)
            self._disk(handle.flush)
        finally:
            try:
                handle.close()
            except OSError:
                pass  # after a successful flush only a failure already being raised can get here
        if total is not None and meter.done != total:
            raise _Retry(f"the connection closed after {meter.done} of {total} bytes")
        meter.update(meter.done, force=True)


def http_client(policy: Policy = Policy()) -> httpx.Client:
    """A client with the policy's timeouts; one can serve many downloads, from many threads at once."""
    timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout)
    return httpx.Client(follow_redirects=True, timeout=timeout, max_redirects=10)


def download(url: str, target: Path, expected_sha256: str | None = None, fallback_sha256: str | None = None,
             policy: Policy = Policy(), on_progress: ProgressCallback = ignore,
             client: httpx.Client | None = None) -> Downloaded:
    """Download `url` to `target`, or return the file already there.

    `expected_sha256` is a pinned hash (catalog or config); without one, the server's X-Linked-Etag
    is used, then `fallback_sha256` (what the manifest recorded for an earlier download). Raises
    UserError with one line per kind of failure; nothing unverified is ever left at `target`.
    `client` (from `http_client`) lets many downloads share connections; one is made per call otherwise.
    """
    if problem := url_problem(url):
        raise UserError(f"{redact(url)} is not a valid URL ({problem})")
    target.parent.mkdir(parents=True, exist_ok=True)
    waiting = Progress("wait", target.name, message="another process is downloading this file; waiting for it")
    with locked(target, on_wait=lambda: on_progress(waiting)):
        if target.exists():
            return _existing(target, expected_sha256 or fallback_sha256, on_progress)
        transfer = Transfer(url, target, policy, on_progress, expected_sha256, fallback_sha256)
        _run_attempts(transfer, policy, client)
        digest = transfer.digest.hexdigest()
        wanted, source = transfer.wanted()
        if wanted and digest != wanted:
            transfer.discard_partial()
            raise UserError(f"hash mismatch for {target.name} from {transfer.shown_url}: expected sha256 {wanted}, "
                            f"got {digest}; the download was deleted")
        try:
            replace_durably(transfer.part, target)
        except OSError as exc:
            raise disk_error(exc, target) from None
        remove_quietly(transfer.sidecar)
        return Downloaded(target, digest, target.stat().st_size, source)


def _existing(target: Path, wanted: str | None, on_progress: ProgressCallback) -> Downloaded:
    """A file that is already in place (typically finished by another process while we waited)."""
    digest = sha256_of(target, Meter("verify", target.name, on_progress, total=target.stat().st_size).advance)
    if wanted and digest != wanted.lower():
        raise UserError(f"{target} is already there but its sha256 is {digest}, not {wanted}; "
                        "delete it (fashionfail-tui cache clean) and fetch again")
    return Downloaded(target, digest, target.stat().st_size, "expected" if wanted else "unchecked")


def _run_attempts(transfer: Transfer, policy: Policy, shared: httpx.Client | None) -> None:
    with nullcontext(shared) if shared else http_client(policy) as client:
        for attempt in range(policy.retries + 1):
            last = attempt == policy.retries
            try:
                transfer.attempt(client)
                return
            except _Retry as exc:
                if exc.fresh:
                    transfer.discard_partial()
                problem = str(exc)
            except httpx.ConnectError as exc:
                if _unresolvable(exc):
                    raise HostNotFound(f"cannot resolve {_host(transfer.url)} ({_reason(exc)}): the network or its "
                                       f"name service is unreachable, or the host name is wrong") from None
                problem = f"cannot reach {_host(transfer.url)} ({_reason(exc)})"
            except httpx.TooManyRedirects:
                raise UserError(f"too many redirects fetching {transfer.shown_url}") from None
            except httpx.UnsupportedProtocol as exc:  # a redirect to file://, ftp://...: never worth a retry
                raise UserError(f"refusing the redirect from {transfer.shown_url} to {redact(str(exc.request.url))}: "
                                "only http and https downloads are allowed") from None
            except httpx.TimeoutException:
                problem = f"{_host(transfer.url)} stopped answering (timed out)"
            except (httpx.TransportError, httpx.StreamError) as exc:
                problem = f"the connection to {_host(transfer.url)} broke ({_reason(exc)})"
            if last:
                raise UserError(f"download of {transfer.target.name} failed after {policy.retries + 1} attempts: "
                                f"{problem}")
            pause = policy.delay(attempt)
            transfer.on_progress(Progress("restart", transfer.target.name,
                                          message=f"retry {attempt + 1} of {policy.retries} in {pause:g} s: {problem}"))
            time.sleep(pause)


def _unresolvable(exc: BaseException) -> bool:
    """Whether a connection failed because the host's name did not resolve (socket.gaierror inside)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, socket.gaierror):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return redact(text.splitlines()[0])
