"""The Textual app: one mode per area (screens discovered in tui.screens), one stylesheet."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.reactive import var
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from tui import paths
from tui.config import Config, load_remembered, save_remembered
from tui.environments import load_config
from tui.runs.process import active_jobs
from tui.screens import discover
from tui.widgets.confirm import Confirm
from tui.widgets.footer import AREA_KEYS
from tui.widgets.gpu import toggle_gpu_pane
from tui.widgets.keys import KeysScreen, declared_bindings

_AREAS = discover()
_KEYS_PANEL = "HelpPanel"
"""Textual's keys panel, queried by its type's name: importing it loads a Markdown parser (0.1 s of the start)."""


@dataclass
class LaunchOptions:
    """What the command line asked the app to open with."""

    mode: str = "home"
    browse_files: list[Path] = field(default_factory=list)
    images_dir: Path | None = None
    family: str | None = None
    """Read the browsed files with this family's (or model's) conventions instead of detecting them."""


class FashionFailApp(App):
    TITLE = "fashionfail-tui"
    SUB_TITLE = "FashionFail models: set up, fetch, run, browse, evaluate"
    CSS_PATH = "app.tcss"
    MODES = {entry.mode: screen for entry, screen in _AREAS}
    BINDINGS = [
        # The footer lists the focused widget's keys, then the screen's, then these, and is cut at the
        # terminal's edge: quit first, then the areas as one group; the rest lives in the palette.
        Binding("ctrl+q", "quit", "Quit", tooltip="Quit (q too, outside a text field)", priority=True),
        Binding("q", "quit", "Quit", show=False),
        Binding("escape", "leave_field", "Back to area keys",
                tooltip="Leave the text field (or close the keys panel): letters switch areas again"),
        *(Binding(entry.key, f"app.switch_mode('{entry.mode}')", entry.title, group=AREA_KEYS)
          for entry, _ in _AREAS),
        Binding("g", "toggle_gpu_pane", "GPU pane", show=False),
        Binding("question_mark", "show_keys", "Keys", show=False, tooltip="Every key of this screen, and every area"),
        Binding("f1", "show_keys", "Keys", show=False, priority=True),  # from a text field too
    ]
    runner_pids: var[frozenset[int]] = var(frozenset())
    """Pids of the runners this app started; the GPU pane highlights their processes and their children's."""

    def __init__(self, launch: LaunchOptions | None = None, config: Config | None = None):
        super().__init__()
        self.launch = launch or LaunchOptions()
        self.settings = config if config is not None else load_config()
        self.remembered = load_remembered()
        """The last run's folders and the theme, as the previous session left them."""
        self._saving = threading.Lock()

    def on_mount(self) -> None:
        if self.remembered.theme in self.available_themes:  # a theme since removed is ignored
            self.theme = self.remembered.theme
        self.switch_mode(self.launch.mode)

    def watch_theme(self, theme: str) -> None:
        self.remember(theme=theme)

    def remember(self, **changes) -> None:
        """Keep these `Remembered` fields for the next start; the file is written in a worker."""
        updated = replace(self.remembered, **changes)
        if updated != self.remembered:
            self.remembered = updated
            self._save_remembered()

    @work(thread=True, group="remembered")
    def _save_remembered(self) -> None:
        with self._saving:  # one writer at a time, and each writes the newest state
            try:
                save_remembered(self.remembered)
            except OSError as exc:
                self.call_from_thread(self.notify, f"Cannot save the last folders and theme to "
                                      f"{paths.state_file()}: {exc.strerror or exc}", severity="warning")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title not in ("Screenshot", "Keys"):  # Textual's screenshot writes to a Downloads folder
                yield command                                  # that may not exist; our keys screen names the areas
        yield SystemCommand("Keys", "Every key of this screen, and every area with its letter (? or F1)",
                            self.action_show_keys)
        yield SystemCommand("Screenshot", "Save an SVG picture of this screen in the current folder",
                            lambda: self.set_timer(0.1, self.save_screen_picture))  # once the palette is gone
        for entry, _ in _AREAS:
            yield SystemCommand(f"Go to {entry.title}", entry.description, lambda mode=entry.mode: self.switch_mode(mode))
        yield SystemCommand("Toggle the GPU pane", "GPU load, memory and processes beside this screen",
                            lambda: toggle_gpu_pane(screen))
        for node, binding in _own_bindings(screen):  # every action of the screen, shown in the footer or not
            yield SystemCommand(binding.description, binding.tooltip or f"key {binding.key_display or binding.key}",
                                lambda node=node, action=binding.action: node.run_action(action))
        here = getattr(screen, "NAV", None)
        for entry, screen_class in _AREAS:  # and every other area's, which go there first
            if here is not None and entry.mode == here.mode:
                continue
            for binding in declared_bindings(screen_class):
                yield SystemCommand(f"{entry.title}: {binding.description}",
                                    f"{binding.tooltip or binding.description} (goes to {entry.title}, "
                                    f"key {entry.key}, then {binding.key_display or binding.key})",
                                    lambda mode=entry.mode, action=binding.action: self.go_and_run(mode, action))

    async def go_and_run(self, mode: str, action: str) -> None:
        """A palette command of another area: switch there, then do it."""
        await self.switch_mode(mode)
        await self.screen.run_action(action)

    def action_show_keys(self) -> None:
        if not isinstance(self.screen, KeysScreen):
            self.push_screen(KeysScreen(self.screen, _AREAS))

    def save_screen_picture(self) -> None:
        """The palette's Screenshot: an SVG of the screen in the current folder, and where it went."""
        try:
            saved = self.save_screenshot(path=str(Path.cwd()))
        except OSError as exc:  # a read-only or deleted current folder
            self.notify(f"cannot save it in the current folder: {exc.strerror or exc}", title="Screenshot",
                        severity="error")
            return
        self.notify(f"Saved {saved}", title="Screenshot")

    async def action_quit(self) -> None:
        """Quit; while a run is going, only once the user said so (quitting stops it)."""
        if not active_jobs():
            self.exit()
        elif not isinstance(self.screen, QuitQuestion):
            self.push_screen(QuitQuestion(), lambda quit_anyway: quit_anyway and self.exit())

    def action_toggle_gpu_pane(self) -> None:
        toggle_gpu_pane(self.screen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_field":  # in the footer only where there is something to leave
            return isinstance(self.focused, Input) or bool(self.screen.query(_KEYS_PANEL))
        return True

    def action_leave_field(self) -> None:
        """A text field takes the letter keys; escape gives them back to the area keys. It also
        closes the palette's keys panel."""
        if self.screen.query(_KEYS_PANEL):
            self.action_hide_help_panel()
        elif isinstance(self.focused, Input):
            self.screen.set_focus(None)


class QuitQuestion(Confirm):
    def __init__(self) -> None:
        super().__init__("A run is going: quit and stop it? The finished images are kept.",
                         yes="Quit", no="Keep running")


def _own_bindings(screen: Screen) -> Iterable[tuple[DOMNode, Binding]]:
    """The bindings this app declares on the screen and on the widgets around the focus, one per action."""
    around_focus = screen.focused.ancestors_with_self if screen.focused is not None else []
    for node in (screen, *(node for node in around_focus if isinstance(node, Widget) and node is not screen)):
        for binding in declared_bindings(node):
            yield node, binding


def run_app(launch: LaunchOptions | None = None) -> int:
    FashionFailApp(launch).run()
    return 0
