"""The figures of report.html as inline SVG (no script, no fonts fetched): weighted PR curves at IoU .50
and .75, a reliability diagram, and per model a histogram of its scores, true against false positives.

Drawn like a paper's figures: axes with ticks and labels, light grid, one colour per model (boxes
solid, masks dashed), a legend with each line's number.
"""

from __future__ import annotations

from collections.abc import Sequence

from tui.evaluation.figures import Series
from tui.text import html as _e

WIDTH, HEIGHT = 360, 320
LEFT, RIGHT, TOP, BOTTOM = 52, 14, 30, 44
FALSE_POSITIVE_COLOUR = "#c9c9c9"
TICKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


class _Axes:
    """A plot area mapping data (x 0..1, y 0..y_max) to SVG pixels, and its frame, grid and labels."""

    def __init__(self, title: str, x_label: str, y_label: str, y_max: float = 1.0, width: int = WIDTH,
                 height: int = HEIGHT):
        self.title, self.x_label, self.y_label, self.y_max = title, x_label, y_label, y_max
        self.width, self.height = width, height
        """The figure's size; the height grows when a legend is put below the plot."""
        self.base_height = height
        self.plot_w, self.plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
        self.parts: list[str] = []

    def x(self, value: float) -> float:
        return LEFT + max(0.0, min(1.0, value)) * self.plot_w

    def y(self, value: float) -> float:
        return TOP + self.plot_h * (1 - max(0.0, min(self.y_max, value)) / self.y_max)

    def frame(self, y_ticks: Sequence[float]) -> str:
        bottom, right = TOP + self.plot_h, LEFT + self.plot_w
        out = [f'<rect x="{LEFT}" y="{TOP}" width="{self.plot_w}" height="{self.plot_h}" fill="#fff"/>']
        for tick in TICKS:
            x = self.x(tick)
            out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}" stroke="#e6e6e6"/>'
                       f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#333"/>'
                       f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{tick:g}</text>')
        for tick in y_ticks:
            y = self.y(tick)
            out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e6e6e6"/>'
                       f'<line x1="{LEFT - 4}" y1="{y:.1f}" x2="{LEFT}" y2="{y:.1f}" stroke="#333"/>'
                       f'<text x="{LEFT - 7}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
        out.append(f'<path d="M{LEFT},{TOP} V{bottom} H{right}" fill="none" stroke="#333"/>')
        out.append(f'<text x="{LEFT + self.plot_w / 2:.1f}" y="{self.base_height - 8}" text-anchor="middle" '
                   f'class="axis-label">{_e(self.x_label)}</text>')
        out.append(f'<text transform="translate(14,{TOP + self.plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
                   f'class="axis-label">{_e(self.y_label)}</text>')
        out.append(f'<text x="{LEFT + self.plot_w / 2:.1f}" y="{TOP - 10}" text-anchor="middle" '
                   f'class="title">{_e(self.title)}</text>')
        return "".join(out)

    def svg(self, body: str, y_ticks: Sequence[float] = TICKS, label: str = "") -> str:
        return (f'<svg class="figure" role="img" aria-label="{_e(label or self.title)}" '
                f'width="{self.width}" height="{self.height}" viewBox="0 0 {self.width} {self.height}" '
                f'font-family="system-ui, sans-serif" font-size="11">{self.frame(y_ticks)}{body}</svg>')


def _dash(series: Series) -> str:
    return ' stroke-dasharray="5 3"' if series.iou_type == "segm" else ""


LEGEND_LINE = 15


def _legend(axes: _Axes, rows: list[tuple[Series, str]]) -> str:
    """Line samples with their text, one per row, below the plot (the figure grows to hold them)."""
    top = axes.height - 4
    axes.height += LEGEND_LINE * len(rows)
    out = []
    for i, (series, text) in enumerate(rows):
        y = top + LEGEND_LINE * i + LEGEND_LINE / 2
        out.append(f'<line x1="{LEFT:.1f}" y1="{y:.1f}" x2="{LEFT + 22:.1f}" y2="{y:.1f}" stroke="{series.colour}" '
                   f'stroke-width="2"{_dash(series)}/><text x="{LEFT + 28:.1f}" y="{y + 4:.1f}">{_e(text)}</text>')
    return "".join(out)


def pr_curves_svg(series: Sequence[Series], key: str, threshold: str) -> str:
    """Weighted precision against recall at one IoU (`key` iou50 or iou75), one line per series."""
    axes = _Axes(f"Weighted precision-recall, IoU {threshold}", "recall", "weighted precision")
    lines = []
    for s in series:
        points = " ".join(f"{axes.x(r):.1f},{axes.y(p):.1f}" for r, p in zip(s.pr_curve["recall"], s.pr_curve[key]))
        lines.append(f'<polyline points="{points}" fill="none" stroke="{s.colour}" stroke-width="2"{_dash(s)}'
                     ' stroke-linejoin="round"/>')
    name = "mAP_w@" + threshold
    legend = _legend(axes, [(s, f"{s.name}: {name} {s.average_precision(key) * 100:.1f}") for s in series])
    return axes.svg("".join(lines) + legend, label=f"PR curves at IoU {threshold}")


