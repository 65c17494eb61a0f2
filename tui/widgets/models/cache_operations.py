"""The Models screen's background work: every cache operation runs in a thread worker and reports
back as messages, so the UI never blocks on disk or network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.message import Message
from textual.widget import Widget

from tui import catalog
from tui.config import Config
from tui.downloads import ModelFiles, Progress, delete_model, fetch_model, model_files_state, verify_model
from tui.downloads.paper import paper_checkpoint
from tui.errors import UserError


class CacheOperations(Widget):
    """Invisible: runs one operation per model at a time and posts what happened."""

    DEFAULT_CSS = "CacheOperations { display: none; }"

    @dataclass
    class StatesRead(Message):
        states: list[ModelFiles]

    @dataclass
    class ProgressReported(Message):
        model: str
        progress: Progress

    @dataclass
    class Finished(Message):
        model: str
        action: str
        """download | import | verify | delete"""
        summary: str
        warning: str | None = None
        """`not the paper's checkpoint (...)` after an import of a file that is not the paper's."""

    @dataclass
    class Failed(Message):
        model: str
        action: str
        message: str

    def __init__(self, config: Config):
        super().__init__()
        self.config = config

    @work(thread=True, exclusive=True, group="states")
    def read_states(self) -> None:
        self.post_message(self.StatesRead([model_files_state(m, self.config) for m in catalog.MODELS]))

    def download(self, model: str) -> None:
        self._run(model, "download", lambda report: f"saved {fetch_model(catalog.get(model), self.config, report)}")

    def import_file(self, model: str, source: Path) -> None:
        self._run(model, "import",
                  lambda report: f"imported {fetch_model(catalog.get(model), self.config, report, source_file=source)}",
                  warn=True)

    def verify(self, model: str) -> None:
        self._run(model, "verify", lambda report: _verified(verify_model(catalog.get(model), self.config, report)))

    def delete(self, model: str) -> None:
        self._run(model, "delete", lambda _: f"removed {len(delete_model(catalog.get(model)))} path(s)")

    def _run(self, model: str, action: str, operation, warn: bool = False) -> None:
        self.run_worker(lambda: self._guarded(model, action, operation, warn), thread=True, group=f"model-{model}",
                        name=f"{action} {model}", exclusive=True)

    def _guarded(self, model: str, action: str, operation, warn: bool = False) -> None:
        try:
            summary = operation(lambda progress: self.post_message(self.ProgressReported(model, progress)))
        except UserError as exc:
            self.post_message(self.Failed(model, action, str(exc)))
        except OSError as exc:
            self.post_message(self.Failed(model, action, f"{action} failed: {exc.strerror or exc}"))
        else:
            warning = paper_checkpoint(catalog.get(model), self.config).warning if warn else None
            self.post_message(self.Finished(model, action, summary, warning))


def _verified(state: ModelFiles) -> str:
    bad = [f.name for f in state.files if f.state == "corrupt"]
    if bad:
        raise UserError(f"corrupt: {', '.join(bad)} does not match its recorded sha256; delete it and fetch again")
    return f"{state.state}: {len(state.files)} file(s) checked"
