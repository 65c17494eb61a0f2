"""The queue: one row per model with its state, images done, images/s, ETA and output or reason."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import DataTable

from tui.comparison.progress import ModelRow
from tui.text import rich_text
from tui.units import human_duration, human_rate

STATE_STYLES = {"queued": "dim", "running": "bold", "done": "green", "reused": "green", "failed": "red",
                "cancelled": "yellow", "not run": "yellow", "skipped": "dim"}
COLUMNS = (("model", "model"), ("state", "state"), ("images", "progress"), ("rate", "rate"), ("ETA", "eta"),
           ("output / reason", "note"))


def _cells(row: ModelRow) -> dict[str, object]:
    if row.total is None:
        progress = "–"
    else:
        percent = f" {row.done / row.total:.0%}" if row.total else ""
        progress = f"{row.done}/{row.total}{percent}"
    return {"model": rich_text(row.model), "state": Text(row.state, style=STATE_STYLES[row.state]), "progress": progress,
            "rate": human_rate(row.rate) if row.state == "running" else "", "eta": human_duration(row.eta)
            if row.state == "running" else "", "note": rich_text(row.note)}


class QueueTable(DataTable):
    """Rows keyed by model name."""

    DEFAULT_CSS = """
    QueueTable {
        height: auto;
        max-height: 10;
    }
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for heading, key in COLUMNS:
            self.add_column(heading, key=key)

    def show_rows(self, rows: Iterable[ModelRow]) -> None:
        self.clear()
        for row in rows:
            self.add_row(*_cells(row).values(), key=row.model)

    def update_rows(self, rows: Iterable[ModelRow]) -> None:
        for row in rows:
            for key, value in _cells(row).items():
                self.update_cell(row.model, key, value, update_width=True)

    def state_of(self, model: str) -> str:
        return str(self.get_cell(model, "state"))
