"""Every test gets its own cache, config and data dirs: nothing reads or writes the user's."""

import pytest

from tui import paths


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("home")
    monkeypatch.setenv(paths.CACHE_ENV, str(root / "cache"))
    monkeypatch.setenv(paths.DATA_ENV, str(root / "data"))
    monkeypatch.setenv(paths.CONFIG_ENV, str(root / "config.toml"))
    return root


@pytest.fixture
def screenshot_dir(tmp_path):
    """Where a test saves its screen as SVG: a temp dir, or docs/screenshots when regenerating
    the README's pictures with `FASHIONFAIL_TUI_SCREENSHOTS=docs/screenshots python -m pytest -k screenshot`."""
    import os
    from pathlib import Path

    target = Path(os.environ.get("FASHIONFAIL_TUI_SCREENSHOTS") or tmp_path / "screenshots").resolve()
    target.mkdir(parents=True, exist_ok=True)
    return target
