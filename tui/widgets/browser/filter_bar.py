"""The score threshold and the category filter, applied as the user types; a category name that
matches nothing is pointed out once the user stops typing (or presses Enter)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label

from tui import catalog
from tui.predictions.view import DetectionFilter, parse_categories, unknown_categories
from tui.widgets.text_input import TextInput

THRESHOLD_STEP = 0.05
UNKNOWN_CATEGORY_PAUSE = 1.2
"""Seconds of no typing in the category field before a name that matches nothing is pointed out."""


class ThresholdInput(Input):
    """A number field that up/down step like a slider. It takes digits and a point only, and says so
    when it drops a letter (Textual's number field drops it silently)."""

    BINDINGS = [
        Binding("up", "step(1)", "Score +", show=False),
        Binding("down", "step(-1)", "Score -", show=False),
    ]
    DROPPED = "The score takes a number from 0 to 1 (like 0.35): letters are not typed here. escape leaves the field."

    def on_key(self, event) -> None:
        if event.is_printable and event.character and not (event.character.isdigit() or event.character in ".-+eE"):
            self.notify(self.DROPPED, severity="warning", title="Score")

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
        self._pause: Timer | None = None
        self._pointed_out: list[str] = []
        """The unknown terms of the last notification: the same ones are not pointed out twice."""

    def compose(self) -> ComposeResult:
        yield Label("score ≥")
        yield ThresholdInput(f"{self._initial:.2f}", type="number", id="threshold")
        yield Label("categories")
        yield TextInput(placeholder="all (or e.g. sleeve, pants, 23)", id="categories")

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
        if event.input is self.categories_input:
            if self._pause is not None:
                self._pause.stop()
            self._pause = self.set_timer(UNKNOWN_CATEGORY_PAUSE, self.point_out_unknown_categories)

    @on(Input.Submitted, "#categories")
    def point_out_unknown_categories(self) -> None:
        """One warning naming each term that matches no category, with the closest names."""
        unknown = unknown_categories(self.categories_input.value)
        terms = [term for term, _ in unknown]
        if unknown and terms != self._pointed_out:
            self.notify("; ".join(map(_no_such_category, unknown)), severity="warning", title="Categories",
                        markup=False)
        self._pointed_out = terms


def _no_such_category(unknown: tuple[str, list[str]]) -> str:
    term, closest = unknown
    if term.isdigit():
        return f"no category has id {term} (ids go from 0 to {len(catalog.CATEGORIES) - 1})"
    return f"no category is called '{term}'" + (f"; closest: {', '.join(closest)}" if closest else "")
