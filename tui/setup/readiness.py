"""Is a model ready to run, and if not, what is missing? Read by the `models` command, the Run screen
and `diagnose` (which adds the fixes for `doctor`, the home screen and the setup wizard)."""

from __future__ import annotations

from dataclasses import dataclass

from tui.catalog import Model
from tui.config import Config
from tui.downloads.state import model_files_state
from tui.environments import environment_gap

__all__ = ["Readiness", "readiness"]


@dataclass(frozen=True)
class Readiness:
    model: str
    missing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing


_CHECKPOINT_PROBLEMS = {
    "missing": "", "partial": ", partly downloaded", "downloading": ", downloading",
    "corrupt": ", corrupt: delete and fetch again",
}
_SOURCE_PROBLEMS = {"missing": "", "wrong-commit": " at the wrong commit", "broken": " broken"}


def readiness(model: Model, config: Config) -> Readiness:
    cache = model_files_state(model, config)
    missing = []
    if not cache.usable:
        named = config.override_for(model.name).file or model.weights.filename  # the config's file, when it names one
        missing.append(f"checkpoint ({named}{_CHECKPOINT_PROBLEMS.get(cache.state, '')})")
    environment = environment_gap(model, config)
    if environment:
        missing.append(environment)
    if cache.source and cache.source.state != "verified":
        missing.append(f"source tree '{cache.source.name}'{_SOURCE_PROBLEMS.get(cache.source.state, '')}")
    return Readiness(model.name, tuple(missing))
