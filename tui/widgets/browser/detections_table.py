"""The kept detections of the selected image, best first: category, score, box, mask area."""

from __future__ import annotations

from tui.predictions.view import DetectionRow
from tui.widgets.fitted_table import FittedTable


class DetectionsTable(FittedTable):
    COLUMNS = ("file", "#", "category", "score", "box (x1, y1, x2, y2)", "mask area")

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.show_rows([])

    def show_rows(self, rows_by_file: list[tuple[str, list[DetectionRow]]]) -> None:
        self._rows_by_file = rows_by_file
        rows = {f"{label}:{row.detection}": (
            label, row.detection, row.category, f"{row.score:.3f}", ", ".join(str(v) for v in row.box),
            f"{row.mask_area:,}" if row.mask_area is not None else "no mask",
        ) for label, file_rows in rows_by_file for row in file_rows}
        self.set_columns([(column, column) for column in self.COLUMNS], list(rows.values()), text_column="category")
        for key, cells in rows.items():
            self.add_row(*cells, key=key)

    def on_fitted_table_width_changed(self) -> None:
        self.show_rows(self._rows_by_file)
