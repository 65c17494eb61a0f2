"""The Textual app: one mode per area (screens discovered in tui.screens), one stylesheet."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Input

from tui import paths, remembered
from tui.config import Config
from tui.environments import load_config
from tui.runs.process import active_jobs
from tui.screens import discover
from tui.widgets.confirm import Confirm
from tui.widgets.gpu import toggle_gpu_pane

_AREAS = discover()


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
        *(Binding(entry.key, f"app.switch_mode('{entry.mode}')", entry.title) for entry, _ in _AREAS),
        Binding("g", "toggle_gpu_pane", "GPU pane"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "leave_field", "Leave the field", show=False),
    ]
    runner_pids: var[frozenset[int]] = var(frozenset())
    """Pids of the runners this app started; the GPU pane highlights their processes and their children's."""

    def __init__(self, launch: LaunchOptions | None = None, config: Config | None = None):
        super().__init__()
        self.launch = launch or LaunchOptions()
        self.settings = config if config is not None else load_config()
        self.remembered = remembered.load()
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
                remembered.save(self.remembered)
            except OSError as exc:
                self.call_from_thread(self.notify, f"Cannot save the last folders and theme to "
                                      f"{paths.state_file()}: {exc.strerror or exc}", severity="warning")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for entry, _ in _AREAS:
            yield SystemCommand(f"Go to {entry.title}", entry.description, lambda mode=entry.mode: self.switch_mode(mode))
        yield SystemCommand("Toggle the GPU pane", "GPU load, memory and processes beside this screen",
                            lambda: toggle_gpu_pane(screen))
        for binding in Binding.make_bindings(screen.BINDINGS):  # every action of the screen shown now
            if binding.description:
                yield SystemCommand(binding.description, binding.tooltip or f"key {binding.key_display or binding.key}",
                                    lambda action=binding.action: screen.run_action(action))

    async def action_quit(self) -> None:
        """Quit; while a run is going, only once the user said so (quitting stops it)."""
        if not active_jobs():
            self.exit()
        elif not isinstance(self.screen, QuitQuestion):
            self.push_screen(QuitQuestion(), lambda quit_anyway: quit_anyway and self.exit())

    def action_toggle_gpu_pane(self) -> None:
        toggle_gpu_pane(self.screen)

    def action_leave_field(self) -> None:
        """A text field takes the letter keys; escape gives them back to the area keys."""
        if isinstance(self.focused, Input):
            self.screen.set_focus(None)


class QuitQuestion(Confirm):
    def __init__(self) -> None:
        super().__init__("A run is going: quit and stop it? The finished images are kept.",
                         yes="Quit", no="Keep running")


def run_app(launch: LaunchOptions | None = None) -> int:
    FashionFailApp(launch).run()
    return 0
