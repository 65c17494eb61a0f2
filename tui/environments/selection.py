"""Which environment a model runs in, and its state: the backend, the selected spec or the external
interpreter the config names, the Python a runner gets.

A family runs in its own spec (envs/FAMILY.yml), or in the one the config's `[envs.FAMILY] spec`
names (a variant such as amrcnn-tf215), or in the interpreter `[envs.FAMILY] python` names (an
external environment, see external.py).
"""

from __future__ import annotations

from pathlib import Path

from tui import catalog
from tui import config as config_file
from tui.catalog import Model
from tui.config import Config
from tui.environments import external, specs
from tui.environments.base import Backend, EnvStatus, State
from tui.environments.conda import CondaBackend, find_executable
from tui.environments.embedded import EmbeddedBackend
from tui.environments.uv_backend import UvBackend
from tui.errors import UserError


def backend_for(config: Config, choice: str | None = None, python: Path | None = None) -> Backend:
    """The backend `choice` names (else the config's `backend`); `auto` is the user's conda, mamba or
    micromamba when one is found, else the embedded one. `python`: the interpreter the uv backend builds with."""
    choice = choice or config.backend
    if choice == "embedded":
        return EmbeddedBackend(config)
    if choice == "uv":
        return UvBackend(config, python)
    executable = find_executable(config, None if choice == "auto" else choice)
    if executable is not None:
        return CondaBackend(config, executable, None if choice == "auto" else choice)
    if choice == "auto":
        return EmbeddedBackend(config)
    raise UserError(f"no {choice} executable found (set [environments] executable in the config, "
                    f"or put {choice} on PATH)", hint="or choose --backend embedded")


def load_config(path: Path | None = None) -> Config:
    """The config file (`tui.config.load`) with every `[envs.FAMILY] spec` it names checked against the
    spec files, so no screen or command meets a spec name that is not there: a UserError naming the
    file and line otherwise. The check reads the spec files, which is why it is made here and not in
    tui.config, which the environments build on."""
    config = config_file.load(path)
    for family, choice in config.envs.items():
        if choice.spec:
            try:
                specs.selected(family, config)
            except UserError as exc:
                raise config_file.error_at(config.source, f"envs.{family}", str(exc)) from None
    return config


def family_of(model_or_family: Model | str, config: Config) -> str:
    """The environment family a model (or model name, or family name) runs in."""
    if isinstance(model_or_family, Model):
        return model_or_family.environment or model_or_family.family
    if model_or_family in catalog.FAMILIES or model_or_family in specs.families(config):
        return model_or_family
    return family_of(catalog.get(model_or_family), config)


def status_for(model_or_family: Model | str, config: Config, checked_since: float | None = None) -> EnvStatus | None:
    """The state of the environment a model (or family, or spec) runs in: an external interpreter's
    when the config names one (checked again when its last check is older than `checked_since`,
    a time.time()), else the selected spec's (built_status); None when there is no such spec."""
    family = family_of(model_or_family, config)
    python = config.env_choice_for(family).python
    if python is not None:
        return external.status(family, python, config, checked_since)
    name = specs.selected(family, config)
    if name not in specs.families(config):
        return None
    return built_status(name, config)


def backend_holding(name: str, config: Config) -> Backend:
    """The backend holding spec `name`'s environment: the configured one, or the embedded or the uv one
    where it was built (`env create --backend ...`); a ready environment first, then any that exists;
    the configured backend when none holds it."""
    configured = backend_for(config)
    backends = [configured] + [b for b in (EmbeddedBackend(config), UvBackend(config)) if b.name != configured.name]
    states = [(backend, backend.status(name).state) for backend in backends]
    return next((b for b, state in states if state is State.READY),
                next((b for b, state in states if state is not State.MISSING), configured))


def built_status(name: str, config: Config) -> EnvStatus:
    """A spec's environment's state, from the backend that holds it (backend_holding)."""
    return backend_holding(name, config).status(name)


def python_for(model_or_family: Model | str, config: Config) -> Path | None:
    """The interpreter to run a model's runner with: the external one the config names, or
    `PREFIX/bin/python` of its environment, when that environment is ready; None when it is not
    (or when the family has no environment spec).

    None for `amrcnn`/`fformer` models means "not set up: `fashionfail-tui env create FAMILY`"; for
    facere models (whose environment is optional) it means "use the app's own interpreter".
    """
    return _ready_python(status_for(model_or_family, config))


def note_for(model_or_family: Model | str, config: Config) -> str:
    """The selected spec's `note` (e.g. "not the paper's TensorFlow"); "" for an external interpreter,
    whose make-up the app does not know, and for a family without a spec."""
    family = family_of(model_or_family, config)
    if config.env_choice_for(family).python is not None:
        return ""
    name = specs.selected(family, config)
    return specs.load(name, config).note if name in specs.families(config) else ""


def _ready_python(status: EnvStatus | None) -> Path | None:
    python = status.interpreter if status else None
    return python if status and status.state is State.READY and python.exists() else None


def environment_gap(model: Model, config: Config) -> str | None:
    """What readiness reports when the environment a model needs is not ready; None when it is
    (or when the model needs none)."""
    if not model.environment:
        return None
    status = status_for(model, config)
    if _ready_python(status):
        return None
    if status is None:
        return f"environment '{model.environment}' (no spec)"
    if status.backend == external.BACKEND:
        return f"environment '{status.family}' (external: {status.detail or status.state.value})"
    if status.state is State.READY:
        return f"environment '{status.family}' (ready, but it has no bin/python)"
    return f"environment '{status.family}' ({status.state.value})"
