"""A path you can type, or pick from a directory tree with the button beside it (the Run and
Evaluate screens' path fields)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Input, Label

from tui.widgets.run.picker import PathPicker
from tui.widgets.text_input import TextInput


class PathField(Horizontal):
    """Tab goes from field to field: the Browse button is clicked or reached with ctrl+o from the field,
    never tabbed onto (letters typed after a Tab once landed on it and switched areas)."""

    BINDINGS = [Binding("ctrl+o", "browse", "Browse…", tooltip="Pick this field's path from a folder tree")]
    DEFAULT_CSS = """
    PathField {
        height: auto;
    }
    PathField Input {
        width: 1fr;
    }
    PathField .browse {
        width: 10;
        min-width: 10;
    }
    """

    @dataclass
    class Picked(Message):
        """A path was chosen in the picker (a typed one is an Input.Submitted)."""

        field: PathField
        path: Path

        @property
        def control(self) -> PathField:
            return self.field

    def __init__(self, label: str, placeholder: str, pick_files: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.label = label
        self.placeholder = placeholder
        self.pick_files = pick_files

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield TextInput(placeholder=self.placeholder, classes="path-input")
        browse = Button("Browse", classes="browse")
        browse.can_focus = False
        yield browse

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def path(self) -> Path | None:
        text = self.input.value.strip()
        return Path(text).expanduser() if text else None

    @path.setter
    def path(self, value: Path | None) -> None:
        self.input.value = str(value) if value else ""

    def action_browse(self) -> None:
        self.browse()

    @on(Button.Pressed, ".browse")
    def browse(self) -> None:
        start = self.path or Path.cwd()
        self.app.push_screen(PathPicker(f"Choose: {self.label}", start, self.pick_files), self._picked)

    def _picked(self, chosen: Path | None) -> None:
        if chosen is not None:
            self.path = chosen
            self.post_message(self.Picked(self, chosen))
