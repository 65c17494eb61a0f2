"""The wizard's two choices: which backend builds the environments, which models to set up."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RadioSet, SelectionList, Static

from tui import catalog
from tui.widgets.checklist import CheckList, Radio

BACKEND_TEXT = {
    "auto": "automatic: your conda/mamba/micromamba if found, else embedded",
    "embedded": "embedded: py-rattler builds the environments in the app's data folder (no conda needed)",
    "uv": "uv: venvs from the hash locks, PyPI only (no conda-forge needed; the machine provides CUDA)",
    "conda": "conda", "mamba": "mamba", "micromamba": "micromamba",
}


class BackendChoice(Vertical):
    """A radio button per backend; the conda-like ones are disabled (dimmed, skipped by the cursor,
    deaf to clicks) where no executable was found."""

    DEFAULT_CSS = """
    BackendChoice RadioButton:disabled {
        color: $text-disabled;
        text-style: italic;
    }
    BackendChoice RadioButton:disabled > .toggle--button {
        color: $text-disabled;
    }
    """

    def __init__(self, found: dict[str, Path | None], **kwargs):
        super().__init__(**kwargs)
        self.found = found

    def compose(self) -> ComposeResult:
        yield Static("Which backend builds the model environments?", classes="intro")
        with RadioSet(id="backend-set"):
            for name, text in BACKEND_TEXT.items():
                if name in self.found:
                    where = self.found[name]
                    text = f"{text}: {where}" if where else f"{text}: not found"
                yield Radio(text, id=f"backend-{name}", disabled=name in self.found and not self.found[name])

    @property
    def radio_set(self) -> RadioSet:
        return self.query_one("#backend-set", RadioSet)

    @property
    def value(self) -> str:
        pressed = self.radio_set.pressed_button
        return pressed.id.removeprefix("backend-") if pressed else "auto"

    def select(self, name: str) -> None:
        button = self.query_one(f"#backend-{name}", Radio)
        if not button.disabled:
            button.value = True


class ModelChoice(Vertical):
    """The six models, with what each needs, to tick."""

    DEFAULT_CSS = """
    ModelChoice SelectionList {
        height: auto;
        max-height: 1fr;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("Which models should be set up? (up/down move, space ticks; each needs its environment and "
                     "checkpoint)", classes="intro")
        yield CheckList[str](
            *((f"{m.name}  ({m.title}; {'env ' + m.environment if m.environment else 'no env needed'})", m.name)
              for m in catalog.MODELS),
            id="model-list")

    @property
    def selection_list(self) -> SelectionList:
        return self.query_one("#model-list", SelectionList)

    @property
    def value(self) -> list[str]:
        chosen = set(self.selection_list.selected)
        return [name for name in catalog.names() if name in chosen]

    def select(self, names: list[str]) -> None:
        self.selection_list.deselect_all()
        for name in names:
            self.selection_list.select(name)
