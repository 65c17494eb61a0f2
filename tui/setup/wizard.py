"""The setup wizard's state and arithmetic, without Textual: which step it is on, what was chosen,
what is already done (kept in `data_dir()/wizard.json`, so closing midway and reopening resumes),
and how much disk the chosen models need against what is free."""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tui import catalog, outside_json, paths
from tui.catalog import Model
from tui.config import Config
from tui.downloads import fetch_model
from tui.environments import specs
from tui.environments.base import Backend, Event, State
from tui.files import json_text, write_atomically
from tui.units import human_size

STEPS = ("backend", "models", "disk", "environments", "checkpoints", "check")
STEP_TITLES = {"backend": "Backend", "models": "Models", "disk": "Disk space", "environments": "Environments",
               "checkpoints": "Checkpoints", "check": "Final check"}


@dataclass
class WizardState:
    step: str = "backend"
    backend: str = "auto"
    models: list[str] = field(default_factory=list)
    environments_done: list[str] = field(default_factory=list)
    """Families built by this wizard run, skipped when it resumes."""
    fetched: list[str] = field(default_factory=list)
    """Models whose checkpoints this wizard run fetched."""

    def families(self, config: Config) -> list[str]:
        """The environments the chosen models need, catalog order."""
        return environments_for([catalog.get(name) for name in self.models], config)


def failed_steps(state: WizardState, config: Config) -> list[str]:
    """The task steps that did not finish everything chosen, each with what is left, as
    "Checkpoints (amrcnn-spine)"; empty when every task ran to its end."""
    left = {"environments": [f for f in state.families(config) if f not in state.environments_done],
            "checkpoints": [m for m in state.models if m not in state.fetched]}
    return [f"{STEP_TITLES[step]} ({', '.join(names)})" for step, names in left.items() if names]


def environments_for(models: list[Model], config: Config) -> list[str]:
    """The environment specs `models` run in, catalog order: the one the config selects for each
    family (a variant, or the family's own); none for a family the config points at an external
    interpreter, which the wizard neither builds nor counts."""
    wanted = {m.environment for m in models if m.environment}
    return [specs.selected(f, config) for f in catalog.FAMILIES
            if f in wanted and config.env_choice_for(f).python is None]


def state_file() -> Path:
    return paths.data_dir() / "wizard.json"


def load_state() -> WizardState:
    """The saved state; a fresh one when there is none or it cannot be read (it holds no user data)."""
    try:
        data = outside_json.read_object(state_file())
        state = WizardState(**{k: v for k, v in data.items() if k in WizardState.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return WizardState()
    return state if state.step in STEPS + ("done",) else WizardState()


def save_state(state: WizardState) -> None:
    state_file().parent.mkdir(parents=True, exist_ok=True)
    write_atomically(state_file(), json_text(asdict(state), indent=1))


@dataclass(frozen=True)
class DiskNeed:
    what: str
    folder: Path
    needed: int
    """Bytes the chosen models need there (known sizes only)."""
    free: int
    unknown: tuple[str, ...] = ()
    """What is needed there whose size is not known."""

    @property
    def enough(self) -> bool:
        return self.free >= self.needed


def free_bytes(folder: Path) -> int:
    """Free space on the disk that holds `folder` (or would, for a folder not made yet)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return shutil.disk_usage(candidate).free
    return 0


def disk_needs(models: list[Model], backend_name: str, config: Config) -> list[DiskNeed]:
    """Checkpoints in the cache dir; environments in the data dir when the embedded backend builds them."""
    sized = [m.weights for m in models if m.weights.size]
    needs = [DiskNeed("checkpoints", paths.cache_dir(), sum(a.size for a in sized), free_bytes(paths.cache_dir()),
                      tuple(m.weights.filename for m in models if not m.weights.size))]
    env_bytes = sum(specs.load(f, config).size_mb * 1_000_000 for f in environments_for(models, config)
                    if f in specs.families(config))
    if backend_name == "embedded":
        needs.append(DiskNeed("environments", paths.data_dir(), env_bytes, free_bytes(paths.data_dir())))
    else:
        needs.append(DiskNeed(f"logs ({backend_name} keeps the environments, about {human_size(env_bytes)})",
                              paths.data_dir(), 0, free_bytes(paths.data_dir())))
    return needs


def build_environment(backend: Backend, family: str, on_line, on_step, on_fraction) -> None:
    """Create the environment unless it is ready already; lines, step titles and the overall
    fraction (steps done plus the current one's part) go to the callbacks."""
    def on_event(event: Event) -> None:
        if event.line is not None:
            on_line(event.line)
            return
        if event.started:
            on_step(f"{event.step} ({event.index + 1}/{event.total})")
        on_fraction((event.index + (event.fraction or 0.0)) / max(event.total, 1))

    if backend.status(family).state is State.READY:
        on_line(f"{family}: already ready ({backend.name})")
        return
    backend.create(family, on_event)


def fetch_checkpoint(model: Model, config: Config, on_line, on_fraction) -> None:
    """The wizard's one call into the download manager: the model's checkpoint and source tree.
    UserError (one line) when it cannot, e.g. a model whose weights must be downloaded by hand."""
    seen = set()

    def on_progress(progress) -> None:
        if progress.fraction is not None:
            on_fraction(progress.fraction)
        if progress.message:  # says what happens in words (a retry, a wait): the stage's name would not add to it
            on_line(f"{progress.name}: {progress.message}")
        elif (progress.stage, progress.name) not in seen:
            seen.add((progress.stage, progress.name))
            on_line(f"{progress.stage} {progress.name}")

    on_line(f"fetching {model.name}")
    fetch_model(model, config, on_progress)
