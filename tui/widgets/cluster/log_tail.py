"""The end of the highlighted shard's log: what a failed task said last."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.cluster.status import TaskStatus
from tui.text import rich_text, visible


class LogTail(Static):
    DEFAULT_CSS = """
    LogTail {
        height: auto;
        max-height: 15;
        padding: 0 1;
        border-top: hkey $error;
        color: $text-muted;
    }
    """

    def show(self, task: TaskStatus | None) -> None:
        if task is None or task.state != "failed":
            self.add_class("hidden")
            return
        self.remove_class("hidden")
        heading = rich_text(f"shard {task.shard.index} failed ({task.detail}); end of {task.log}:", style="bold")
        self.update(heading + "\n" + Text("\n".join(map(visible, task.log_tail)) or "(the log is empty)"))
