"""Keys that always work: area keys as soon as a screen opens, escape out of a field, quit and the
palette from anywhere, and the palette's own commands (keys panel, screenshot)."""

import pytest
from textual.widgets import Footer, HelpPanel, Input
from textual.widgets._footer import FooterKey, FooterLabel

from tui.app import FashionFailApp, LaunchOptions
from tui.screens import discover
from tests.helpers.pilot import wait_for

AREAS = {entry.mode: entry.key for entry, _ in discover()}


def footer_text(app) -> str:
    """The footer's keys and labels as a user reads them, left to right."""
    parts = []
    for item in app.screen.query_one(Footer).query("FooterKey, FooterLabel"):
        parts.append(f"{item.key_display} {item.description}".strip() if isinstance(item, FooterKey)
                     else str(item.render()))
    return " ".join(parts)


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


async def test_escape_closes_the_keys_panel():
    app = FashionFailApp(LaunchOptions(mode="models"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        command(app, "Keys").callback()
        await pilot.pause()
        assert app.screen.query(HelpPanel)
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query(HelpPanel)


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
