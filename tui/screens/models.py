"""The Models screen: each model's checkpoint files and source tree in the cache, and the actions
that change them (download, import, verify, delete) with live progress."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from tui import catalog
from tui.downloads import ModelFiles
from tui.screens import NavEntry
from tui.text import notification
from tui.units import human_size
from tui.widgets.confirm import Confirm
from tui.widgets.models.dataset_line import DatasetLine
from tui.widgets.models.detail import ModelDetail
from tui.widgets.models.files_table import ModelFilesTable
from tui.widgets.models.import_dialog import ImportDialog
from tui.widgets.models.cache_operations import CacheOperations
from tui.widgets.footer import AppFooter


class ModelsScreen(Screen):
    NAV = NavEntry("models", "m", "Models", "Checkpoints and source trees: download, import, verify, delete", order=20)
    BINDINGS = [
        Binding("d", "download", "Download"),
        Binding("i", "import_file", "Import"),
        Binding("c", "verify", "Check", tooltip="Check the files against their sha256"),
        Binding("x", "delete", "Delete", show=False),  # the footer is cut at 80 columns: these live in ctrl+p
        Binding("u", "reload", "Reload", show=False),  # r stays the Run screen's key, u as on the Cluster screen
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.states: dict[str, ModelFiles] = {}
        self.busy: set[str] = set()
        self.failures: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Checkpoints and source trees in the cache. d download · i import a file you downloaded · "
                     "c check (sha256) · x delete.", classes="intro")
        yield DatasetLine(id="dataset-line")
        yield ModelFilesTable(id="model-files")
        yield ModelDetail(id="model-detail")
        yield CacheOperations(self.app.settings)
        yield AppFooter()

    @property
    def files_table(self) -> ModelFilesTable:
        return self.query_one(ModelFilesTable)

    @property
    def detail(self) -> ModelDetail:
        return self.query_one(ModelDetail)

    @property
    def dataset_line(self) -> DatasetLine:
        return self.query_one(DatasetLine)

    @property
    def operations(self) -> CacheOperations:
        return self.query_one(CacheOperations)

    @property
    def selected(self) -> str:
        return self.files_table.selected_model

    def on_mount(self) -> None:
        self.operations.read_states()

    def on_screen_resume(self) -> None:
        self.operations.read_states()
        self.dataset_line.read_state()

    @on(CacheOperations.StatesRead)
    def show_states(self, message: CacheOperations.StatesRead) -> None:
        self.states = {state.model: state for state in message.states}
        self.files_table.show_states(message.states, self.busy, self.failures)
        self.show_detail()

    @on(DataTable.RowHighlighted)
    def show_detail(self) -> None:
        if self.selected in self.states:
            self.detail.show(self.states[self.selected])

    @on(CacheOperations.ProgressReported)
    def show_progress(self, message: CacheOperations.ProgressReported) -> None:
        self.files_table.show_progress(message.model, message.progress)

    @on(CacheOperations.Finished)
    def operation_finished(self, message: CacheOperations.Finished) -> None:
        self.busy.discard(message.model)
        self.notify(notification(message.summary), title=f"{message.model}: {message.action}", markup=False)
        if message.warning:  # people fine-tune: a warning, not a refusal
            self.notify(notification(message.warning), title=f"{message.model}: {message.action}", severity="warning",
                        timeout=15, markup=False)
        self.operations.read_states()

    @on(CacheOperations.Failed)
    def operation_failed(self, message: CacheOperations.Failed) -> None:
        self.busy.discard(message.model)
        self.failures[message.model] = f"{message.action} failed"
        self.notify(notification(message.message), title=f"{message.model}: {message.action} failed", severity="error", timeout=15,
                    markup=False)
        self.operations.read_states()

    def _start(self, action: str) -> str | None:
        model = self.selected
        if model in self.busy:
            self.notify(f"{model} is busy; wait for it to finish", severity="warning")
            return None
        self.busy.add(model)
        self.failures.pop(model, None)
        self.files_table.show_note(model, f"{action}…")
        return model

    def action_download(self) -> None:
        """A download is long: the d key asks first (a letter typed by mistake starts nothing)."""
        model = catalog.get(self.selected)
        if model.weights.kind == "manual" and not self._present(self.selected):
            self.action_import_file()
            return
        size = f" ({human_size(model.weights.size)})" if model.weights.size else ""
        self.app.push_screen(Confirm(f"Download {model.name}'s checkpoint {model.weights.filename}{size} now?",
                                     yes="Download", no="Not now"), lambda yes: yes and self._download(model.name))

    def _download(self, name: str) -> None:
        if self.selected == name and self._start("download"):
            self.operations.download(name)

    def action_import_file(self) -> None:
        model = catalog.get(self.selected)
        self.app.push_screen(ImportDialog(model.name, model.weights.filename),
                             lambda path: self._import(model.name, path))

    def _import(self, model: str, path: Path | None) -> None:
        if path is not None and self._start("import"):
            self.operations.import_file(model, path)

    def action_verify(self) -> None:
        if model := self._start("verify"):
            self.operations.verify(model)

    def action_delete(self) -> None:
        """Ask first: a deleted checkpoint comes back only by downloading (or importing) it again."""
        model = catalog.get(self.selected)
        state = self.states.get(model.name)
        if state is not None and state.state == "missing":
            self.notify(f"{model.name} has nothing in the cache to delete", severity="warning")
            return
        size = f", {human_size(state.size)}" if state and state.size else ""
        if model.weights.kind == "manual":
            again = "Getting it back means importing it again."
        elif state is not None and state.imported:
            again = "It was imported: getting it back means importing your copy again, or downloading it."
        else:
            again = "Getting it back means downloading it again."
        self.app.push_screen(Confirm(f"Delete {model.name}'s checkpoint from the cache ({model.weights.filename}{size})? "
                                     f"{again}", yes="Delete"),
                             lambda yes: yes and self._delete(model.name))

    def _delete(self, model: str) -> None:
        if self._start("delete"):
            self.operations.delete(model)

    def action_reload(self) -> None:
        self.operations.read_states()
        self.dataset_line.read_state()

    def _present(self, model: str) -> bool:
        state = self.states.get(model)
        return bool(state and state.usable)
