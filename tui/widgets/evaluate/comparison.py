"""One row per prediction file, the paper's five weighted metrics as `box | mask` percentages."""

from __future__ import annotations

from textual.widgets import DataTable

from tui.evaluation import METRICS, Evaluation
from tui.evaluation.report import box_mask, box_mask_rows, by_file


class ComparisonTable(DataTable):
    """Rows keyed by the prediction file's path."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_column("model", key="model")
        self.add_column("file", key="file")
        for key, heading in METRICS:
            self.add_column(f"{heading} box | mask", key=key)

    def show(self, evaluations: list[Evaluation]) -> None:
        """Redraw for these evaluations, keeping the cursor on the same file when it is still there."""
        selected = self.selected_file
        self.clear()
        files = list(by_file(evaluations))
        for file, (model, label, cells) in zip(files, box_mask_rows(evaluations)):
            self.add_row(model, label, *map(box_mask, cells), key=file)
        if selected in files:
            self.move_cursor(row=files.index(selected))

    @property
    def selected_file(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
