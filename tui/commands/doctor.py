"""`fashionfail-tui doctor [MODEL ...]`: per model, what is ready, what is missing, and the command
that fixes each gap; a note when its environment is not the paper's (a variant spec). External
environments are checked again. Exit status 0 only when every model asked about is ready."""

from __future__ import annotations

import time


from tui import catalog
from tui.commands import output_console
from tui.files import json_text
from tui.text import markup

COMMAND = "doctor"
HELP = "check what each model still needs, and say the command that fixes each gap"
ORDER = 35


def add_arguments(parser) -> None:
    parser.add_argument("models", nargs="*", metavar="MODEL", help="models to check (default: all six)")
    parser.add_argument("--json", action="store_true", help="one JSON object with a `models` list")


def execute(args) -> int:
    from tui.environments import load_config
    from tui.setup.diagnosis import diagnose

    settings = load_config()
    models = [catalog.get(name) for name in args.models] if args.models else list(catalog.MODELS)
    started = time.time()  # external environments are checked again, each once
    diagnoses = [diagnose(model, settings, checked_since=started) for model in models]
    if args.json:
        print(json_text({"ready": all(d.ready for d in diagnoses), "models": [d.to_json() for d in diagnoses]}))
    else:
        console = output_console(highlight=False)
        for diagnosis in diagnoses:
            mark = "[green]ready[/]" if diagnosis.ready else "[yellow]not ready[/]"
            console.print(f"[bold]{diagnosis.model}[/]: {mark}, runs in {markup(diagnosis.environment)}", soft_wrap=True)
            if diagnosis.note:
                console.print(f"  [magenta]note: {markup(diagnosis.note)}[/]", soft_wrap=True)
            for gap in diagnosis.gaps:  # a fix may name a config table, [models.facere]: text, not markup
                console.print(f"  missing {markup(gap.what)}\n    fix: [cyan]{markup(gap.fix)}[/]", soft_wrap=True)
    return 0 if all(d.ready for d in diagnoses) else 1
