"""The wizard's two read-outs: disk space against needs, and the final per-model check."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.setup.diagnosis import Diagnosis, offline_note
from tui.setup.wizard import DiskNeed
from tui.units import human_size
from tui.widgets.fitted_table import FittedTable


class DiskTable(FittedTable):
    """Free space in the cache and data folders against what the chosen models need there. The needs
    give way (a list of files of unknown size can be long); the folder comes last."""

    DEFAULT_CSS = """
    DiskTable {
        height: auto;
        max-height: 1fr;
    }
    """

    COLUMNS = [("for", "for"), ("needed", "needed"), ("free", "free"), ("", "verdict"), ("folder", "folder")]

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.show_needs([])

    def show_needs(self, needs: list[DiskNeed]) -> None:
        self._needs = needs
        rows = {}
        for need in needs:
            parts = [human_size(need.needed)] if need.needed or not need.unknown else []
            parts += [f"unknown ({', '.join(need.unknown)})"] if need.unknown else []
            verdict = Text("enough", style="green") if need.enough else Text("not enough", style="red")
            rows[need.what] = (need.what, " + ".join(parts), human_size(need.free), verdict, str(need.folder))
        self.set_columns(self.COLUMNS, list(rows.values()), text_column="needed")
        for key, cells in rows.items():
            self.add_row(*cells, key=key)

    def on_fitted_table_width_changed(self) -> None:
        self.show_needs(self._needs)


class CheckReport(VerticalScroll):
    """What `fashionfail-tui doctor` says about each chosen model, as wrapped lines: a fix command
    longer than the terminal is wide goes on to the next line instead of being cut."""

    DEFAULT_CSS = """
    CheckReport {
        height: 1fr;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="check-text")

    @property
    def text(self) -> str:
        return str(self.query_one("#check-text", Static).render())

    def show_diagnoses(self, diagnoses: list[Diagnosis]) -> None:
        lines = []
        for diagnosis in diagnoses:
            state = Text("ready", style="green") if diagnosis.ready else Text(f"{len(diagnosis.gaps)} missing",
                                                                             style="yellow")
            lines.append(Text.assemble((diagnosis.model, "bold"), "  ", state, f"  runs in {diagnosis.environment}"))
            for gap in diagnosis.gaps:
                lines += [Text(f"  missing {gap.what}", style="yellow"), Text(f"    {gap.fix}", style="bold")]
        if note := offline_note(diagnoses):
            lines.append(Text(note))
        self.query_one("#check-text", Static).update(Text("\n").join(lines))
