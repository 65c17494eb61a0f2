"""The runner event protocol: one JSON object per line on stdout, each with an `event` field.

    start     model, total (images), providers (execution providers or devices),
              resumed (images already done by an earlier run), path (which inference path runs)
    progress  done, total, image, detections, seconds (for that image)
    log       message
    warning   message, image (optional): e.g. an image skipped, and why
    done      output (the file written), images, detections, skipped, seconds
    error     message

Human-readable text goes to stderr. Every runner uses this module; it runs under the model
environment's own interpreter (Python 3.8 and up) and needs only the standard library.
"""

import json
import sys
import threading

EVENTS = ("start", "progress", "log", "warning", "done", "error")
EXIT_CANCELLED = 130
"""The exit status of a run the user stopped (Ctrl+C, SIGTERM): not an error, though it ends with one."""
EXIT_INPUT = 2
"""Input the user can fix: no images in the folder, none of them readable, an output folder not writable."""
EXIT_BUSY = 75
"""Another run is writing the same output right now: wait for it, or choose another (sysexits' EX_TEMPFAIL)."""
_lock = threading.Lock()


def emit(event, **fields):
    """Write one event line to stdout and flush it at once."""
    if event not in EVENTS:
        raise ValueError("unknown event {!r}".format(event))
    record = {"event": event}
    record.update(fields)
    line = json.dumps(record, default=_jsonable)
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def say(message):
    """Human-readable text: stderr only."""
    with _lock:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


def log(message):
    say(message)
    emit("log", message=message)


def warning(message, image=None):
    say("warning: " + message)
    if image is None:
        emit("warning", message=message)
    else:
        emit("warning", message=message, image=image)


def fail(message, code=1):
    """Report a fatal error as the last event and exit. A cancellation (EXIT_CANCELLED) ends with an
    `error` event too, but its human-readable line does not call it one."""
    say(message if code == EXIT_CANCELLED else "error: " + message)
    emit("error", message=message)
    sys.exit(code)


def _jsonable(value):
    # numpy scalars and paths, without importing numpy here
    for attr in ("item", "__fspath__"):
        if hasattr(value, attr):
            return getattr(value, attr)()
    return str(value)
