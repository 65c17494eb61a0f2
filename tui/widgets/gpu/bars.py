"""Small display widgets for one GPU figure: a load bar and a history line, both on a 0-100 scale."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.gpu import format as fmt

LEVEL_CLASSES = tuple(f"-{level}" for _, level in fmt.LOAD_LEVELS)


class LoadBar(Widget):
    """`label ██████░░░░ detail`, coloured by load level (-low/-medium/-high), "n/a" when absent."""

    DEFAULT_CSS = """
    LoadBar {
        height: 1;
    }
    LoadBar.-low {
        color: $success;
    }
    LoadBar.-medium {
        color: $warning;
    }
    LoadBar.-high {
        color: $error;
    }
    LoadBar.-absent {
        color: $text-muted;
        text-style: dim;
    }
    """

    percent: reactive[float | None] = reactive(None)
    detail: reactive[str] = reactive("")

    def __init__(self, label: str, **kwargs):
        super().__init__(**kwargs)
        self.label = label

    def watch_percent(self, percent: float | None) -> None:
        level = fmt.load_level(percent)
        for name in LEVEL_CLASSES:
            self.set_class(name == f"-{level}", name)
        self.set_class(percent is None, "-absent")

    def render(self) -> Text:
        head = f"{self.label:<5}"
        if self.percent is None:
            return Text(f"{head}{fmt.ABSENT}")
        tail = f" {self.detail or fmt.number(self.percent, '%')}"
        width = max(self.size.width - len(head) - len(tail), 1)
        filled = round(width * min(max(self.percent, 0.0), 100.0) / 100)
        return Text.assemble(head, "█" * filled, ("░" * (width - filled), "dim"), tail)


class PercentSparkline(Widget):
    """Recent percentages as bars, newest on the right. Unlike Textual's Sparkline, which scales to the
    data's own min and max (95-98 % would look like 0-100 %), the scale here is always 0-100."""

    DEFAULT_CSS = """
    PercentSparkline {
        height: 1;
        color: $primary;
        margin: 0 0 0 5;
    }
    """

    BARS = " ▁▂▃▄▅▆▇█"
    values: reactive[tuple[float, ...]] = reactive(())

    def render(self) -> Text:
        width = self.size.width
        values = self.values
        if len(values) > width > 0:  # one column per bucket, showing the bucket's peak
            values = tuple(max(values[i * len(values) // width:(i + 1) * len(values) // width]) for i in range(width))
        bars = "".join(self.BARS[round(min(max(v, 0.0), 100.0) / 100 * (len(self.BARS) - 1))] for v in values)
        return Text(bars.rjust(width))


def percents(values: Sequence[float | None]) -> tuple[float, ...]:
    """History values fit for a sparkline: absent samples are left out, not drawn as 0."""
    return tuple(v for v in values if v is not None)
