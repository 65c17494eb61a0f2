"""One row per model: its checkpoint file(s), size on disk, state, and a live progress column."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tui import catalog
from tui.downloads import ModelFiles, Progress
from tui.text import rich_text
from tui.units import human_duration, human_size

STATE_STYLES = {"verified": "green", "unverified": "yellow", "external": "cyan", "missing": "dim",
                "partial": "yellow", "downloading": "cyan", "corrupt": "bold red"}


NOTE_WIDTH = 48


def progress_text(progress: Progress) -> str:
    """Short enough for the table cell; the whole story of a failure goes into the notification."""
    if progress.message and not progress.done:
        message = progress.message
        return message if len(message) <= NOTE_WIDTH else message[:NOTE_WIDTH - 1] + "…"
    parts = [progress.stage]
    parts.append(f"{progress.fraction:.0%}" if progress.fraction is not None else human_size(progress.done))
    if progress.rate and progress.stage in ("download", "copy", "verify"):
        parts.append(f"{human_size(progress.rate)}/s")
    if progress.eta is not None and progress.fraction is not None and progress.fraction < 1:
        parts.append(f"{human_duration(progress.eta)} left")
    return " ".join(parts)


class ModelFilesTable(DataTable):
    COLUMNS = ("model", "file", "size", "state", "source tree", "progress")

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for label in self.COLUMNS:
            self.add_column(label, key=label)
        for model in catalog.MODELS:
            files = f"{model.weights.unpacks_to}/" \
                if model.weights.kind == "tar" else model.weights.filename
            self.add_row(model.name, files, "", "…", "", "", key=model.name)

    @property
    def selected_model(self) -> str:
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def _set(self, model: str, column: str, value) -> None:
        self.update_cell(model, column, rich_text(value) if isinstance(value, str) else value, update_width=True)

    def show_states(self, states: list[ModelFiles], busy: set[str], notes: dict[str, str]) -> None:
        """`busy`: models with a job running; `notes`: the last failure per model, shown in red."""
        for state in states:
            shown = "downloading" if state.model in busy and state.state != "verified" else state.state
            self._set(state.model, "size", human_size(state.size) if state.size else "")
            self._set(state.model, "state", Text(shown, style=STATE_STYLES.get(shown, "")))
            source = state.source
            self._set(state.model, "source tree",
                      Text(f"{source.name} {source.state}", style=STATE_STYLES.get(source.state, "red"))
                      if source else Text("none", style="dim"))
            if state.model not in busy:
                self._set(state.model, "progress", Text(notes.get(state.model, ""), style="red"))

    def show_progress(self, model: str, progress: Progress) -> None:
        self._set(model, "progress", progress_text(progress))
        if progress.stage == "download":
            self._set(model, "state", Text("downloading", style=STATE_STYLES["downloading"]))
            self._set(model, "size", human_size(progress.done))

    def show_note(self, model: str, note: str) -> None:
        self._set(model, "progress", note)
