"""The one exception type the CLI and the app turn into a one-line message, and the path checks that raise it."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """A failure the user can act on: bad input, a missing file, a broken download.

    The message is shown as is, on one line, without a traceback.
    """

    exit_code = 2


def described(exc: BaseException, limit: int = 300) -> str:
    """`Type: message` of an exception raised by a parser of untrusted input, on one line and
    shortened: its message may quote the input, newlines and all."""
    text = f"{type(exc).__name__}: {' '.join(str(exc).split())}" if str(exc) else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def require_file(path: Path, what: str = "") -> None:
    """UserError unless `path` is a file: "<what> <path> does not exist" or "... is not a file"."""
    if not path.is_file():
        named = f"{what} {path}" if what else str(path)
        raise UserError(f"{named} does not exist" if not path.exists() else f"{named} is not a file")


def require_folder(path: Path, what: str = "") -> None:
    """UserError unless `path` is a folder: "<what> <path> does not exist" or "... is not a folder"."""
    if not path.is_dir():
        named = f"{what} {path}" if what else str(path)
        raise UserError(f"{named} does not exist" if not path.exists() else f"{named} is not a folder")
