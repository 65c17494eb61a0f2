"""What to compare: the image folder, the output folder, the annotation file and the models (those not
ready shown with what they need, and not choosable)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input
from textual.widgets.selection_list import Selection

from tui.setup.diagnosis import Diagnosis
from tui.text import visible
from tui.widgets.checklist import CheckList
from tui.widgets.run.path_field import PathField


class ModelChoices(CheckList[str]):
    """One checkbox per model; ready ones chosen at first, the others disabled with what they need
    (the Home screen has the command that fixes each)."""

    def show_diagnoses(self, diagnoses: list[Diagnosis]) -> None:
        """Rebuild for fresh diagnoses, keeping what the user chose of the models that are still ready."""
        chosen = set(self.selected) if self.option_count else None
        self.clear_options()
        for diagnosis in diagnoses:
            if diagnosis.ready:
                self.add_option(Selection(diagnosis.model, diagnosis.model,
                                          chosen is None or diagnosis.model in chosen, id=diagnosis.model))
            else:
                needs = ", ".join(re.sub(r" \(.*\)$", "", gap.what) for gap in diagnosis.gaps)
                prompt = Text.assemble(diagnosis.model, "  ", (visible(f"needs {needs}"), "dim"))
                self.add_option(Selection(prompt, diagnosis.model, False, id=diagnosis.model, disabled=True))
        unready = not all(d.ready for d in diagnoses)
        self.border_subtitle = "h: the command that fixes each · s: setup" if unready else ""


class CompareForm(Vertical):
    DEFAULT_CSS = """
    CompareForm {
        height: auto;
    }
    CompareForm .field-label {
        width: 13;
        padding: 1 1 0 0;
    }
    CompareForm .form-row {
        height: auto;
    }
    CompareForm Button {
        margin: 0 1 0 0;
        min-width: 10;
    }
    CompareForm #compare-start {
        margin-left: 13;
    }
    CompareForm ModelChoices {
        height: auto;
        max-height: 10;
        margin-left: 13;
        border: round $panel;
        border-title-color: $text-muted;
        border-subtitle-color: $text-muted;
    }
    """

    @dataclass
    class Submitted(Message):
        """The user asked to start a comparison with these choices."""

        images: Path | None
        out_dir: Path | None
        annotations: Path | None
        """None: run the models only, nothing is evaluated."""
        models: list[str]

    def __init__(self, annotations: Path | None, **kwargs) -> None:
        super().__init__(**kwargs)
        self._annotations = annotations

    def compose(self) -> ComposeResult:
        yield PathField("Images", "folder of jpg/png/webp/bmp images", id="compare-images")
        yield PathField("Output", "folder for each <model>.npz, comparison.json and report.html", id="compare-out")
        yield PathField("Annotations", "COCO file (ff_test.json); empty: run only", pick_files=True,
                        id="compare-anns")
        yield ModelChoices(id="compare-models")
        with Horizontal(classes="form-row"):
            yield Button("Start", id="compare-start", variant="success")
            yield Button("Cancel", id="compare-cancel", variant="error", disabled=True)
            yield Button("Failure cases", id="compare-gallery", disabled=True)

    def on_mount(self) -> None:
        self.field("anns").path = self._annotations
        self.models.border_title = "Models (space toggles)"

    def field(self, name: str) -> PathField:
        return self.query_one(f"#compare-{name}", PathField)

    @property
    def models(self) -> ModelChoices:
        return self.query_one(ModelChoices)

    def set_running(self, running: bool) -> None:
        self.query_one("#compare-start", Button).disabled = running
        self.query_one("#compare-cancel", Button).disabled = not running

    def set_gallery_ready(self, ready: bool) -> None:
        self.query_one("#compare-gallery", Button).disabled = not ready

    @on(Button.Pressed, "#compare-start")
    @on(Input.Submitted)
    def submit(self) -> None:
        self.post_message(self.Submitted(self.field("images").path, self.field("out").path,
                                         self.field("anns").path, list(self.models.selected)))
