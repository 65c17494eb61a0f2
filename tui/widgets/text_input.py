"""The app's text field: an Input whose value may hold a path or a name from outside (a file opened from
the command line, a folder picked from the disk). The value is kept as it is, so the path still opens;
it is drawn through `tui.text.field`, one visible character for each control character, so an escape
in a file name cannot reach the terminal and the cursor stays where the value has it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input

from tui.text import field


class TextInput(Input):
    @property
    def _value(self) -> Text:
        if self.password:
            return super()._value
        text = Text(field(self.value), no_wrap=True, overflow="ignore", end="")
        return self.highlighter(text) if self.highlighter is not None else text
