"""Conda environments for the model families: states, building, checking, and which interpreter
a runner gets. No Textual here: the CLI (`env`, `doctor`) and the setup wizard drive it.

    backend_for(config, choice=None)     the embedded backend or the user's conda/mamba/micromamba
    status_for(model_or_family, config)  an environment's state (missing, ready, broken, out of date)
    python_for(model_or_family, config)  the interpreter a runner should use, or None
    note_for(model_or_family, config)    how that environment departs from the paper's ("" when it does not)

    load_config(path=None)               the config, its [envs] spec names checked against the spec files

The logic lives in the modules: selection.py (the functions above), base.py (states, events, the
backend interface), conda.py and embedded.py (the backends), external.py (an interpreter the config
names), specs.py (the spec files), operation.py and process.py (running the steps).
"""

from typing import TYPE_CHECKING

from tui.lazy import exports

if TYPE_CHECKING:
    from tui.environments.base import Backend, EnvStatus, Event, Reporter, State
    from tui.environments.selection import (backend_for, environment_gap, family_of, load_config, note_for,
                                            python_for, status_for)

__getattr__, __all__ = exports(__name__, {
    "base": ("Backend", "EnvStatus", "Event", "Reporter", "State"),
    "selection": ("backend_for", "environment_gap", "family_of", "load_config", "note_for", "python_for", "status_for"),
})
