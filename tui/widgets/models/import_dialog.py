"""Asks for a hand-downloaded checkpoint: type a path or pick the file in a directory tree."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label

from tui.widgets.text_input import TextInput


class ImportDialog(ModalScreen[Path | None]):
    DEFAULT_CSS = """
    ImportDialog {
        align: center middle;
    }
    ImportDialog #import-box {
        width: 90%;
        height: 80%;
        padding: 1 2;
        border: thick $primary;
        background: $surface;
    }
    ImportDialog #import-tree {
        height: 1fr;
        margin: 1 0;
    }
    ImportDialog #import-path.-error {
        border: tall $error;
    }
    ImportDialog #import-buttons {
        height: auto;
        align-horizontal: right;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, model: str, filename: str, start: Path | None = None):
        super().__init__()
        self.model, self.filename = model, filename
        self.start = start or Path.home()

    def compose(self) -> ComposeResult:
        with Vertical(id="import-box"):
            yield Label(f"Import {self.filename} for {self.model}: type its path or pick it below.")
            yield TextInput(placeholder=f"~/Downloads/{self.filename}", id="import-path")
            yield DirectoryTree(self.start, id="import-tree")
            with Horizontal(id="import-buttons"):
                yield Button("Import", variant="primary", id="import-ok")
                yield Button("Cancel", id="import-cancel")

    @property
    def path_input(self) -> Input:
        return self.query_one("#import-path", Input)

    @on(DirectoryTree.FileSelected)
    def fill_in(self, event: DirectoryTree.FileSelected) -> None:
        self.path_input.value = str(event.path)

    @on(Input.Submitted)
    @on(Button.Pressed, "#import-ok")
    def accept(self) -> None:
        value = self.path_input.value.strip()
        if not value:
            self.path_input.add_class("-error")
            self.notify("type or pick the file to import", severity="warning")
            return
        self.dismiss(Path(value).expanduser())

    @on(Button.Pressed, "#import-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
