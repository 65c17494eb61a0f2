"""Evaluations arranged the way the paper prints them: one row per model, each cell `box | mask`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.evaluation.results import METRICS, Evaluation

Cell = tuple[float | None, float | None]


def percent(value: float | None) -> str:
    """A 0..1 metric as the paper prints it (percent, one decimal); a dash when there is none."""
    return "–" if value is None else f"{value * 100:.1f}"


def box_mask(cell: Cell) -> str:
    return f"{percent(cell[0])} | {percent(cell[1])}"


def by_file(evaluations: Iterable[Evaluation]) -> dict[str, dict[str, Evaluation]]:
    """file -> IoU type -> evaluation, files in the order first seen."""
    grouped: dict[str, dict[str, Evaluation]] = {}
    for evaluation in evaluations:
        grouped.setdefault(evaluation.file, {})[evaluation.iou_type] = evaluation
    return grouped


def short_paths(files: Sequence[str]) -> list[str]:
    """Each file's shortest end of path that no other file ends with: its name, or `run2/facere.npz`
    when another file is also called facere.npz."""
    return [_distinguishing_tail(file, [other for other in files if other != file]) for file in files]


def box_mask_rows(evaluations: Iterable[Evaluation]) -> list[tuple[str, str, list[Cell]]]:
    """(model, file label, [(box, mask) for each of the paper's metrics]); None where that IoU type was not run."""
    grouped = by_file(evaluations)
    rows = []
    for (file, by_type), label in zip(grouped.items(), short_paths(list(grouped))):
        box, mask = by_type.get("bbox"), by_type.get("segm")
        cells = [(box.metric(key) if box else None, mask.metric(key) if mask else None) for key, _ in METRICS]
        rows.append(((box or mask).model, label, cells))
    return rows


def coverage_notes(evaluation: Evaluation, shown: int = 5) -> list[str]:
    """What did not line up between the prediction file and the annotation file, in words."""
    notes = []
    extra = evaluation.not_in_annotations
    if extra:
        notes.append(f"{len(extra)} predicted image(s) not in {Path(evaluation.annotations).name}, left out: "
                     + ", ".join(extra[:shown]) + (" ..." if len(extra) > shown else ""))
    if evaluation.not_in_predictions:
        notes.append(f"{len(evaluation.not_in_predictions)} of {evaluation.images_evaluated} annotated image(s) "
                     "have no predictions; their objects count as missed")
    return notes


def model_labels(entries: Sequence[tuple[str, str]]) -> list[str]:
    """A name for each (model, file): the model, and where files share a model, the shortest end of
    the path that tells this file from the others (`facere (run2/out.npz)`)."""
    labels = []
    for model, file in entries:
        name = model or Path(file).name
        same_model = [f for m, f in entries if (m or Path(f).name) == name and f != file]
        labels.append(f"{name} ({_distinguishing_tail(file, same_model)})" if same_model else name)
    return labels


def _distinguishing_tail(file: str, others: Sequence[str]) -> str:
    parts = Path(file).parts
    for count in range(1, len(parts) + 1):
        if all(Path(other).parts[-count:] != parts[-count:] for other in others):
            return "/".join(parts[-count:])
    return file


def comparison(annotations: Path, evaluations: Iterable[Evaluation]) -> dict:
    """`{"annotations", "models": [{"model", "file", "results": [eval --json objects]}]}`, files in the order given."""
    models = []
    for file, by_type in by_file(evaluations).items():
        results = list(by_type.values())
        models.append({"model": results[0].model, "file": file, "results": [e.as_json() for e in results]})
    return {"annotations": str(annotations), "models": models}


@dataclass(frozen=True)
class PaperRow:
    label: str
    cells: tuple[Cell, ...]
    """(box, mask) for each of the paper's metrics, None where that IoU type was not evaluated."""


@dataclass(frozen=True)
class PaperTable:
    """The paper's table of a comparison: one row per model; the best value of each column marked."""

    rows: tuple[PaperRow, ...]

    def is_best(self, row: PaperRow, metric: int, half: int) -> bool:
        """Whether row's value is the column's best as printed (ties at one decimal all count); only
        where there is a winner: a column of one value, or of values all equal as printed, has none."""
        value = row.cells[metric][half]
        if value is None:
            return False
        column = [r.cells[metric][half] for r in self.rows if r.cells[metric][half] is not None]
        return len({percent(v) for v in column}) > 1 and percent(value) == percent(max(column))

    @property
    def has_best(self) -> bool:
        """Whether any cell is marked best (a table of one model, or of ties only, has none)."""
        return any(self.is_best(row, metric, half) for row in self.rows
                   for metric in range(len(METRICS)) for half in (0, 1))

    def marked(self, row: PaperRow, metric: int, half: int, mark: str = "*") -> str:
        return percent(row.cells[metric][half]) + (mark if self.is_best(row, metric, half) else "")


def paper_table(compared: dict) -> PaperTable:
    """The table of a comparison dict (see `comparison`), rows named by `model_labels`."""
    entries = compared["models"]
    labels = model_labels([(entry.get("model", ""), entry["file"]) for entry in entries])
    rows = []
    for label, entry in zip(labels, entries):
        by_type = {result["iou_type"]: result for result in entry["results"]}
        box, mask = by_type.get("bbox"), by_type.get("segm")
        rows.append(PaperRow(label, tuple((box[key] if box else None, mask[key] if mask else None)
                                          for key, _ in METRICS)))
    return PaperTable(tuple(rows))


def paper_table_text(table: PaperTable, mark: str = "*") -> str:
    """The table as plain text for a terminal: `box | mask` in percent, the best of each column marked."""
    header = ["model", *(heading for _, heading in METRICS)]
    lines = [[row.label, *(f"{table.marked(row, m, 0, mark):<5} | {table.marked(row, m, 1, mark):<5}"
                           for m in range(len(METRICS)))] for row in table.rows]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) if i == 0 else cell.center(width)
                      for i, (cell, width) in enumerate(zip(cells, widths))).rstrip()
            for cells in [header, *lines]]
    text.append("box | mask, weighted over 22 categories, %" + (f"; {mark} best in its column" if table.has_best else ""))
    return "\n".join(text)
