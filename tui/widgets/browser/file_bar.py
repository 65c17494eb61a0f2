"""Which prediction files to open: one, or two to compare on the same images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Input

from tui.widgets.text_input import TextInput


class FileBar(Horizontal):
    DEFAULT_CSS = """
    FileBar {
        height: auto;
    }
    FileBar Input {
        width: 1fr;
    }
    """

    @dataclass
    class FilesChosen(Message):
        files: list[Path]

    def compose(self) -> ComposeResult:
        yield TextInput(placeholder="prediction file (.npz / .npy)", id="file-a")
        yield TextInput(placeholder="second file, to compare (optional)", id="file-b")
        yield Button("Open", id="open-files", variant="primary")

    @property
    def first(self) -> Input:
        return self.query_one("#file-a", Input)

    @property
    def second(self) -> Input:
        return self.query_one("#file-b", Input)

    def show_files(self, files: list[Path]) -> None:
        self.first.value = str(files[0]) if files else ""
        self.second.value = str(files[1]) if len(files) > 1 else ""

    @on(Input.Submitted)
    @on(Button.Pressed, "#open-files")
    def choose(self) -> None:
        files = [Path(i.value.strip()).expanduser() for i in (self.first, self.second) if i.value.strip()]
        if files:
            self.post_message(self.FilesChosen(files))
        else:
            self.first.focus()
