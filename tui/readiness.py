"""Is a model ready to run, and if not, what is missing? Read by the home screen and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from tui import paths
from tui.catalog import Model
from tui.config import Config
from tui.environments import environment_gap


@dataclass(frozen=True)
class Readiness:
    model: str
    missing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing

    def summary(self) -> str:
        return "ready" if self.ready else "missing: " + "; ".join(self.missing)


def checkpoint_file(model: Model, config: Config):
    """The weights file the runner is given: the config's local `file`, else the cache's."""
    override = config.override_for(model.name).file
    return override if override else paths.checkpoints_dir() / model.checkpoint_relpath


def readiness(model: Model, config: Config) -> Readiness:
    missing = []
    checkpoint = checkpoint_file(model, config)
    probe = checkpoint.with_name(checkpoint.name + ".index") if model.weights.kind == "tar" else checkpoint
    if not probe.exists():
        missing.append(f"checkpoint ({model.weights.filename})")
    environment = environment_gap(model, config)
    if environment:
        missing.append(environment)
    if model.source and not (paths.sources_dir() / model.source.name / ".git").exists():
        missing.append(f"source tree '{model.source.name}'")
    return Readiness(model.name, tuple(missing))
