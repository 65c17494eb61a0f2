"""One row per prediction file, the paper's five weighted metrics as `box | mask` percentages."""

from __future__ import annotations

from tui.evaluation import METRICS, Evaluation
from tui.evaluation.report import box_mask, box_mask_rows, by_file, model_labels
from tui.widgets.fitted_table import FittedTable

COLUMNS = [("model", "model"), *((f"{heading}\nbox | mask", key) for key, heading in METRICS)]


class ComparisonTable(FittedTable):
    """Rows keyed by the prediction file's path, named by the model (and where two files share one,
    the end of the path that tells them apart)."""

    def __init__(self, **kwargs):
        super().__init__(header_height=2, cursor_type="row", zebra_stripes=True, **kwargs)
        self._evaluations: list[Evaluation] = []

    def on_mount(self) -> None:
        self.show([])

    def show(self, evaluations: list[Evaluation]) -> None:
        """Redraw for these evaluations, keeping the cursor on the same file when it is still there."""
        self._evaluations = evaluations
        selected = self.selected_file
        files = list(by_file(evaluations))
        rows = box_mask_rows(evaluations)
        labels = model_labels([(model, file) for file, (model, _, _) in zip(files, rows)])
        cells = [(label, *map(box_mask, row_cells)) for label, (_, _, row_cells) in zip(labels, rows)]
        self.set_columns(COLUMNS, cells, text_column="model")
        for file, row in zip(files, cells):
            self.add_row(*row, key=file)
        if selected in files:
            self.move_cursor(row=files.index(selected))

    def on_fitted_table_width_changed(self) -> None:
        self.show(self._evaluations)

    @property
    def selected_file(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
