"""A DataTable whose columns fit its width, so that a number is never read cut: each column as wide as
its widest cell, the text column giving way (down to a quarter of the table), and a column that does
not fit starting exactly at the right edge, out of sight until scrolled to rather than half in it.
Its cells and column labels are text, never markup: a `str` goes through `tui.text.rich_text`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from tui.text import rich_text, visible

Columns = Sequence[tuple[str, str]]
"""(label, key) of each column, in order; a label may have two lines (with `header_height=2`)."""


def plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else visible(cell)


def as_text(cell: object) -> object:
    """A str cell as text (control characters shown, markup kept as brackets); other cells as they are."""
    return rich_text(cell) if isinstance(cell, str) else cell


def label_text(label: str) -> Text:
    """A column label as text, each of its lines (a label may have two) `rich_text`."""
    return Text("\n").join(rich_text(line) for line in label.split("\n"))


def content_width(label: str, cells: Sequence[object]) -> int:
    """Cells needed by the widest of the label's lines and the column's cells."""
    return max([*(cell_len(visible(line)) for line in label.splitlines() or [""]), *(cell_len(plain(c)) for c in cells)])


def fitted_widths(natural: Sequence[int], available: int, padding: int, text_column: int | None = None) -> list[int]:
    """Column widths (without padding) for `available` cells. The text column keeps its natural width
    when everything fits, else shrinks to what the others leave (not below a quarter of the table);
    the last column in sight then grows, the text column if it is in sight, so that the first column
    that does not fit starts exactly at the edge."""
    widths = list(natural)
    pad = 2 * padding
    if text_column is not None:
        others = sum(width + pad for index, width in enumerate(widths) if index != text_column)
        floor = min(natural[text_column], available // 4)
        widths[text_column] = min(natural[text_column], max(floor, available - others - pad))
    start = 0
    for index, width in enumerate(widths):
        if start + width + pad > available:
            if index > 0:
                grows = text_column if text_column is not None and text_column < index else index - 1
                widths[grows] += available - start
            break
        start += width + pad
    return widths


def clipped(cell: object, width: int) -> object:
    """A cell cut to `width` with an ellipsis that says so (the table would cut it silently)."""
    text = plain(cell)
    if cell_len(text) <= width:
        return cell
    return Text(text[:max(width - 1, 0)] + "…", style=cell.style if isinstance(cell, Text) else "")


class FittedTable(DataTable):
    """Fill it with `set_columns` then `add_row` (which clips the text column's cells with an ellipsis);
    when its width changes it posts `WidthChanged`, and whoever fills it fills it again."""

    @dataclass
    class WidthChanged(Message):
        """The table is now wider or narrower than its columns were fitted for."""

        table: FittedTable

        @property
        def control(self) -> FittedTable:
            return self.table

    _fitted_for: int | None = None
    _text_column: tuple[int, int] | None = None
    """(index, width) of the text column as the last `set_columns` sized it."""

    def set_columns(self, columns: Columns, rows: Sequence[Sequence[object]], text_column: str | None = None) -> None:
        """Clear the table and add these columns, sized for these rows (each a cell per column)."""
        keys = [key for _, key in columns]
        natural = [content_width(label, [row[index] for row in rows]) for index, (label, _) in enumerate(columns)]
        self._fitted_for = self.visible_width
        text_index = keys.index(text_column) if text_column is not None else None
        widths = fitted_widths(natural, self._fitted_for, self.cell_padding, text_index)
        self._text_column = (text_index, widths[text_index]) if text_index is not None else None
        self.clear(columns=True)
        for (label, key), width in zip(columns, widths):
            self.add_column(label_text(label), key=key, width=width)

    def add_row(self, *cells, **kwargs):
        if self._text_column is not None:
            index, width = self._text_column
            cells = (*cells[:index], clipped(cells[index], width), *cells[index + 1:])
        return super().add_row(*map(as_text, cells), **kwargs)

    @property
    def visible_width(self) -> int:
        """Cells in sight across: the table draws its lines this wide, less what its scrollbar covers."""
        return self.size.width - (self.styles.scrollbar_size_vertical if self.show_vertical_scrollbar else 0)

    @property
    def fitted(self) -> bool:
        """Whether the columns were sized for the table's present width."""
        return self._fitted_for == self.visible_width

    def on_resize(self) -> None:
        self._ask_to_refit()

    def watch_show_vertical_scrollbar(self) -> None:
        """Rows enough to scroll: the scrollbar now covers the last cells (no resize event says so)."""
        self._ask_to_refit()

    def _ask_to_refit(self) -> None:
        if self._fitted_for is not None and not self.fitted:
            self.post_message(self.WidthChanged(self))
