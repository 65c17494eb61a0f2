"""The images a model gets most wrong: most false positives, most missed objects (IoU 0.5)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Label

from tui.evaluation import Evaluation

SHOWN = 15
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
    WorstImages DataTable {
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

    def compose(self) -> ComposeResult:
        for kind, title in TITLES.items():
            with Vertical(classes="worst-column"):
                yield Label(title, id=f"{kind}-title", classes="caption")
                yield DataTable(id=f"worst-{kind}", cursor_type="row", zebra_stripes=True)

    def table(self, kind: str) -> DataTable:
        return self.query_one(f"#worst-{kind}", DataTable)

    def on_mount(self) -> None:
        for kind in TITLES:
            self.table(kind).add_columns("image", "FP", "missed")

    def show(self, by_type: dict[str, Evaluation]) -> None:
        """Rank by the masks' errors when masks were evaluated, else by the boxes'."""
        evaluation = by_type.get("segm") or by_type.get("bbox")
        self._file = evaluation.file if evaluation else None
        for kind, title in TITLES.items():
            table = self.table(kind)
            table.clear()
            if evaluation is None:
                continue
            which = "mask" if evaluation.iou_type == "segm" else "box"
            self.query_one(f"#{kind}-title", Label).update(f"{title} ({which})")
            for errors in evaluation.worst_images(kind, SHOWN):
                table.add_row(errors.image_file, str(errors.false_positives), str(errors.missed),
                              key=errors.image_file)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self._file is not None:
            self.post_message(self.ImageChosen(self._file, event.row_key.value))
