"""The runners' run_files.py (runners/run_files.py), loaded into the app.

The app asks it rather than repeating its rules: which images a run over a folder sees and how
`--shard I/N` splits them (so `cluster submit` counts exactly what the shards will run), what
identifies an image set, and how a prediction file is written (so `merge` writes what a single run
writes). It is loaded from its file under a private module name, and the runners folder is never
put on the app's sys.path: inside the app, `common`, `protocol` and `run_files` are no top-level
module names.
"""

from __future__ import annotations

import functools
import importlib.util
from types import ModuleType

from tui import paths

MODULE_NAME = "tui.runs._runners_run_files"
"""The name the loaded module carries: private to this package, and no file of the app has it."""


@functools.cache
def run_files() -> ModuleType:
    spec = importlib.util.spec_from_file_location(MODULE_NAME, paths.runners_dir() / "run_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
