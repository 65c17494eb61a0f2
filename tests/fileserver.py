"""A real HTTP file server on 127.0.0.1 for the download tests, with faults to inject.

It honours `Range: bytes=N-` and `If-Range` (ETag or Last-Modified) like a CDN does, and records
every request's headers so tests can check what the client really asked for.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    body: bytes
    etag: str
    last_modified: str
    ignore_range: bool = False
    ignore_if_range: bool = False
    """Resume even when If-Range names another version (a broken cache or proxy)."""
    corrupt: bool = False
    """Send different bytes than the ETag/X-Linked-Etag describe."""
    linked_sha256: str | None = None
    """Hugging Face style: answer with a 302 carrying X-Linked-Etag, then the bytes."""
    goog_md5: bool = False
    """Google Cloud Storage style: an `x-goog-hash: crc32c=..., md5=BASE64` header with the md5 of `body`."""
    delay: float = 0.0
    """Seconds to sleep between 1 KiB chunks."""
    no_length: bool = False
    """Send no Content-Length: the body ends when the connection closes (HTTP/1.0 style), so a
    dropped connection looks like a complete, shorter file."""
    faults: list[str] = field(default_factory=list)
    """One per request, consumed in order: 'drop:N' (close after N body bytes), '404', '500'."""
    endless: bool = False
    """After `body`, keep sending zeros until the client hangs up (with no Content-Length unless `announce`)."""
    drip: float = 0.0
    """Send the body one byte at a time, this many seconds apart (a server that is never quite silent)."""
    announce: int | None = None
    """The Content-Length to send instead of the body's real length (a lying server)."""
    drip_headers: float = 0.0
    """Send even the status line and headers one byte at a time, this many seconds apart."""


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer is what many tests do on purpose (a body cut at its
    announced length, a download cancelled or capped): no traceback on the test's stderr for it."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FileServer:
    def __init__(self, port: int = 0):
        self.files: dict[str, Served] = {}
        self.redirects: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.most_at_once = 0
        """The largest number of requests that were being answered at the same time."""
        self._answering = 0
        self._lock = threading.Lock()
        self._version = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.handle(self)

        self.httpd = _QuietServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, body: bytes, **options) -> Served:
        """Serve `body` at `path`; serving a new body later changes its ETag and Last-Modified."""
        with self._lock:
            self._version += 1
            served = Served(body, f'"{hashlib.md5(body).hexdigest()}-{self._version}"',
                            formatdate(1_700_000_000 + self._version, usegmt=True), **options)
            self.files[path] = served
        return served

    def requests_for(self, path: str) -> list[dict[str, str]]:
        return [headers for requested, headers in self.requests if requested == path]

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self._answering += 1
            self.most_at_once = max(self.most_at_once, self._answering)
        try:
            self._answer(request)
        finally:
            with self._lock:
                self._answering -= 1

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path
        with self._lock:
            self.requests.append((path, {k.lower(): v for k, v in request.headers.items()}))
            served = self.files.get(path)
            fault = served.faults.pop(0) if served and served.faults else None
        if path in self.redirects:
            request.send_response(302)
            request.send_header("Location", self.redirects[path])
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        if served is None or fault == "404":
            return self._status(request, 404, b"not found")
        if fault == "500":
            return self._status(request, 500, b"boom")
        if served.linked_sha256 and not path.endswith("?lfs"):
            # like huggingface.co/.../resolve/...: a redirect that carries the LFS sha256
            self.files[path + "?lfs"] = served
            request.send_response(302)
            request.send_header("Location", path + "?lfs")
            request.send_header("X-Linked-Etag", f'"{served.linked_sha256}"')
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        if served.drip_headers:
            return self._drip_headers(request, served)
        body = bytes(b ^ 0xFF for b in served.body) if served.corrupt else served.body
        start = self._range_start(request, served)
        request.send_response(206 if start else 200)
        if start:
            request.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        if served.announce is not None:
            request.send_header("Content-Length", str(served.announce))
        elif not served.no_length and not served.endless:
            request.send_header("Content-Length", str(len(body) - start))
        request.send_header("ETag", served.etag)
        request.send_header("Last-Modified", served.last_modified)
        request.send_header("Accept-Ranges", "none" if served.ignore_range else "bytes")
        if served.goog_md5:
            md5 = base64.b64encode(hashlib.md5(served.body).digest()).decode()
            request.send_header("x-goog-hash", "crc32c=n03x6A==")
            request.send_header("x-goog-hash", f"md5={md5}")
        request.end_headers()
        remaining = body[start:]
        if fault and fault.startswith("drop:"):
            remaining = remaining[:int(fault[5:])]
        if served.endless or served.drip:
            return self._stream(request, remaining, served)
        for offset in range(0, len(remaining), 1024):
            request.wfile.write(remaining[offset:offset + 1024])
            request.wfile.flush()
            if served.delay and offset + 1024 < len(remaining):
                time.sleep(served.delay)
        if fault and fault.startswith("drop:"):
            request.close_connection = True
            request.connection.shutdown(2)

    @staticmethod
    def _drip_headers(request: BaseHTTPRequestHandler, served: Served) -> None:
        request.close_connection = True
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(served.body)}\r\n\r\n".encode()
        try:
            for index in range(len(head)):
                request.wfile.write(head[index:index + 1])
                request.wfile.flush()
                time.sleep(served.drip_headers)
            request.wfile.write(served.body)
        except OSError:
            pass  # the client hung up

    @staticmethod
    def _stream(request: BaseHTTPRequestHandler, body: bytes, served: Served) -> None:
        """The body a byte at a time (drip), then zeros for ever (endless), until the client hangs up."""
        request.close_connection = True
        try:
            for index in range(len(body)) if served.drip else ():
                request.wfile.write(body[index:index + 1])
                request.wfile.flush()
                time.sleep(served.drip)
            if not served.drip:
                request.wfile.write(body)
            zeros = bytes(1 << 16)
            while served.endless:
                request.wfile.write(zeros[:1] if served.drip else zeros)
                request.wfile.flush()
                if served.drip:
                    time.sleep(served.drip)
        except OSError:
            pass  # the client hung up: what these faults wait for

    @staticmethod
    def _range_start(request: BaseHTTPRequestHandler, served: Served) -> int:
        wanted = request.headers.get("Range", "")
        if served.ignore_range or not wanted.startswith("bytes=") or not wanted.endswith("-"):
            return 0
        if_range = request.headers.get("If-Range")
        if if_range and if_range not in (served.etag, served.last_modified) and not served.ignore_if_range:
            return 0  # the file changed: send all of it
        start = int(wanted[6:-1])
        return start if start < len(served.body) else 0

    @staticmethod
    def _status(request: BaseHTTPRequestHandler, code: int, body: bytes) -> None:
        request.send_response(code)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
