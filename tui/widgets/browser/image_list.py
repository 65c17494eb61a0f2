"""The images of the open files with their detection counts: filter by name, sort by any column."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input

from rich.cells import cell_len

from tui.widgets.fitted_table import FittedTable
from tui.widgets.text_input import TextInput

BATCH_ROWS = 1000


class ImageList(Vertical):
    DEFAULT_CSS = """
    ImageList #images {
        height: 1fr;
    }
    """

    BINDINGS = [Binding("t", "cycle_sort", "Sort images", show=False)]  # in ctrl+p: the footer is cut at 80
    SORTS = ("image", "detections, most first", "detections, fewest first")

    @dataclass
    class ImageSelected(Message):
        name: str

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._names: list[str] = []
        self._counts: list[np.ndarray] = []
        self._labels: list[str] = []
        self._sort = 0
        self._generation = 0

    def compose(self) -> ComposeResult:
        yield TextInput(placeholder="filter images by name", id="image-filter")
        yield FittedTable(id="images", cursor_type="row", zebra_stripes=True)

    @property
    def name_filter(self) -> Input:
        return self.query_one("#image-filter", Input)

    @property
    def table(self) -> FittedTable:
        return self.query_one("#images", FittedTable)

    @property
    def shown_names(self) -> list[str]:
        return [str(key.value) for key in self.table.rows]

    def show_images(self, names: list[str], counts: list[np.ndarray], labels: list[str],
                    select: str | None = None) -> None:
        """names: every image of the open files; counts[k][i]: detections of file k on image i;
        select: the image to put the cursor on (else the one selected before)."""
        self._names, self._counts, self._labels = names, counts, labels
        self._fill(select)

    def _fill(self, select: str | None = None) -> None:
        """Refill the table: the first rows now, the rest in batches between refreshes (10,000 rows at
        once would freeze the screen for about a second while the table measures them)."""
        table = self.table
        selected = select or self.selected_name
        self._generation += 1
        term = self.name_filter.value.strip().lower()
        order = self._order()
        rows = [i for i in order if term in self._names[i].lower()] if term else order
        widest = [max((self._names[i] for i in rows), key=cell_len, default=""),
                  *(str(int(counts.max(initial=0))) for counts in self._counts)]  # counts sized to the largest
        table.set_columns([("image", "image"), *((label, label) for label in self._labels)], [widest],
                          text_column="image")
        self._add_batch(self._generation, rows, 0, selected)

    def _add_batch(self, generation: int, rows: list[int], start: int, selected: str | None) -> None:
        if generation != self._generation:
            return  # refilled since
        table = self.table
        for i in rows[start:start + BATCH_ROWS]:
            table.add_row(self._names[i], *(int(c[i]) for c in self._counts), key=self._names[i])
        if selected is not None and selected in table.rows and self.selected_name != selected:
            table.move_cursor(row=table.get_row_index(selected))
        if start + BATCH_ROWS < len(rows):
            self.call_after_refresh(self._add_batch, generation, rows, start + BATCH_ROWS, selected)

    def _order(self) -> list[int]:
        if not self._names:
            return []
        if self._sort == 0 or not self._counts:
            return sorted(range(len(self._names)), key=self._names.__getitem__)
        counts = self._counts[0]
        return list(np.argsort(-counts if self._sort == 1 else counts, kind="stable"))

    @property
    def selected_name(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_cycle_sort(self) -> None:
        self._sort = (self._sort + 1) % len(self.SORTS)
        self.notify(f"images sorted by {self.SORTS[self._sort]}", timeout=2)
        self._fill()

    @on(DataTable.HeaderSelected, "#images")
    def sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        self._sort = 0 if event.column_key.value == "image" else (1 if self._sort != 1 else 2)
        self._fill()

    @on(Input.Changed, "#image-filter")
    @on(FittedTable.WidthChanged, "#images")
    def filter_names(self) -> None:
        self._fill()

    @on(DataTable.RowHighlighted, "#images")
    def highlight(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.ImageSelected(str(event.row_key.value)))
