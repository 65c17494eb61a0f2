"""Evaluations arranged the way the paper prints them: one row per model, each cell `box | mask`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tui.evaluation.results import METRICS, Evaluation

Cell = tuple[float | None, float | None]


def by_file(evaluations: Iterable[Evaluation]) -> dict[str, dict[str, Evaluation]]:
    """file -> IoU type -> evaluation, files in the order first seen."""
    grouped: dict[str, dict[str, Evaluation]] = {}
    for evaluation in evaluations:
        grouped.setdefault(evaluation.file, {})[evaluation.iou_type] = evaluation
    return grouped


def row_label(evaluation: Evaluation, all_files: Iterable[str]) -> str:
    """`model  file name`, the whole path when another file has the same name."""
    name = Path(evaluation.file).name
    if sum(Path(f).name == name for f in all_files) > 1:
        name = evaluation.file
    return f"{evaluation.model}  {name}" if evaluation.model else name


def box_mask_rows(evaluations: Iterable[Evaluation]) -> list[tuple[str, list[Cell]]]:
    """(label, [(box, mask) for each of the paper's metrics]); None where that IoU type was not run."""
    grouped = by_file(evaluations)
    rows = []
    for file, by_type in grouped.items():
        box, mask = by_type.get("bbox"), by_type.get("segm")
        cells = [(box.metric(key) if box else None, mask.metric(key) if mask else None) for key, _ in METRICS]
        rows.append((row_label(box or mask, grouped), cells))
    return rows
