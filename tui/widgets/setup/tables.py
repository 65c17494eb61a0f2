"""The wizard's two read-outs: disk space against needs, and the final per-model check."""

from __future__ import annotations

from textual.widgets import DataTable

from tui.setup.diagnosis import Diagnosis
from tui.setup.wizard import DiskNeed
from tui.units import human_size


class DiskTable(DataTable):
    """Free space in the cache and data folders against what the chosen models need there."""

    DEFAULT_CSS = """
    DiskTable {
        height: auto;
        max-height: 1fr;
    }
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("for", "folder", "needed", "free", "")

    def show_needs(self, needs: list[DiskNeed]) -> None:
        self.clear()
        for need in needs:
            parts = [human_size(need.needed)] if need.needed or not need.unknown else []
            parts += [f"unknown ({', '.join(need.unknown)})"] if need.unknown else []
            needed = " + ".join(parts)
            verdict = "[green]enough[/]" if need.enough else "[red]not enough[/]"
            self.add_row(need.what, str(need.folder), needed, human_size(need.free), verdict, key=need.what)


class CheckTable(DataTable):
    """What `fashionfail-tui doctor` says about each chosen model."""

    DEFAULT_CSS = """
    CheckTable {
        height: auto;
        max-height: 1fr;
    }
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("model", "runs in", "state, and the command that fixes each gap")

    def show_diagnoses(self, diagnoses: list[Diagnosis]) -> None:
        self.clear()
        for diagnosis in diagnoses:
            if diagnosis.ready:
                self.add_row(diagnosis.model, diagnosis.environment, "[green]ready[/]", key=diagnosis.model)
            for number, gap in enumerate(diagnosis.gaps):
                self.add_row(diagnosis.model if number == 0 else "", diagnosis.environment if number == 0 else "",
                             f"[yellow]missing {gap.what}[/]\n  [b]{gap.fix}[/]", height=2,
                             key=f"{diagnosis.model}/{number}")
