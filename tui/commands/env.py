"""`fashionfail-tui env list|create|update|remove|verify [FAMILY]`: the model environments."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from tui import config
from tui.commands import emit_event
from tui.environments import Event, State, backend_for, specs
from tui.errors import UserError

COMMAND = "env"
HELP = "list, create, update, remove or verify the conda environments the models run in"
ORDER = 30
ACTIONS = ("list", "create", "update", "remove", "verify")
STATE_STYLE = {State.READY: "green", State.MISSING: "yellow", State.OUT_OF_DATE: "yellow", State.BROKEN: "red"}


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="what to do")
    parser.add_argument("family", nargs="?", help="amrcnn, fformer, facere or one in [environments] specs (all of them for list)")
    parser.add_argument("--backend", choices=("embedded", "conda", "mamba", "micromamba"),
                        help="build with this backend instead of the config's (default: your conda if found, else embedded)")
    parser.add_argument("--json", action="store_true", help="JSON lines: step, line and progress events, then the result")


def execute(args) -> int:
    settings = config.load()
    backend = backend_for(settings, args.backend)
    if args.action == "list":
        statuses = [backend.status(args.family)] if args.family else backend.list()
        if args.json:
            print(json.dumps({"backend": backend.name, "environments": [s.to_json() for s in statuses]}))
        else:
            _print_table(statuses)
        return 0
    if not args.family:
        raise UserError(f"env {args.action} needs a FAMILY (one of: {', '.join(specs.families(settings)) or 'none'})")
    status = getattr(backend, args.action)(args.family, _json_event if args.json else _text_event)
    if args.json:
        emit_event({"event": "done", **status.to_json()})
    else:
        print(f"{status.family} ({status.backend}): {status.state.value}" + (f" at {status.prefix}" if status.prefix else ""))
    wanted = State.MISSING if args.action == "remove" else State.READY
    return 0 if status.state is wanted else 1


def _print_table(statuses) -> None:
    table = Table("environment", "conda name", "backend", "state")
    table.add_column("prefix", overflow="fold")  # a path to copy: wrapped, never cut short
    for status in statuses:
        state = f"[{STATE_STYLE[status.state]}]{status.state.value}[/]" + (f" ({status.detail})" if status.detail else "")
        table.add_row(status.family, status.name, status.backend, state, str(status.prefix or ""))
    Console().print(table)


def _json_event(event: Event) -> None:
    kind = "step" if event.started else "line" if event.line is not None else "progress"
    record = {"event": kind, "step": event.step,
              "index": event.index, "total": event.total}
    record.update({"line": event.line} if event.line is not None else {"fraction": event.fraction})
    emit_event(record)


def _text_event(event: Event) -> None:
    """Step headings and every output line; progress fractions stay off a plain text stream."""
    if event.line is not None:
        print(f"  {event.line}", flush=True)
    elif event.started:
        print(f"[{event.index + 1}/{event.total}] {event.step}", flush=True)
