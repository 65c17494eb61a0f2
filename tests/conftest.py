"""Every test gets its own cache, config and data dirs: nothing reads or writes the user's. And how
the tests share out over pytest-xdist's workers."""

import os

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
    from pathlib import Path

    target = Path(os.environ.get("FASHIONFAIL_TUI_SCREENSHOTS") or tmp_path / "screenshots").resolve()
    target.mkdir(parents=True, exist_ok=True)
    return target


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: two workers a CPU (at most 16). Most of the suite waits (on subprocesses, SLURM's
    polling, the app's workers), so a second worker a core uses the waits: on 2 idle cores, 4 workers
    took 4.2 to 5.2 minutes over six runs where 2 took 5.3. Each test file stays on one worker
    (`--dist loadfile`), so its module-scoped fixtures (a SLURM cluster, an environment built from a
    lock) are built once."""
    return min(2 * (os.cpu_count() or 1), 16)
