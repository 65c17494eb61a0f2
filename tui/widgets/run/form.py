"""What to run: the model, the image folder, the output folder, an optional model file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Select

from tui import catalog
from tui.setup.readiness import Readiness
from tui.text import visible
from tui.widgets.run.path_field import PathField


def model_prompt(state: Readiness) -> Text:
    """`facere  ready`, or `amrcnn-spine  missing checkpoint, environment, source tree`: each missing
    item by its kind; the Run screen's failure message and the home screen give the details."""
    if state.ready:
        return Text.assemble(state.model, ("  ready", "green"))
    kinds = ", ".join(item.split(" (")[0].split(" '")[0] for item in state.missing)
    return Text.assemble(state.model, (visible(f"  missing {kinds}"), "yellow"))


class RunForm(Vertical):
    DEFAULT_CSS = """
    RunForm {
        height: auto;
    }
    RunForm .form-row {
        height: auto;
    }
    RunForm .field-label {
        width: 12;
        padding: 1 1 0 0;
    }
    RunForm Select {
        width: 1fr;
    }
    RunForm #run-model SelectCurrent Static#label, RunForm #run-model SelectOverlay {
        text-wrap: nowrap;  /* one line per model, cut where narrow */
        text-overflow: ellipsis;
    }
    RunForm #run-start {
        margin: 0 1 0 12;
    }
    RunForm #run-cancel {
        margin: 0;
    }
    """

    @dataclass
    class Submitted(Message):
        """The user asked to start a run with these choices."""

        model: str
        images: Path | None
        out_dir: Path | None
        model_file: Path | None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label("Model", classes="field-label")
            yield Select([(m.name, m.name) for m in catalog.MODELS], value="facere", allow_blank=False, id="run-model")
        yield PathField("Images", "folder of jpg/png/webp/bmp images", id="run-images")
        yield PathField("Output", "folder for <model>.npz", id="run-out")
        yield PathField("Model file", "optional: a local .onnx instead of the cached checkpoint",
                        pick_files=True, id="run-model-file")
        with Horizontal(classes="form-row"):
            yield Button("Start", id="run-start", variant="success")
            yield Button("Cancel", id="run-cancel", variant="error", disabled=True)

    @property
    def model_select(self) -> Select:
        return self.query_one("#run-model", Select)

    def show_model_states(self, states: list[Readiness]) -> None:
        """Each model's prompt says whether it is ready; the choice stays as it was."""
        chosen = self.model_select.value
        self.model_select.set_options([(model_prompt(state), state.model) for state in states])
        self.model_select.value = chosen

    def field(self, name: str) -> PathField:
        return self.query_one(f"#run-{name}", PathField)

    def set_running(self, running: bool) -> None:
        self.query_one("#run-start", Button).disabled = running
        self.query_one("#run-cancel", Button).disabled = not running

    @on(Button.Pressed, "#run-start")
    @on(Input.Submitted)
    def submit(self) -> None:
        self.post_message(self.Submitted(
            str(self.model_select.value), self.field("images").path, self.field("out").path,
            self.field("model-file").path,
        ))
