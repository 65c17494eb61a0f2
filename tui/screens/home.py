"""The home screen: the six models and whether each is ready to run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from tui import catalog
from tui.readiness import readiness
from tui.screens import NavEntry


class HomeScreen(Screen):
    NAV = NavEntry("home", "h", "Home", "The six models and what each still needs", order=0)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("The FashionFail comparison's six models. Keys below switch area; ctrl+p searches every action.",
                     classes="intro")
        yield DataTable(id="models", cursor_type="row", zebra_stripes=True)
        yield Footer()

    @property
    def models_table(self) -> DataTable:
        return self.query_one("#models", DataTable)

    def on_mount(self) -> None:
        self.models_table.add_columns("model", "family", "backbone", "environment", "state")
        self.refresh_states()

    def on_screen_resume(self) -> None:
        self.refresh_states()

    def refresh_states(self) -> None:
        table = self.models_table
        table.clear()
        for model in catalog.MODELS:
            state = readiness(model, self.app.settings)
            table.add_row(
                model.name, model.family, model.backbone, model.environment or "(app's own)",
                "[green]ready[/]" if state.ready else f"[yellow]{state.summary()}[/]",
                key=model.name,
            )
