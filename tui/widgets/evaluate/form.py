"""Which prediction files to evaluate, against which annotation file, for boxes, masks or both."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, OptionList, Select
from textual.widgets.option_list import Option

from tui.evaluation import IOU_TYPES
from tui.predictions.formats import FAMILY_CHOICES
from tui.text import rich_text
from tui.widgets.run.path_field import PathField

PREDICTION_SUFFIXES = (".npz", ".npy")
_IOU_CHOICES = (("box and mask", "both"), ("box only", "bbox"), ("mask only", "segm"))
_DETECT = "detect"
_FAMILY_OPTIONS = (("read as: detected", _DETECT), *((f"read as: {name}", name) for name in FAMILY_CHOICES))


def prediction_files_in(path: Path) -> list[Path]:
    """The path itself, or the prediction files directly inside a folder."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in PREDICTION_SUFFIXES and p.is_file())
    return [path]


class ChosenFiles(OptionList):
    """The prediction files picked so far; delete removes the highlighted one."""

    BINDINGS = [Binding("delete,backspace", "remove_highlighted", "Remove file")]

    @property
    def paths(self) -> list[Path]:
        return [Path(self.get_option_at_index(i).id) for i in range(self.option_count)]

    def add_path(self, path: Path) -> bool:
        if str(path) in {str(p) for p in self.paths}:
            return False
        self.add_option(Option(rich_text(path), id=str(path)))
        return True

    def action_remove_highlighted(self) -> None:
        if self.highlighted is not None:
            self.remove_option_at_index(self.highlighted)


class EvaluationForm(Vertical):
    DEFAULT_CSS = """
    EvaluationForm {
        height: auto;
        padding: 0 1;
    }
    EvaluationForm .row {
        height: auto;
    }
    EvaluationForm .field-label {
        width: 13;
        padding: 1 1 0 0;
        color: $text-muted;
    }
    EvaluationForm Input.-error {
        border: tall $error;
    }
    EvaluationForm #iou-select {
        width: 20;
    }
    EvaluationForm #family-select {
        width: 28;
    }
    EvaluationForm ChosenFiles {
        height: auto;
        max-height: 6;
        margin-left: 13;
    }
    """

    @dataclass
    class Submitted(Message):
        files: list[Path]
        annotations: Path
        iou_types: tuple[str, ...]
        family: str | None
        """A family or model name to read the files as; None to detect it from each file."""

    def __init__(self, annotations: Path | None, **kwargs):
        super().__init__(**kwargs)
        self._annotations = annotations

    def compose(self) -> ComposeResult:
        yield PathField("predictions", "a prediction file or a folder of them; Enter adds it", pick_files=True,
                        id="predictions-field")
        yield ChosenFiles(id="chosen-files")
        with Horizontal(classes="row", id="annotations-row"):
            yield PathField("annotations", "COCO annotation file (ff_test.json)", pick_files=True,
                            id="annotations-field")
            yield Select(_FAMILY_OPTIONS, value=_DETECT, allow_blank=False, id="family-select")
            yield Select(_IOU_CHOICES, value="both", allow_blank=False, id="iou-select")
            yield Button("Evaluate", variant="primary", id="evaluate-button")

    def on_mount(self) -> None:
        self.query_one("#annotations-field", PathField).path = self._annotations

    @property
    def file_input(self) -> Input:
        return self.query_one("#predictions-field", PathField).input

    @property
    def chosen_files(self) -> ChosenFiles:
        return self.query_one(ChosenFiles)

    @property
    def annotations_input(self) -> Input:
        return self.query_one("#annotations-field", PathField).input

    @property
    def iou_select(self) -> Select:
        return self.query_one("#iou-select", Select)

    @property
    def family_select(self) -> Select:
        return self.query_one("#family-select", Select)

    def add_files(self, path: Path) -> None:
        """Add a file or a folder's prediction files; an error class and a notification when there are none."""
        path = path.expanduser()
        found = [p for p in prediction_files_in(path) if p.is_file()]
        self.file_input.set_class(not found, "-error")
        if not found:
            what = "has no .npz or .npy files" if path.is_dir() else "does not exist"
            self.notify(f"{path} {what}", severity="error")
            return
        for file in found:
            self.chosen_files.add_path(file)
        self.file_input.value = ""

    @on(Input.Submitted, "#predictions-field Input")
    def _file_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.add_files(Path(event.value.strip()))

    @on(PathField.Picked, "#predictions-field")
    def _file_picked(self, event: PathField.Picked) -> None:
        self.add_files(event.path)

    @on(Input.Submitted, "#annotations-field Input")
    @on(Button.Pressed, "#evaluate-button")
    def submit(self) -> None:
        files = self.chosen_files.paths
        if not files and self.file_input.value.strip():
            self.add_files(Path(self.file_input.value.strip()))
            files = self.chosen_files.paths
        annotations = Path(self.annotations_input.value.strip()).expanduser()
        self.annotations_input.set_class(not annotations.is_file(), "-error")
        if not files:
            self.notify("add at least one prediction file first", severity="error")
        elif not annotations.is_file():
            self.notify(f"annotation file {annotations} does not exist", severity="error")
        else:
            choice, family = self.iou_select.value, self.family_select.value
            self.post_message(self.Submitted(files, annotations, IOU_TYPES if choice == "both" else (choice,),
                                             None if family == _DETECT else family))
