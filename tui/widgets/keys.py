"""The keys screen (`?` or F1), as lazygit's and k9s's: the current screen's keys, its widgets' keys
(those the footer leaves out included), the keys that work everywhere, and every area with its letter."""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

EVERYWHERE = [
    ("?  f1", "this list of keys"),
    ("ctrl+p", "search every action of every screen, and go there"),
    ("tab  shift+tab", "the next / previous field, list or button (the focused one is outlined)"),
    ("escape", "leave a text field: letters are keys again (the footer's badge says keys / typing)"),
    ("enter", "press the focused button"),
    ("g", "the GPU pane beside this screen"),
    ("q  ctrl+q", "quit (q outside a text field); asks first while a run is going"),
]


def declared_bindings(node: DOMNode | type[DOMNode]) -> list[Binding]:
    """The bindings the app's own classes declare on this node or class (Textual's defaults left out),
    one per action."""
    node_class = node if isinstance(node, type) else type(node)
    declared = [cls.__dict__.get("BINDINGS", []) for cls in node_class.__mro__ if cls.__module__.startswith("tui.")]
    found, actions = [], set()
    for binding in Binding.make_bindings(binding for bindings in declared for binding in bindings):
        if binding.description and binding.action not in actions:
            actions.add(binding.action)
            found.append(binding)
    return found


def key_text(app, binding: Binding) -> str:
    """`+` for a binding that names its display, else every key it has (`delete  backspace`)."""
    if binding.key_display:
        return binding.key_display
    return "  ".join(app.get_key_display(Binding(key, "")) for key in binding.key.split(","))


def widget_name(widget: Widget) -> str:
    """`ImageList` -> `image list`."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(widget).__name__).lower()


def screen_keys(screen: Screen) -> Iterable[tuple[str, Binding]]:
    """(where, binding) for the screen's keys, then those of each of its widgets that has its own."""
    for binding in declared_bindings(screen):
        yield "", binding
    for widget in screen.query("*"):
        for binding in declared_bindings(widget):
            yield f"in the {widget_name(widget)}", binding


class KeysScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    KeysScreen {
        align: center middle;
    }
    KeysScreen #keys-box {
        width: 100;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,question_mark,f1,q", "dismiss", "Close", key_display="esc")]

    def __init__(self, screen: Screen, areas: list) -> None:
        super().__init__()
        self.shown_screen = screen
        self.areas = areas
        """(NavEntry, screen class) of every area, in menu order."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="keys-box") as box:
            nav = getattr(self.shown_screen, "NAV", None)
            box.border_title = f"Keys: {nav.title if nav else self.shown_screen.title or 'this screen'}"
            box.border_subtitle = "esc closes · ctrl+p searches every screen's actions"
            yield Static(self.table(), id="keys-table")

    def table(self) -> Group:
        app = self.app

        def section(title: str, rows: list[tuple[str, str | Text]]) -> Table:
            table = Table(title=title, title_justify="left", title_style="bold underline", box=None,
                          show_header=False, pad_edge=False, expand=True, padding=(0, 2, 0, 0))
            table.add_column("key", style="bold", no_wrap=True, min_width=14)
            table.add_column("what", ratio=1)
            for row in rows or [("", Text("no keys of its own", style="dim"))]:
                table.add_row(*row)
            return table

        own = [(key_text(app, binding), f"{binding.tooltip or binding.description}" + (f" ({where})" if where else ""))
               for where, binding in screen_keys(self.shown_screen)]
        areas = [(entry.key, Text.assemble((entry.title, "bold"), f": {entry.description}")) for entry, _ in self.areas]
        return Group(section("This screen", own), Text(""), section("Areas (letters, outside a text field)", areas),
                     Text(""), section("Everywhere", EVERYWHERE))
