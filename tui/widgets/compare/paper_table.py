"""The paper's table of a comparison: one row per model, `box | mask` per metric, the best of each column marked."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tui.evaluation.report import PaperTable, percent
from tui.evaluation.results import METRICS
from tui.text import rich_text

BEST_STYLE = "bold reverse"


class PaperTableView(DataTable):
    DEFAULT_CSS = """
    PaperTableView {
        height: auto;
        max-height: 10;
        margin: 1 0 0 0;
    }
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_column("model", key="model")
        for key, heading in METRICS:
            self.add_column(heading, key=key)

    def show(self, table: PaperTable) -> None:
        self.clear()
        for row in table.rows:
            cells = []
            for metric in range(len(METRICS)):
                halves = [Text(percent(row.cells[metric][half]), style=BEST_STYLE if table.is_best(row, metric, half)
                               else "") for half in (0, 1)]
                cells.append(Text.assemble(halves[0], " | ", halves[1]))
            self.add_row(rich_text(row.label), *cells, key=row.label)
