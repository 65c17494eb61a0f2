"""Widgets of the setup wizard (tui/screens/setup.py)."""

from tui.widgets.setup.choices import BackendChoice, ModelChoice
from tui.widgets.setup.tables import CheckReport, DiskTable
from tui.widgets.setup.tasks import Task, TaskReport, TaskRunner

__all__ = ["BackendChoice", "CheckReport", "DiskTable", "ModelChoice", "Task", "TaskReport", "TaskRunner"]
