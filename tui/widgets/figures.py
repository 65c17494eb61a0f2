"""The figures of report.html in the terminal (Evaluate and Compare screens): weighted PR curves at IoU
.50 and .75 and the reliability diagram, one line per model in its report colour.

Drawn with textual-plotext (Plotext in a Textual widget: axes, ticks, labels and a legend in braille
dots, better than hand-drawn block characters); the numbers come from tui.evaluation.figures.
"""

from __future__ import annotations

from textual.app import ComposeResult
from rich.text import Text
from textual.containers import Horizontal, Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from tui.evaluation.figures import Series, one_per_model, rgb
from tui.text import visible


class FigurePlot(PlotextPlot):
    DEFAULT_CSS = "FigurePlot { width: 1fr; min-width: 24; height: 100%; }"

    series: list[Series] = []

    def show(self, series: list[Series]) -> None:
        self.series = series
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self.draw(plt)
        self.refresh()

    def draw(self, plt) -> None:
        raise NotImplementedError

    @staticmethod
    def axes(plt, title: str, x_label: str, y_label: str) -> None:
        plt.title(title)
        plt.xlabel(x_label)
        plt.ylabel(y_label)
        plt.xlim(0, 1)
        plt.ylim(0, 1)
        plt.xticks([0, 0.25, 0.5, 0.75, 1])
        plt.yticks([0, 0.25, 0.5, 0.75, 1])


class CurvesFigure(FigurePlot):
    """Weighted precision against recall at one IoU."""

    def __init__(self, key: str, threshold: str, **kwargs):
        super().__init__(**kwargs)
        self.key, self.threshold = key, threshold

    def draw(self, plt) -> None:
        self.axes(plt, f"Weighted PR, IoU {self.threshold}", "recall", "precision")
        for s in self.series:
            precision = [max(0.0, p) for p in s.pr_curve[self.key]]
            plt.plot(s.pr_curve["recall"], precision, color=rgb(s.colour), marker="braille")


class ReliabilityFigure(FigurePlot):
    """Share of true positives against mean score per score bin; the diagonal is perfect calibration."""

    def draw(self, plt) -> None:
        self.axes(plt, "Reliability, IoU .50", "mean score", "share TP")
        plt.plot([0, 1], [0, 1], color="gray", marker="braille")
        for s in self.series:
            points = s.reliability()
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points], color=rgb(s.colour), marker="braille")


class Figures(Vertical):
    """The three figures, and a legend below them (Plotext drops its own legend in a narrow plot)."""

    DEFAULT_CSS = """
    Figures { height: auto; } Figures.hidden { display: none; }
    Figures > Horizontal { height: 18; } Figures > #figure-legend { height: auto; padding: 0 1; }
    Figures.-stacked > Horizontal { layout: vertical; height: auto; }
    Figures.-stacked FigurePlot { width: 100%; height: 16; }
    """
    SIDE_BY_SIDE = 84
    """The narrowest width (columns) for the three figures side by side; narrower, one under the other."""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield CurvesFigure("iou50", ".50", id="figure-pr50")
            yield CurvesFigure("iou75", ".75", id="figure-pr75")
            yield ReliabilityFigure(id="figure-reliability")
        yield Static("", id="figure-legend")

    def on_resize(self) -> None:
        self.set_class(self.size.width < self.SIDE_BY_SIDE, "-stacked")

    def show(self, series: list[Series]) -> None:
        """Draw these series (one per model, see one_per_model); hidden when there are none."""
        shown = one_per_model(series)
        self.set_class(not shown, "hidden")
        for figure in self.query(FigurePlot):
            figure.show(shown)
        self.query_one("#figure-legend", Static).update(legend(shown))


def legend(series: list[Series]) -> Text:
    """One line per model in its colour: its mAP_w@.50 and @.75 (the curves' means) and its ECE."""
    text = Text()
    for s in series:
        ece = s.calibration["ece"]
        text.append("━━ ", style=s.colour)
        text.append(visible(s.name) + f"  mAP_w@.50 {s.average_precision('iou50') * 100:.1f} · "
                    f"@.75 {s.average_precision('iou75') * 100:.1f} · "
                    + (f"ECE {ece * 100:.1f}" if ece is not None else "no detections") + "\n")
    text.append("weighted over 22 categories, %; reliability: share of true positives per score bin, "
                "diagonal = calibrated", style="dim")
    return text