def reliability_svg(series: Sequence[Series]) -> str:
    """Share of true positives against mean score, per score bin; the diagonal is perfect calibration."""
    axes = _Axes("Reliability, IoU .50", "mean score in the bin", "share of true positives")
    body = [f'<line x1="{axes.x(0):.1f}" y1="{axes.y(0):.1f}" x2="{axes.x(1):.1f}" y2="{axes.y(1):.1f}" '
            'stroke="#888" stroke-dasharray="3 3"/>']
    for s in series:
        points = s.reliability()
        if not points:
            continue
        path = " ".join(f"{axes.x(score):.1f},{axes.y(share):.1f}" for score, share, _ in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{s.colour}" stroke-width="2"{_dash(s)}/>')
        body += [f'<circle cx="{axes.x(score):.1f}" cy="{axes.y(share):.1f}" r="3" fill="{s.colour}">'
                 f"<title>{_e(s.name)}: {count} detections, mean score {score:.2f}, {share:.0%} true</title></circle>"
                 for score, share, count in points]
    rows = [(s, f"{s.name}: ECE {s.calibration['ece'] * 100:.1f}" if s.calibration["ece"] is not None
             else f"{s.name}: no detections") for s in series]
    return axes.svg("".join(body) + _legend(axes, rows), label="Reliability diagram")


def _nice_max(count: int) -> tuple[float, list[float]]:
    """An axis top at or above `count` and its ticks: at most 5 steps of 1, 2 or 5 times a power of ten."""
    if count <= 0:
        return 1.0, [0.0, 1.0]
    step, scale = 1, 1
    while count / step > 5:
        for factor in (2, 5, 10):
            step = factor * scale
            if count / step <= 5:
                break
        scale *= 10
    top = -(-count // step) * step
    return float(top), [float(t) for t in range(0, top + 1, step)]


def histogram_svg(series: Series, width: int = 300, height: int = 240) -> str:
    """One model's detections per score bin: true positives (its colour) stacked under false positives (grey)."""
    bins = series.histogram()
    top, ticks = _nice_max(max((tp + fp for _, _, tp, fp in bins), default=0))
    axes = _Axes(series.name, "score", "detections", y_max=top, width=width, height=height)
    bars = []
    for low, high, tp, fp in bins:
        x, w = axes.x(low) + 1, axes.x(high) - axes.x(low) - 2
        for bottom, count, colour, kind in ((0, tp, series.colour, "true positives"),
                                            (tp, fp, FALSE_POSITIVE_COLOUR, "false positives")):
            if count:
                y0, y1 = axes.y(bottom + count), axes.y(bottom)
                bars.append(f'<rect x="{x:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{y1 - y0:.1f}" fill="{colour}">'
                            f"<title>{low:g}-{high:g}: {count} {kind}</title></rect>")
    legend_y = axes.height
    axes.height += 18
    legend = (f'<rect x="{LEFT}" y="{legend_y}" width="10" height="10" fill="{series.colour}"/>'
              f'<text x="{LEFT + 14}" y="{legend_y + 9}">true positives</text>'
              f'<rect x="{LEFT + 110}" y="{legend_y}" width="10" height="10" fill="{FALSE_POSITIVE_COLOUR}"/>'
              f'<text x="{LEFT + 124}" y="{legend_y + 9}">false positives</text>')
    return axes.svg("".join(bars) + legend, y_ticks=ticks, label=f"Score histogram of {series.name}")


def figures_html(series: Sequence[Series]) -> str:
    """The figures section's body: PR curves and the reliability diagram side by side, then the histograms."""
    if not series:
        return '<p class="note">No curves: these evaluations were made by an older version; evaluate again.</p>'
    boxes = [s for s in series if s.iou_type == "bbox"]
    shown, which = (boxes, " (boxes)") if boxes and len(boxes) < len(series) else (list(series), "")
    return ('<div class="figures">' + pr_curves_svg(series, "iou50", ".50") + pr_curves_svg(series, "iou75", ".75")
            + reliability_svg(series) + "</div>"
            + '<p class="note">Weighted over the 22 categories with the paper\'s weights; each curve\'s mean (in the '
            "legend) is its mAP_w@.50 or @.75. Boxes solid, masks dashed. Reliability: the detections COCOeval2 "
            "counts as true or false positives at IoU .50 (area all, 100 per image), in 10 score bins; ECE in %.</p>"
            + f"<h3>Scores of true and false positives{which}</h3>"
            + '<div class="figures">' + "".join(histogram_svg(s) for s in shown) + "</div>")
