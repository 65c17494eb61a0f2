"""The home screen: the six models, whether each is ready to run, and what fixes each gap."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from tui import catalog
from tui.screens import NavEntry
from tui.screens.run import open_in_run
from tui.setup.diagnosis import Diagnosis, diagnose
from tui.text import markup
from tui.widgets.footer import AppFooter


class HomeScreen(Screen):
    NAV = NavEntry("home", "h", "Home", "The six models and what each still needs", order=0)

    @dataclass
    class Diagnosed(Message):
        """Every model's readiness, worked out in a thread (it reads the cache and the environments)."""

        diagnoses: list[Diagnosis]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("The FashionFail comparison's six models; Enter opens one on the Run screen. "
                     "Keys below switch area; ctrl+p searches every action.",
                     classes="intro")
        yield DataTable(id="models", cursor_type="row", zebra_stripes=True)
        yield Static("", id="model-detail")
        yield AppFooter()

    @property
    def models_table(self) -> DataTable:
        return self.query_one("#models", DataTable)

    @property
    def detail(self) -> Static:
        return self.query_one("#model-detail", Static)

    def on_mount(self) -> None:
        for column in ("model", "family", "backbone", "runs in", "state"):
            self.models_table.add_column(column, key=column)
        self.diagnoses: dict[str, Diagnosis] = {}
        self.refresh_states()

    def on_screen_resume(self) -> None:
        self.refresh_states()

    @work(thread=True, exclusive=True, group="home")
    def refresh_states(self) -> None:
        self.post_message(self.Diagnosed([diagnose(model, self.app.settings) for model in catalog.MODELS]))

    @on(Diagnosed)
    def show_states(self, message: Diagnosed) -> None:
        table = self.models_table
        selected = table.cursor_row
        self.diagnoses = {d.model: d for d in message.diagnoses}
        refill = table.row_count != len(catalog.MODELS)
        if refill:
            table.clear()
        for model, diagnosis in zip(catalog.MODELS, message.diagnoses):
            state = Text("ready", style="green") if diagnosis.ready else \
                Text(f"{len(diagnosis.gaps)} missing", style="yellow")
            if refill:
                table.add_row(model.name, model.family, model.backbone, diagnosis.environment, state, key=model.name)
            else:
                table.update_cell(model.name, "runs in", diagnosis.environment, update_width=True)
                table.update_cell(model.name, "state", state, update_width=True)
        table.move_cursor(row=min(selected, table.row_count - 1))
        # Textual's DataTable can keep drawing a header it rendered before it measured the new rows
        # (its cache key misses the widths); once they are measured, it draws afresh
        self.call_after_refresh(table.notify_style_update)
        self.show_detail()

    @on(DataTable.RowSelected, "#models")
    def run_model(self, event: DataTable.RowSelected) -> None:
        open_in_run(self.app, str(event.row_key.value))

    @on(DataTable.RowHighlighted, "#models")
    def show_detail(self) -> None:
        table = self.models_table
        if not table.row_count or not self.diagnoses:
            return
        name = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        model, diagnosis = catalog.get(name), self.diagnoses[name]
        source = model.weights.url or f"by hand from {model.weights.manual_from}"
        lines = [f"[b]{model.title}[/b]", f"weights: {model.weights.filename}, {source}"]
        if diagnosis.note:
            lines.append(f"[magenta]runs in {markup(diagnosis.environment)}: {markup(diagnosis.note)}[/]")
        if diagnosis.ready:
            lines.append("[green]Ready to run:[/] Enter opens the Run screen with it chosen.")
        else:
            lines.append("Missing, and what fixes it (or press s for the setup wizard, m for checkpoints):")
            lines += [f"  [yellow]{markup(gap.what)}[/]  ->  {markup(gap.fix)}" for gap in diagnosis.gaps]
        self.detail.update("\n".join(lines))
