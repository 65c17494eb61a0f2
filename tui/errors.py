"""The one exception type the CLI and the app turn into a one-line message, and the path checks that raise it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path

_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]*@")


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it (`https://user:password@host`) replaced by ***."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """` (did you mean 'models'?)` when one known word is close to a mistyped one (`modles`), else ""."""
    close = difflib.get_close_matches(word.strip().lower(), list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class UserError(Exception):
    """A failure the user can act on: bad input, a missing file, a broken download.

    The message is shown as is, on one line, without a traceback, and with the credentials of
    any URL in it redacted (a mirror url may carry `user:password@`). It speaks neither the
    command line's language nor the app's: `hint` is the command-line way out (`pass --overwrite
    to replace it`), which the CLI adds and the app leaves to its own words.
    """

    exit_code = 2

    def __init__(self, message: object = "", *, hint: str = "") -> None:
        super().__init__(redact(str(message)))
        self.hint = redact(hint)

    @property
    def for_command_line(self) -> str:
        """The message as the CLI prints it: with the hint, when there is one."""
        return f"{self}; {self.hint}" if self.hint else str(self)


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
