"""Evaluations arranged the way the paper prints them: one row per model, each cell `box | mask`."""

from __future__ import annotations

from collections.abc import Iterable
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


def file_label(file: str, all_files: Iterable[str]) -> str:
    """The file's name, or its whole path when another file has the same name."""
    name = Path(file).name
    return file if sum(Path(f).name == name for f in all_files) > 1 else name


def box_mask_rows(evaluations: Iterable[Evaluation]) -> list[tuple[str, str, list[Cell]]]:
    """(model, file label, [(box, mask) for each of the paper's metrics]); None where that IoU type was not run."""
    grouped = by_file(evaluations)
    rows = []
    for file, by_type in grouped.items():
        box, mask = by_type.get("bbox"), by_type.get("segm")
        cells = [(box.metric(key) if box else None, mask.metric(key) if mask else None) for key, _ in METRICS]
        rows.append(((box or mask).model, file_label(file, grouped), cells))
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
