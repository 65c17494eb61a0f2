"""The kept detections of the selected image, best first: category, score, box, mask area."""

from __future__ import annotations

from textual.widgets import DataTable

from tui.predictions.view import DetectionRow


class DetectionsTable(DataTable):
    COLUMNS = ("file", "#", "category", "score", "box (x1, y1, x2, y2)", "mask area")

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for column in self.COLUMNS:
            self.add_column(column, key=column)

    def show_rows(self, rows_by_file: list[tuple[str, list[DetectionRow]]]) -> None:
        self.clear()
        for label, rows in rows_by_file:
            for row in rows:
                self.add_row(
                    label, row.detection, row.category, f"{row.score:.3f}",
                    ", ".join(str(v) for v in row.box),
                    f"{row.mask_area:,}" if row.mask_area is not None else "no mask",
                    key=f"{label}:{row.detection}",
                )
