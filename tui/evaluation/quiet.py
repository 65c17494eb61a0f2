"""pycocotools prints progress chatter on stdout; the CLI's --json output and the app must not see it."""

from __future__ import annotations

import contextlib
import io
import threading

_STDOUT_SWAP = threading.Lock()


@contextlib.contextmanager
def quietly():
    """Swallow what is printed inside; one swap at a time, so threads cannot restore the wrong stdout."""
    with _STDOUT_SWAP, contextlib.redirect_stdout(io.StringIO()):
        yield
