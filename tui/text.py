"""Text from outside (a file, a server, the config) on its way to an output: one function per kind of sink.

A name, a category, a model's meta or a server's message may hold terminal escape sequences (ANSI,
OSC 8 links, a window title), C0/C1 control characters, bidi overrides that reorder what a reader
sees, Rich or Textual markup (`[red]`, `[link=...]`, `[@click=...]`) or a spreadsheet formula. Every
such string reaches its output through the function for that output:

- `visible`: plain text on a terminal or in a log line (what every other function starts from);
- `error_line`: the one line of an error (`fashionfail-tui: error: ...`);
- `rich_text`: a cell, label or line rendered by Rich or Textual (tables, widgets), as a `Text` that
  is never read as markup;
- `markup`: a piece of text put inside a markup string (`f"[yellow]{markup(name)}[/]"`), for Rich
  and Textual alike;
- `notification`: the message of a Textual notification (shown with `markup=False`);
- `field`: the value of a text field as it is drawn (tui/widgets/text_input.py), one character for one;
- `html`: text in report.html;
- `csv_cell`: a text cell of a CSV export.

`SINKS` names them all; tests/test_output_escaping.py feeds each of them hostile strings, and walks
the commands and screens that print or show such strings.
"""

from __future__ import annotations

import html as _html
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Rich is imported when a Text is made: every command imports this module
    from rich.text import Text

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_KEPT_FORMAT = {"\u200c", "\u200d"}
"""Zero-width non-joiner and joiner: scripts (Persian, Indic) and emoji sequences need them."""
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
"""Control characters (C0, DEL, C1: ESC starts every ANSI/OSC sequence), format characters (bidi
overrides and isolates, zero-width spaces, the byte-order mark), lone surrogates (an undecodable byte
in a file name) and the line and paragraph separators."""


def _is_hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN_CATEGORIES and char not in _KEPT_FORMAT


def _shown(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text) -> str:
    """`text` (anything; str() of it) with every control character, line break, bidi control and
    undecodable byte written as an escape (`\\x1b`, `\\n`, `\\u202e`, `\\xff`), so it shows as what it is
    and cannot move the cursor, recolour, retitle, link or reorder anything."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(_shown(c) if _is_hidden(c) else c for c in text)


def error_line(message) -> str:
    """An error message as one line: the newlines of a message made of several lines become spaces,
    everything else (a carriage return, a separator) `visible`."""
    return visible(" ".join(str(message).rstrip("\n").split("\n")))


def rich_text(text, style: str = "") -> Text:
    """`text` as a Rich `Text` for a Rich table or console, or a Textual widget: `visible`, and never read
    as markup, emoji codes or highlighted."""
    from rich.text import Text

    return Text(visible(text), style=style)


_ACTIVE_BACKSLASH = re.compile(r"\\(?=\[|$)")
_EMOJI_CODE = re.compile(r":(?=[^\s:\[]+:)")


def markup(text) -> str:
    """`text` to put inside a markup string, Rich's or Textual's: `visible`; every `[` escaped; a
    backslash that would escape something (before a `[`, or last) shown as `\\x5c`; and each `:` that
    could open a Rich emoji code (`:skull:`) followed by an empty tag, which ends the code."""
    text = _ACTIVE_BACKSLASH.sub(r"\\x5c", visible(text)).replace("[", "\\[")
    return _EMOJI_CODE.sub(":[bold][/bold]", text) if ":" in text else text


_CONTROL_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)} | {0x7F: "\u2421"}


def field(text) -> str:
    """A text field's value as shown (the value itself is kept): one visible character for each hidden
    one, so the cursor stays where the value has it: a C0 control as its Unicode control picture
    (ESC as `␛`, a newline as `␊`), DEL as `␡`, any other (C1, bidi control, undecodable byte) as `�`."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(_CONTROL_PICTURES.get(ord(c), "\ufffd") if _is_hidden(c) else c for c in text)


def notification(text) -> str:
    """A Textual notification's message (pass `markup=False` to `notify`): `visible`."""
    return visible(text)


def html(text) -> str:
    """Text in an HTML page (element content or a quoted attribute): `visible`, then HTML-escaped."""
    return _html.escape(visible(text), quote=True)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP, CSV injection)."""


def csv_cell(text) -> str:
    """A text cell of a CSV file: as it is, except that one starting like a formula gets a leading `'`,
    as OWASP recommends, so a spreadsheet shows it as text and runs nothing. Numbers are not text cells:
    a negative number stays a number."""
    text = str(text)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


SINKS = {
    "terminal": visible,
    "error line": error_line,
    "Rich or Textual renderable": rich_text,
    "inside markup": markup,
    "notification": notification,
    "text field": field,
    "HTML": html,
    "CSV cell": csv_cell,
}
"""Every kind of output and its function; tests/test_output_escaping.py checks each one."""
