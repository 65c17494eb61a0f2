"""The failure gallery's parts: the list of cases of one kind, and one picture per model beside the
ground truth's (any number of models)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image as PILImage
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.widgets import DataTable, Select

from tui.comparison.gallery import KINDS, GalleryCase, gallery_cases
from tui.evaluation.failures import FailureCases
from tui.text import rich_text
from tui.widgets.browser.picture import Picture


class CaseList(Vertical):
    """A kind chooser over the table of its cases; highlighting a row chooses that case."""

    @dataclass
    class CaseChosen(Message):
        case: GalleryCase

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cases: FailureCases | None = None
        self.shown: list[GalleryCase] = []

    def compose(self) -> ComposeResult:
        yield Select([(title, kind) for kind, title in KINDS], value=KINDS[0][0], allow_blank=False, id="case-kind")
        yield DataTable(id="case-table", cursor_type="row", zebra_stripes=True)

    @property
    def kind_select(self) -> Select:
        return self.query_one("#case-kind", Select)

    @property
    def table(self) -> DataTable:
        return self.query_one("#case-table", DataTable)

    def on_mount(self) -> None:
        self.table.add_columns("image", "case")

    def show(self, cases: FailureCases) -> None:
        self.cases = cases
        self._fill()

    @on(Select.Changed, "#case-kind")
    def _fill(self) -> None:
        if self.cases is None:
            return
        self.shown = gallery_cases(self.cases, str(self.kind_select.value))
        self.table.clear()
        for index, case in enumerate(self.shown):
            self.table.add_row(rich_text(case.image), rich_text(case.summary), key=str(index))
        self.table.border_title = f"{len(self.shown)} case(s)"
        if self.shown:
            self.table.move_cursor(row=0)
            self.post_message(self.CaseChosen(self.shown[0]))

    @on(DataTable.RowHighlighted, "#case-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.CaseChosen(self.shown[int(event.row_key.value)]))


class PanelGrid(Grid):
    """The ground truth's picture first, then one per model, in as many columns as fit them evenly."""

    def set_count(self, count: int) -> None:
        """Have exactly `count` pictures (mounting or removing), laid out in rows of at most three."""
        pictures = list(self.query(Picture))
        for extra in pictures[count:]:
            extra.remove()
        if len(pictures) < count:
            self.mount_all(Picture(classes="gallery-panel") for _ in range(count - len(pictures)))
        rows = math.ceil(count / 3)
        self.styles.grid_size_columns = math.ceil(count / rows) if count else 1

    @property
    def pictures(self) -> list[Picture]:
        return list(self.query(Picture))

    def show(self, panels: list[tuple[str, PILImage.Image | None, str]]) -> None:
        """(caption, drawing or None, note) per picture, in order."""
        for picture, (caption, drawn, note) in zip(self.pictures, panels):
            if drawn is None:
                picture.show_placeholder(caption, note)
            else:
                picture.show_drawing(caption, drawn, note)
