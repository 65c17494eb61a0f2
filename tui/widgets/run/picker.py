"""A modal that picks a folder (or a file) from a directory tree, or takes a typed path."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label

from tui.text import rich_text
from tui.widgets.text_input import TextInput


class FolderTree(DirectoryTree):
    """A DirectoryTree that can hide files and hidden entries."""

    def __init__(self, path: Path, folders_only: bool, **kwargs) -> None:
        super().__init__(path, **kwargs)
        self.folders_only = folders_only

    def process_label(self, label):
        """A file name is text: its brackets are not markup, its control characters show as escapes."""
        return super().process_label(rich_text(label) if isinstance(label, str) else label)

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".") and (not self.folders_only or p.is_dir())]


class PathPicker(ModalScreen[Path | None]):
    """Dismisses with the chosen path, or None when cancelled."""

    DEFAULT_CSS = """
    PathPicker {
        align: center middle;
    }
    PathPicker #picker {
        width: 80%;
        height: 80%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    PathPicker #picker-tree {
        height: 1fr;
    }
    PathPicker #picker-buttons {
        height: auto;
        align-horizontal: right;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+u", "parent", "Parent folder"),
    ]

    def __init__(self, title: str, start: Path, pick_files: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.pick_files = pick_files
        self.start = start if start.is_dir() else start.parent if start.parent.is_dir() else Path.home()

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Label(self.title_text, id="picker-title")
            yield FolderTree(self.start, folders_only=not self.pick_files, id="picker-tree")
            yield TextInput(str(self.start), placeholder="type a path", id="picker-path")
            with Horizontal(id="picker-buttons"):
                yield Button("Parent folder", id="picker-parent")
                yield Button("Cancel", id="picker-cancel")
                yield Button("Choose", id="picker-choose", variant="primary")

    @property
    def tree(self) -> FolderTree:
        return self.query_one("#picker-tree", FolderTree)

    @property
    def path_input(self) -> Input:
        return self.query_one("#picker-path", Input)

    def on_mount(self) -> None:
        self.tree.focus()

    @on(DirectoryTree.DirectorySelected)
    @on(DirectoryTree.FileSelected)
    def show_selection(self, event: DirectoryTree.DirectorySelected | DirectoryTree.FileSelected) -> None:
        self.path_input.value = str(event.path)

    @on(Input.Submitted, "#picker-path")
    @on(Button.Pressed, "#picker-choose")
    def choose(self) -> None:
        typed = self.path_input.value.strip()
        if typed:
            self.dismiss(Path(typed).expanduser())

    @on(Button.Pressed, "#picker-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#picker-parent")
    def action_parent(self) -> None:
        parent = Path(self.tree.path).resolve().parent
        self.tree.path = parent
        self.path_input.value = str(parent)
