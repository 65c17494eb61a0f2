"""The images a model gets most wrong: most false positives, most missed objects (IoU 0.5)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Label

from tui.evaluation import Evaluation
from tui.widgets.fitted_table import FittedTable

SHOWN = 15
COLUMNS = [("image", "image"), ("FP", "false_positives"), ("missed", "missed")]
TITLES = {"false_positives": "most false positives", "missed": "most missed objects"}


class WorstImages(Horizontal):
    """Two lists for one prediction file; choosing a row asks for that image in the browser."""

    DEFAULT_CSS = """
    WorstImages .worst-column {
        width: 1fr;
    }
    WorstImages .caption {
        color: $text-muted;
        padding: 0 1;
    }
    WorstImages FittedTable {
        height: 1fr;
    }
    """

    @dataclass
    class ImageChosen(Message):
        file: str
        image_file: str

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._file: str | None = None
        self._by_type: dict[str, Evaluation] = {}

    def compose(self) -> ComposeResult:
        for kind, title in TITLES.items():
            with Vertical(classes="worst-column"):
                yield Label(title, id=f"{kind}-title", classes="caption")
                yield FittedTable(id=f"worst-{kind}", cursor_type="row", zebra_stripes=True)

    def table(self, kind: str) -> FittedTable:
        return self.query_one(f"#worst-{kind}", FittedTable)

    def on_mount(self) -> None:
        self.show({})

    def show(self, by_type: dict[str, Evaluation]) -> None:
        """Rank by the masks' errors when masks were evaluated, else by the boxes'."""
        self._by_type = by_type
        evaluation = by_type.get("segm") or by_type.get("bbox")
        self._file = evaluation.file if evaluation else None
        for kind, title in TITLES.items():
            worst = evaluation.worst_images(kind, SHOWN) if evaluation else []
            rows = {errors.image_file: (errors.image_file, str(errors.false_positives), str(errors.missed))
                    for errors in worst}
            table = self.table(kind)
            table.set_columns(COLUMNS, list(rows.values()), text_column="image")
            for key, cells in rows.items():
                table.add_row(*cells, key=key)
            if evaluation is not None:
                which = "mask" if evaluation.iou_type == "segm" else "box"
                self.query_one(f"#{kind}-title", Label).update(f"{title} ({which})")

    @on(FittedTable.WidthChanged)
    def _refit(self, event: FittedTable.WidthChanged) -> None:
        event.stop()
        self.show(self._by_type)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self._file is not None:
            self.post_message(self.ImageChosen(self._file, event.row_key.value))
