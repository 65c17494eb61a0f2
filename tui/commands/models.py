"""`fashionfail-tui models`: the catalog and what each model still needs."""

from __future__ import annotations



from tui import catalog
from tui.commands import output_console
from tui.files import json_text
from tui.text import markup, rich_text

COMMAND = "models"
HELP = "list the six models and whether each is ready to run"
ORDER = 10


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object with a `models` list")


def execute(args) -> int:
    from rich.table import Table

    from tui.environments import load_config
    from tui.setup.readiness import readiness

    settings = load_config()
    rows = []
    for model in catalog.MODELS:
        state = readiness(model, settings)
        rows.append({
            "name": model.name, "aliases": list(model.aliases), "family": model.family,
            "backbone": model.backbone, "environment": model.environment,
            "ready": state.ready, "missing": list(state.missing),
        })
    if args.json:
        print(json_text({"models": rows}))
        return 0
    table = Table("model", "family", "backbone", "environment", "state")
    for row in rows:
        state = "[green]ready[/]" if row["ready"] else "[yellow]missing: " + markup("; ".join(row["missing"])) + "[/]"
        table.add_row(row["name"], row["family"], row["backbone"], rich_text(row["environment"] or "(app's own)"), state)
    output_console().print(table)
    return 0
