"""The app's footer: Textual's, plus two things a newcomer needs to read off it.

- Where typed letters go: a badge on the left says `keys` while no text field has the cursor (the
  letters are keys: areas, the screen's own) and `typing` while one has it (escape leaves it).
- Which letter is which area: where the footer has room the area keys are named one by one
  (`h home  r run ...`); where it has not they stay one group, `h r p m s b v j Areas`, and `?`
  (or F1) opens the keys screen that names them: below 100 columns `? keys` takes the right edge
  where the palette's key is on wider terminals (the keys screen names ctrl+p).

Textual's Footer.compose is rewritten here, not wrapped: the area group is laid out either way
depending on the room the other keys leave, which only the footer knows.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, TextArea
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

AREA_KEYS = Binding.Group("Areas")
"""The app's area keys: the one group the footer names key by key where it has room."""
PALETTE_WIDTH = 12
"""The command palette's key at the right edge, with its border."""
KEYS_AT_THE_EDGE_BELOW = 100
"""Narrower footers end with `? keys` instead of the palette's key."""


def typing_into_a_field(screen) -> bool:
    return isinstance(screen.focused, (Input, TextArea))


class AppFooter(Footer):
    DEFAULT_CSS = """
    AppFooter FooterLabel.focus-badge {
        margin: 0 1 0 0;
        padding: 0 1;
        text-style: bold;
        color: $text;
        background: $primary-muted;
    }
    AppFooter FooterKey.-named {
        margin: 0 1 0 0;
    }
    AppFooter FooterLabel.focus-badge.-typing {
        background: $warning-muted;
    }
    """

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        typing = typing_into_a_field(self.screen)
        badge = FooterLabel("typing" if typing else "keys", classes="focus-badge" + (" -typing" if typing else ""))
        badge.tooltip = ("A text field has the cursor: letters are typed; escape leaves it" if typing else
                         "No text field has the cursor: letters are keys (? lists them)")
        yield badge
        active = self.screen.active_bindings
        by_action = defaultdict(list)
        for _, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
        shown = [entries[0] for entries in by_action.values()]

        def width(binding) -> int:
            return cell_len(self.app.get_key_display(binding)) + cell_len(binding.description) + 2  # key, space, margin

        room = self.size.width - PALETTE_WIDTH - cell_len(" typing ") - sum(
            width(binding) for binding, _, _ in shown if binding.group is None)
        for group, members in groupby(shown, lambda entry: entry[0].group):
            members = list(members)
            named = group is None or len(members) == 1 or (
                group is AREA_KEYS and sum(width(binding) for binding, _, _ in members) <= room)
            if named:
                for binding, enabled, tooltip in members:
                    yield FooterKey(binding.key, self.app.get_key_display(binding),
                                    binding.description.lower() if group is not None else binding.description,
                                    binding.action, disabled=not enabled, tooltip=tooltip, classes="-named")
                continue
            room -= cell_len(group.description) + 2 + 2 * len(members)
            with KeyGroup(classes="-compact" if group.compact else ""):
                for binding, enabled, tooltip in members:
                    yield FooterKey(binding.key, self.app.get_key_display(binding), "", binding.action,
                                    disabled=not enabled, tooltip=tooltip or binding.description, classes="-grouped")
            yield FooterLabel(group.description)
        if self.size.width < KEYS_AT_THE_EDGE_BELOW:
            yield FooterKey("question_mark", "?", "keys", "app.show_keys", classes="-command-palette",
                            tooltip="Every key of this screen and every area; ctrl+p searches every action")
        elif self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            try:
                _, binding, enabled, tooltip = active[self.app.COMMAND_PALETTE_BINDING]
            except KeyError:
                return
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                            classes="-command-palette", disabled=not enabled, tooltip=binding.tooltip or binding.description)

    def on_resize(self) -> None:
        self.call_after_refresh(self.recompose)
