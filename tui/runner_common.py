"""The runners' shared module (runners/common.py), loaded into the app.

The app asks it rather than repeating its rules: which images a run over a folder sees and how
`--shard I/N` splits them (so `cluster submit` counts exactly what the shards will run), and how a
prediction file is written (so `merge` writes what a single run writes).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from types import ModuleType

from tui import paths


@functools.cache
def runners_common() -> ModuleType:
    runners = str(paths.runners_dir())
    if runners not in sys.path:  # common.py imports its sibling protocol.py
        sys.path.append(runners)
    spec = importlib.util.spec_from_file_location("fashionfail_runners_common", paths.runners_dir() / "common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
