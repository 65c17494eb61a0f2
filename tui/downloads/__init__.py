"""Checkpoints and source trees into the cache (no Textual here).

The stable API the CLI, the app and the setup wizard use:

    fetch_model(model, config, on_progress=None, source_file=None) -> Path
        download/unpack (or import `source_file`), verify, clone the source tree; returns the
        checkpoint path the runner is given. Raises UserError (one line) on any failure, and
        CheckpointNeeded (a UserError) when all that is missing is a checkpoint to import by hand.
    model_files_state(model, config) -> ModelFiles
        cheap (stat + manifest): each file's state (missing, partial, downloading, unverified,
        verified, corrupt, external) and the source tree's (missing, verified, wrong-commit, broken).
    verify_model(model, config, on_progress=None) -> ModelFiles      hash what is present
    delete_model(model) -> list[Path]                                 remove files and partials
    ensure_source(tree, on_progress=None) -> Path                     clone/repair one source tree

`on_progress` receives `Progress` events (stage, name, done, total, rate, eta, message).
"""

from typing import TYPE_CHECKING

from tui.lazy import exports

if TYPE_CHECKING:
    from tui.downloads.fetch import (CheckpointNeeded, delete_model, fetch_model, import_model, manual_instructions,
                                     verify_model)
    from tui.downloads.http import Policy
    from tui.downloads.progress import Progress, ProgressCallback
    from tui.downloads.sources import ensure_source, resolve, tree_state
    from tui.downloads.state import FileState, ModelFiles, model_files_state

__getattr__, __all__ = exports(__name__, {
    "fetch": ("CheckpointNeeded", "delete_model", "fetch_model", "import_model", "manual_instructions", "verify_model"),
    "http": ("Policy",),
    "progress": ("Progress", "ProgressCallback"),
    "sources": ("ensure_source", "resolve", "tree_state"),
    "state": ("FileState", "ModelFiles", "model_files_state"),
})
