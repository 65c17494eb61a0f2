"""`fashionfail-tui fetch MODEL|all`: download, verify (and unpack) checkpoints, clone source trees."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tui import catalog
from tui.commands import emit_event
from tui.errors import UserError
from tui.text import visible
from tui.units import counted

if TYPE_CHECKING:
    from tui.downloads.progress import Progress

COMMAND = "fetch"
HELP = "download and verify a model's checkpoint (and source tree) into the cache"
ORDER = 20


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL|all", help=f"one of {', '.join(catalog.names())}, or all")
    parser.add_argument("--from", dest="source_file", type=Path, metavar="FILE",
                        help="import a file you downloaded by hand (the FashionFormer .pth files, a tarball, or a Facere .onnx)")
    parser.add_argument("--json", action="store_true",
                        help="JSON events on stdout, one per line: progress ..., then done (with the path), "
                             "incomplete (a checkpoint to import by hand is still needed) or error")


class _Reporter:
    """Progress to stdout as JSON events, or to stderr as one line that updates in place."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.live = sys.stderr.isatty()
        self.model = ""
        self.last_step: tuple = ()

    def progress(self, event: Progress) -> None:
        from tui.downloads.progress import describe

        if self.as_json:
            emit_event({**event.as_event(), "model": self.model})
        elif self.live:
            print(f"\r\033[K{visible(describe(event))}", end="", file=sys.stderr, flush=True)
        elif event.total is None or event.done == event.total:
            step = (event.stage, event.name, event.done, event.message)  # not a terminal: each step once
            if step != self.last_step:
                print(visible(describe(event)), file=sys.stderr, flush=True)
            self.last_step = step

    def finished(self, event: str, **fields) -> None:
        if self.live and not self.as_json:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
        if self.as_json:
            emit_event({"event": event, "model": self.model, **fields})
        elif event == "done":
            print(visible(f"{self.model}: {fields['path']}"), flush=True)
        else:
            print(visible(f"{self.model}: {fields['message']}"), file=sys.stderr, flush=True)


def execute(args) -> int:
    """Exit status 0 when every model is fetched; 1 when all that is left is a checkpoint to import
    by hand (the rest, e.g. its source tree, is fetched); 2 when anything failed."""
    from tui.downloads import CheckpointNeeded, fetch_model
    from tui.environments import load_config

    models = catalog.MODELS if args.model.strip().lower() == "all" else (catalog.get(args.model),)
    if args.source_file and len(models) > 1:
        raise UserError("--from imports one file: name the model it belongs to, not all")
    settings = load_config()
    reporter = _Reporter(args.json)
    failures, needing = [], []
    for model in models:
        reporter.model = model.name
        try:
            path = fetch_model(model, settings, reporter.progress, source_file=args.source_file)
        except CheckpointNeeded as exc:
            needing.append(model.name)
            reporter.finished("incomplete", message=exc.for_command_line)
            continue
        except UserError as exc:
            if len(models) == 1:
                raise
            failures.append(model.name)
            reporter.finished("error", message=exc.for_command_line)
            continue
        reporter.finished("done", path=str(path))
    left = f"{len(needing)} of {counted(len(models), 'model')} still need a checkpoint imported by hand: {', '.join(needing)}"
    if failures:
        raise UserError(f"{len(failures)} of {counted(len(models), 'model')} not fetched: {', '.join(failures)}"
                        + (f"; {left}" if needing else "") + " (see above)")
    if needing and len(models) > 1:
        if args.json:
            emit_event({"event": "incomplete", "message": f"{left} (see above)"})
        else:
            print(f"{left} (see above)", file=sys.stderr)
    return 1 if needing else 0
