"""Boxes told apart by more than colour: a ticked box shows X, an empty one is blank (Textual draws
an X in both and tells them apart by colour only); a chosen radio button shows its dot, the others none."""

from __future__ import annotations

from typing import TypeVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import RadioButton, SelectionList
from textual.widgets._toggle_button import ToggleButton

Value = TypeVar("Value")


class CheckList(SelectionList[Value]):
    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        segments = list(line)
        index = self.scroll_offset.y + y
        if len(segments) < 2 or segments[1].text != ToggleButton.BUTTON_INNER or index >= self.option_count:
            return line
        ticked = self.get_option_at_index(index).value in self._selected
        segments[1] = Segment("X" if ticked else " ", segments[1].style, segments[1].control)
        return Strip(segments, line.cell_length)


class Radio(RadioButton):
    @property
    def BUTTON_INNER(self) -> str:  # noqa: N802 - Textual's name, read per instance here
        return "\u25cf" if self.value else " "
