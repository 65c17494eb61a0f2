"""`fashionfail-tui env list|create|update|remove|verify [FAMILY]`: the model environments, and
`env use FAMILY PYTHON|SPEC`: what a model family runs in (an interpreter you already have, or a
variant spec such as amrcnn-tf215), written to the config's `[envs.FAMILY]`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tui import catalog, config
from tui.commands import emit_event, output_console
from tui.config import EnvChoice
from tui.environments import EnvStatus, Event, State, external, specs
from tui.errors import UserError
from tui.files import json_text
from tui.text import markup, rich_text, visible

COMMAND = "env"
HELP = "list, create, update, remove or verify the conda environments the models run in, or choose one (use)"
ORDER = 30
ACTIONS = ("list", "create", "update", "remove", "verify", "use")
STATE_STYLE = {State.READY: "green", State.MISSING: "yellow", State.OUT_OF_DATE: "yellow", State.BROKEN: "red"}


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="what to do")
    parser.add_argument("family", nargs="?", help="amrcnn, fformer, facere or one in [environments] specs (all of them for list)")
    parser.add_argument("target", nargs="?", metavar="PYTHON|SPEC",
                        help="use only: an interpreter of an environment you already have (run after a check), "
                             "or an environment spec of the family (amrcnn-tf215; the family's own name goes back to it)")
    parser.add_argument("--backend", choices=("embedded", "conda", "mamba", "micromamba"),
                        help="build with this backend instead of the config's (default: your conda if found, else embedded)")
    parser.add_argument("--json", action="store_true", help="JSON lines: step, line and progress events, then the result")


def execute(args) -> int:
    from tui.environments import backend_for, load_config

    settings = load_config()
    if args.target is not None and args.action != "use":
        raise UserError(f"env {args.action} takes one FAMILY, not also {args.target!r}")
    if args.action == "use":
        return _use(args, settings)
    backend = backend_for(settings, args.backend)
    if args.action == "list":
        rows = _rows(backend, settings, args.family)
        if args.json:
            print(json_text({"backend": backend.name,
                             "environments": [{**s.to_json(), "runs": runs, "optional": bool(runs) and _optional(runs)}
                                              for s, runs in rows]}))
        else:
            _print_table(rows)
        return 0
    if not args.family:
        raise UserError(f"env {args.action} needs a FAMILY (one of: {', '.join(specs.families(settings)) or 'none'})")
    status = getattr(backend, args.action)(args.family, _json_event if args.json else _text_event)
    if args.json:
        emit_event({"event": "done", **status.to_json()})
    else:
        print(visible(f"{status.family} ({status.backend}): {status.state.value}" + (f" at {status.prefix}" if status.prefix else "")))
    wanted = State.MISSING if args.action == "remove" else State.READY
    return 0 if status.state is wanted else 1


def _rows(backend, settings, only: str | None) -> list[tuple[EnvStatus, str | None]]:
    """Every spec's environment from `backend`, then each external one; beside each, the model family
    that runs in it (None for one no family uses now)."""
    from tui.environments import status_for

    if only and only not in specs.families(settings):
        specs.load(only, settings)  # UserError naming the known environments
    users = {}
    for family in catalog.FAMILIES:
        if family in specs.families(settings) and settings.env_choice_for(family).python is None:
            users[specs.selected(family, settings)] = family
    rows = [(status, users.get(status.family)) for status in backend.list()]
    rows += [(status_for(family, settings), family) for family in catalog.FAMILIES
             if settings.env_choice_for(family).python is not None]
    return [(status, runs) for status, runs in rows if not only or only in (status.family, runs)]


def _print_table(rows: list[tuple[EnvStatus, str | None]]) -> None:
    from rich.table import Table

    table = Table("environment", "conda name", "backend", "state", "runs")
    table.add_column("prefix", overflow="fold")  # a path to copy: wrapped, never cut short
    for status, runs in rows:
        state = f"[{STATE_STYLE[status.state]}]{status.state.value}[/]" + (f" ({markup(status.detail)})" if status.detail else "")
        if status.backend == external.BACKEND:
            state = f"external: {state}"
        used = f"{markup(runs)} models" if runs else "-"
        if runs and status.state is not State.READY and _optional(runs):
            state += " (optional)"
            used = f"{markup(runs)} models: the app's own interpreter until this is built"
        if status.note:
            used += f" [magenta]({markup(status.note)})[/]"
        where = status.python if status.backend == external.BACKEND else status.prefix
        table.add_row(rich_text(status.family), rich_text("-" if status.backend == external.BACKEND else status.name),
                      status.backend, state, used, markup(str(where or "")))
    output_console().print(table)


def _optional(family: str) -> bool:
    """Whether the family's models can do without their environment (facere: the app's own interpreter)."""
    return all(model.environment is None for model in catalog.family_models(family))


def _use(args, settings) -> int:
    """Point a family at a spec or an interpreter; an interpreter is checked first, and the config is
    only written when the check passes."""
    from tui.environments import load_config, status_for

    family, target = args.family, args.target
    if family not in catalog.FAMILIES or family not in specs.families(settings):
        known = [f for f in catalog.FAMILIES if f in specs.families(settings)]
        raise UserError(f"env use needs a model family ({', '.join(known)}), not {family!r}" if family else
                        f"env use needs a FAMILY ({', '.join(known)}) and a PYTHON or SPEC")
    if not target:
        raise UserError(f"env use {family} needs a PYTHON (an interpreter's path) or a SPEC "
                        f"({', '.join(specs.variants(family, settings))})")
    if target in specs.variants(family, settings):
        choice = EnvChoice(spec=None if target == family else target)
        written = config.write_env_choice(family, choice)
        status = status_for(family, load_config())
        _report_use(args, family, status, written)
        return 0
    python = _interpreter_path(family, target, settings)
    status = external.check(family, python, settings)
    if status.state is not State.READY:
        problem = status.detail if status.detail.startswith(str(python)) else \
            f"{python} cannot run the {family} models: {status.detail}"
        raise UserError(f"{problem}; the config is unchanged")
    written = config.write_env_choice(family, EnvChoice(spec=settings.env_choice_for(family).spec, python=python))
    _report_use(args, family, status, written)
    return 0


def _interpreter_path(family: str, target: str, settings) -> Path:
    """`target` as an absolute path (not resolved: a venv's bin/python is a symlink out of the venv);
    a bare name that is no file here is looked up on PATH."""
    path = Path(target).expanduser()
    if os.sep not in target and not path.exists():
        found = shutil.which(target)
        if found is None:
            raise UserError(f"{target!r} is neither an environment of {family} "
                            f"({', '.join(specs.variants(family, settings))}) nor a Python interpreter on PATH")
        path = Path(found)
    return Path(os.path.abspath(path))


def _report_use(args, family: str, status: EnvStatus | None, written: Path) -> None:
    if args.json:
        emit_event({"event": "done", "runs": family, "config": str(written), **(status.to_json() if status else {})})
        return
    if status is None:
        print(visible(f"{family} models: no environment spec (config: {written})"))
        return
    where = f"{status.python}, external" if status.backend == external.BACKEND else f"{status.family}, {status.backend}"
    print(visible(f"{family} models now run in {where}: {status.state.value} (config: {written})"))
    if status.note:
        print(visible(f"note: {status.note}"))
    if status.backend != external.BACKEND and status.state is not State.READY:
        verb = "create" if status.state is State.MISSING else "update"
        print(visible(f"build it with: fashionfail-tui env {verb} {status.family}"))


def _json_event(event: Event) -> None:
    kind = "step" if event.started else "line" if event.line is not None else "progress"
    record = {"event": kind, "step": event.step,
              "index": event.index, "total": event.total}
    record.update({"line": event.line} if event.line is not None else {"fraction": event.fraction})
    emit_event(record)


def _text_event(event: Event) -> None:
    """Step headings and every output line; progress fractions stay off a plain text stream."""
    if event.line is not None:
        print(f"  {visible(event.line)}", flush=True)
    elif event.started:
        print(visible(f"[{event.index + 1}/{event.total}] {event.step}"), flush=True)
