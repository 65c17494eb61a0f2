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
