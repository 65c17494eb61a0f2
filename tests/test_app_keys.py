"""Keys that always work: area keys as soon as a screen opens, escape out of a field, quit and the
palette from anywhere, and the palette's own commands (keys panel, screenshot)."""

import pytest
from textual.widgets import Footer, Input
from textual.widgets._footer import FooterKey, FooterLabel

from tui.app import FashionFailApp, LaunchOptions
from tui.screens import discover
from tui.widgets.keys import KeysScreen
from tests.helpers.pilot import wait_for

AREAS = {entry.mode: entry.key for entry, _ in discover()}


def footer_text(app) -> str:
    """The footer's keys and labels as a user reads them, left to right."""
    parts = []
    for item in app.screen.query_one(Footer).query("FooterKey, FooterLabel"):
        parts.append(f"{item.key_display} {item.description}".strip() if isinstance(item, FooterKey)
                     else str(item.render()))
    return " ".join(parts)


def keys_text(screen) -> str:
    """The keys screen as plain text, columns apart by two spaces."""
    import re

    from rich.console import Console

    console = Console(width=220, record=True, file=open("/dev/null", "w"))
    console.print(screen.table())
    return re.sub(r" {2,}", "  ", console.export_text())


def command(app, title):
    [found] = [c for c in app.get_system_commands(app.screen) if c.title == title]
    return found


async def test_area_keys_work_right_after_each_screen_opens():
    app = FashionFailApp()
    async with app.run_test(size=(120, 36)) as pilot:
        for mode, key in AREAS.items():
            await pilot.press(key)
            await pilot.pause()
            assert app.current_mode == mode
            assert not isinstance(app.focused, Input), f"{mode} opens with the cursor in a text field"
            other = "h" if mode != "home" else "j"
            await pilot.press(other)  # typed into a field if one had the focus
            await pilot.pause()
            assert app.current_mode != mode, f"{other} did not leave {mode}"


@pytest.mark.parametrize("mode", list(AREAS))
async def test_each_area_opened_from_the_command_line_takes_area_keys_at_once(mode):
    app = FashionFailApp(LaunchOptions(mode=mode))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("h" if mode != "home" else "j")
        await pilot.pause()
        assert app.current_mode != mode


async def test_in_a_field_the_footer_says_how_to_get_the_area_keys_back():
    app = FashionFailApp(LaunchOptions(mode="evaluate"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "esc" not in footer_text(app), "nothing to leave yet"
        await pilot.press("a")  # the predictions field
        await pilot.pause()
        field = app.screen.form.file_input
        assert app.focused is field
        footer = footer_text(app)
        assert "esc Back to area keys" in footer and "^q Quit" in footer
        assert "h r p m s b v j Areas" not in footer  # the field takes the letters
        await pilot.press("j")
        assert field.value == "j" and app.current_mode == "evaluate"
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is None and "h r p m s b v j Areas" in footer_text(app)
        await pilot.press("j")
        await pilot.pause()
        assert app.current_mode == "cluster"


async def test_ctrl_q_quits_from_a_text_field():
    app = FashionFailApp(LaunchOptions(mode="browse"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.focused, Input)
        await pilot.press("q")
        assert app.focused.value == "q"
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running


@pytest.mark.parametrize("key", ["question_mark", "f1"])
async def test_the_keys_screen_lists_the_screens_keys_the_hidden_ones_too_and_every_area(key):
    app = FashionFailApp(LaunchOptions(mode="models"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        text = keys_text(app.screen)
        assert "Keys: Models" in app.screen.query_one("#keys-box").border_title
        assert "x  Delete" in text and "u  Reload" in text  # left out of the footer
        for entry, _ in discover():
            assert f"{entry.key}  {entry.title}: {entry.description[:20]}" in text
        assert "g  the GPU pane" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, KeysScreen) and app.current_mode == "models"


async def test_keys_that_no_footer_shows_are_on_the_keys_screen():
    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert "^b  Browse the prediction file the last run wrote" in keys_text(app.screen)
        await pilot.press("escape", "p", "question_mark")
        await pilot.pause()
        assert "^f  Each model's detections beside the ground truth" in keys_text(app.screen)


async def test_f1_opens_the_keys_from_a_text_field_and_the_footer_says_whether_letters_are_typed():
    app = FashionFailApp(LaunchOptions(mode="browse"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert footer_text(app).startswith("keys ")
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.focused, Input) and footer_text(app).startswith("typing ")
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)


@pytest.mark.parametrize("query, title, mode", [("fail", "Compare: Failure cases", "compare"),
                                                ("import", "Models: Import", "models")])
async def test_the_palette_on_run_finds_another_screens_action_and_goes_there(query, title, mode):
    from textual.command import CommandList, CommandPalette

    app = FashionFailApp(LaunchOptions(mode="run"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*query)
        found = app.screen.query_one(CommandList)
        await wait_for(pilot, lambda: found.option_count)
        options = [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]
        assert any(title in option for option in options), options
        await command(app, title).callback()
        await pilot.pause()
        assert app.current_mode == mode


async def test_keys_left_out_of_the_footer_are_in_the_palette():
    app = FashionFailApp(LaunchOptions(mode="browse"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = footer_text(app)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Sort images" not in footer and "Filter images" not in footer
        assert {"Sort images", "Filter images", "Open file", "Export", "Score +", "Score -"} <= titles
        await command(app, "Sort images").callback()  # a key of the image list, run from the palette
        await pilot.pause()
        assert any("images sorted by" in n.message for n in app._notifications)


async def test_the_palettes_screenshot_lands_in_the_current_folder_and_says_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = FashionFailApp()
    async with app.run_test(size=(80, 24)) as pilot:
        command(app, "Screenshot").callback()
        await wait_for(pilot, lambda: list(tmp_path.glob("*.svg")))
        [saved] = tmp_path.glob("*.svg")
        assert saved.read_text().startswith("<svg")
        await wait_for(pilot, lambda: list(app._notifications))
        [note] = app._notifications
        assert note.message == f"Saved {saved}" and note.severity == "information"


async def test_a_screenshot_with_the_current_folder_gone_is_an_error_not_a_crash(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    app = FashionFailApp()
    async with app.run_test(size=(80, 24)) as pilot:
        command(app, "Screenshot").callback()
        await wait_for(pilot, lambda: list(app._notifications))
        [note] = app._notifications
        assert note.severity == "error" and "current folder" in note.message
        assert app.is_running
