"""What the figures of a comparison draw, for report.html's SVG and the app's terminal plots alike: one
colour per model (the same in both), and per model and IoU type its PR curves and calibration bins.

No drawing here: tui.evaluation.figures_svg draws SVG, tui.widgets.figures draws in the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.evaluation.report import model_labels

MODEL_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                 "#9c755f", "#bab0ac")
"""Tableau 10, a palette made for telling series apart (and kind to colour-blind readers): model i gets colour i."""
IOU_HALVES = {"bbox": "box", "segm": "mask"}


def model_colour(index: int) -> str:
    return MODEL_COLOURS[index % len(MODEL_COLOURS)]


def rgb(colour: str) -> tuple[int, int, int]:
    """'#4e79a7' as (78, 121, 167)."""
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


@dataclass(frozen=True)
class Series:
    """One model's figures for one IoU type."""

    label: str
    colour: str
    iou_type: str
    pr_curve: dict
    """{recall, iou50, iou75}: 101 values each."""
    calibration: dict
    """{bins: [{low, high, detections, true_positives, mean_score}], ece}."""

    @property
    def name(self) -> str:
        """`facere (box)`."""
        return f"{self.label} ({IOU_HALVES.get(self.iou_type, self.iou_type)})"

    def average_precision(self, key: str) -> float:
        """The curve's mean: mAP_w@.50 (key iou50) or @.75 (iou75)."""
        values = self.pr_curve[key]
        return sum(values) / len(values)

    def reliability(self) -> list[tuple[float, float, int]]:
        """(mean score, share of true positives, detections) of each bin that has detections."""
        return [(b["mean_score"], b["true_positives"] / b["detections"], b["detections"])
                for b in self.calibration["bins"] if b["detections"]]

    def histogram(self) -> list[tuple[float, float, int, int]]:
        """(low, high, true positives, false positives) of every bin."""
        return [(b["low"], b["high"], b["true_positives"], b["detections"] - b["true_positives"])
                for b in self.calibration["bins"]]


def figure_series(compared: dict, iou_types: tuple[str, ...] = ("bbox", "segm")) -> list[Series]:
    """The series of a comparison dict (tui.evaluation.report.comparison), model by model, each model's
    colour by its place in the comparison; results without curves (an old cache) are left out."""
    entries = compared["models"]
    labels = model_labels([(e.get("model", ""), e["file"]) for e in entries])
    series = []
    for index, (label, entry) in enumerate(zip(labels, entries)):
        by_type = {r.get("iou_type"): r for r in entry["results"]}
        for iou_type in iou_types:
            result = by_type.get(iou_type)
            if result and result.get("pr_curve") and result.get("calibration"):
                series.append(Series(label, model_colour(index), iou_type, result["pr_curve"], result["calibration"]))
    return series


def one_per_model(series: list[Series]) -> list[Series]:
    """Each model's box series (its mask series when it has no boxes), for a figure with one line per model."""
    chosen: dict[str, Series] = {}
    for s in series:
        if s.label not in chosen or (s.iou_type == "bbox" and chosen[s.label].iou_type != "bbox"):
            chosen[s.label] = s
    return list(chosen.values())
