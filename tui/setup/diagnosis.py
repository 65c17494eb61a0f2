"""What a model still needs, each gap with the command that fixes it (`doctor`, the setup wizard)."""

from __future__ import annotations

from dataclasses import dataclass

from tui.catalog import Model
from tui.config import Config
from tui.environments import EnvStatus, State, environment_gap, external, family_of, status_for
from tui.setup.readiness import readiness


@dataclass(frozen=True)
class Gap:
    what: str
    fix: str


@dataclass(frozen=True)
class Diagnosis:
    model: str
    environment: str
    """Where the runner's interpreter comes from, in words."""
    gaps: tuple[Gap, ...]
    note: str = ""
    """How that environment departs from the paper's (a variant spec's `note`)."""

    @property
    def ready(self) -> bool:
        return not self.gaps

    def to_json(self) -> dict:
        return {"name": self.model, "ready": self.ready, "environment": self.environment, "note": self.note,
                "gaps": [{"what": g.what, "fix": g.fix} for g in self.gaps]}


def diagnose(model: Model, settings: Config, checked_since: float | None = None) -> Diagnosis:
    """`checked_since` (a time.time()): check an external environment again unless it was checked
    since then, rather than trust its last check (doctor)."""
    status = status_for(model, settings, checked_since)
    env_gap = environment_gap(model, settings)
    gaps = [Gap(env_gap, _environment_fix(model, status))] if env_gap else []
    for item in readiness(model, settings).missing:
        if item != env_gap:
            gaps.append(Gap(item, _checkpoint_fix(model, settings) if item.startswith("checkpoint")
                            else f"fashionfail-tui fetch {model.name}"))
    used = status and (model.environment or status.state is State.READY)
    return Diagnosis(model.name, _interpreter(model, status, settings), tuple(gaps), status.note if used else "")


def offline_note(diagnoses: list[Diagnosis]) -> str | None:
    """The final check's last line when a checkpoint is missing: how it gets in without the network."""
    from tui.downloads.fetch import offline_route

    if any(gap.what.startswith("checkpoint") for diagnosis in diagnoses for gap in diagnosis.gaps):
        route = offline_route()
        return f"Offline? {route[0].upper()}{route[1:]}."
    return None


def _environment_fix(model: Model, status: EnvStatus | None) -> str:
    if status and status.backend == external.BACKEND:
        if status.state is State.MISSING:
            return (f"fashionfail-tui env use {status.family} PYTHON "
                    f"(or correct [envs.{status.family}] python in the config)")
        return (f"install what is missing into that environment, then check it again: "
                f"fashionfail-tui env use {status.family} {status.python}")
    verb = "create" if status is None or status.state in (State.MISSING, State.READY) else "update"
    return f"fashionfail-tui env {verb} {status.family if status else model.environment}"


def _checkpoint_fix(model: Model, settings: Config) -> str:
    if settings.override_for(model.name).file is not None:  # fetching would not help: the config names the file
        return f"put the file there or fix [models.{model.name}] file in {settings.source}"
    if model.weights.kind == "manual":
        return f"fashionfail-tui fetch {model.name} --from PATH/{model.weights.filename} (from {model.weights.manual_from})"
    return f"fashionfail-tui fetch {model.name}"


def _interpreter(model: Model, status: EnvStatus | None, settings: Config) -> str:
    if status and status.backend == external.BACKEND and (model.environment or status.state is State.READY):
        return f"{status.family} (external: {status.state.value}, {status.python})"
    if model.environment:
        return f"{status.family} ({status.backend}: {status.state.value})" if status else model.environment
    if status and status.state is State.READY:
        return f"{family_of(model, settings)} (optional, {status.backend}: ready)"
    return "the app's own interpreter"
