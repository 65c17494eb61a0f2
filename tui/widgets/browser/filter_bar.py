"""The score threshold and the category filter, applied as the user types."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

from tui.predictions.view import DetectionFilter, parse_categories

THRESHOLD_STEP = 0.05


class ThresholdInput(Input):
    """A number field that up/down step like a slider."""

    BINDINGS = [
        Binding("up", "step(1)", "Score +", show=False),
        Binding("down", "step(-1)", "Score -", show=False),
    ]

    def action_step(self, steps: int) -> None:
        self.post_message(FilterBar.StepRequested(steps))


class FilterBar(Horizontal):
    DEFAULT_CSS = """
    FilterBar {
        height: auto;
    }
    FilterBar Label {
        padding: 1 1 0 1;
    }
    FilterBar #threshold {
        width: 12;
    }
    FilterBar #threshold.-invalid {
        border: tall $error;
    }
    FilterBar #categories {
        width: 1fr;
    }
    """

    @dataclass
    class FiltersChanged(Message):
        detection_filter: DetectionFilter

    @dataclass
    class StepRequested(Message):
        steps: int

    def __init__(self, threshold: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self._initial = threshold

    def compose(self) -> ComposeResult:
        yield Label("score ≥")
        yield ThresholdInput(f"{self._initial:.2f}", type="number", id="threshold")
        yield Label("categories")
        yield Input(placeholder="all (or e.g. sleeve, pants, 23)", id="categories")

    @property
    def threshold_input(self) -> Input:
        return self.query_one("#threshold", Input)

    @property
    def categories_input(self) -> Input:
        return self.query_one("#categories", Input)

    @property
    def current(self) -> DetectionFilter | None:
        """The filter as typed; None while the threshold is not a number in 0..1."""
        try:
            threshold = float(self.threshold_input.value)
        except ValueError:
            return None
        if not 0.0 <= threshold <= 1.0:
            return None
        return DetectionFilter(threshold, parse_categories(self.categories_input.value))

    def step_threshold(self, steps: int) -> None:
        current = self.current
        value = current.threshold if current else self._initial
        self.threshold_input.value = f"{min(1.0, max(0.0, round(value + steps * THRESHOLD_STEP, 2))):.2f}"

    @on(StepRequested)
    def step_requested(self, event: StepRequested) -> None:
        event.stop()
        self.step_threshold(event.steps)

    @on(Input.Changed)
    def changed(self, event: Input.Changed) -> None:
        event.stop()
        current = self.current
        self.threshold_input.set_class(current is None, "-invalid")
        if current is not None:
            self.post_message(self.FiltersChanged(current))
