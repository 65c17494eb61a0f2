"""The selected model's files, source tree and, for manual downloads, where to get the file."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui import catalog
from tui.downloads import ModelFiles
from tui.units import human_size
from tui.widgets.models.files_table import STATE_STYLES


class ModelDetail(Static):
    def show(self, state: ModelFiles) -> None:
        model = catalog.get(state.model)
        text = Text()
        text.append(f"{model.name}: {model.title}\n", style="bold")
        for file in state.files:
            text.append(f"  {file.name}  ")
            text.append(file.state, style=STATE_STYLES.get(file.state, ""))
            if file.size:
                text.append(f"  {human_size(file.size)}")
            if file.sha256:
                text.append(f"  sha256 {file.sha256[:16]}… ({file.hash_source})", style="dim")
            text.append("\n")
        if state.source:
            source = state.source
            pin = f" pinned at {source.commit[:12]}" if source.commit else ""
            text.append(f"  source tree {source.name}{pin}: ")
            text.append(source.state, style=STATE_STYLES.get(source.state, "red"))
            text.append(f"  {source.path}\n", style="dim")
        if model.weights.kind == "manual":
            text.append(f"\nNo direct download: get {model.weights.filename} from {model.weights.manual_from} "
                        "(OneDrive), then press i and give its path.")
        self.update(text)
