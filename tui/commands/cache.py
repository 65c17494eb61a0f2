"""`fashionfail-tui cache`: what the cache holds; `cache clean MODEL`: remove a model's files."""

from __future__ import annotations

from dataclasses import asdict

from tui import catalog, paths
from tui.commands import output_console
from tui.errors import UserError
from tui.files import json_text
from tui.text import markup, rich_text, visible
from tui.units import human_size

COMMAND = "cache"
HELP = "list the checkpoints and source trees in the cache (sizes, verification state); clean MODEL removes one"
ORDER = 21

_COLOURS = {"verified": "green", "unverified": "yellow", "external": "cyan", "missing": "dim",
            "partial": "yellow", "downloading": "cyan", "corrupt": "red", "wrong-commit": "red", "broken": "red"}


def add_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", choices=("clean",), help="clean: delete a model's files and partials")
    parser.add_argument("model", nargs="?", metavar="MODEL|all", help="the model to clean")
    parser.add_argument("--json", action="store_true", help="one JSON object (for clean: the removed paths)")


def execute(args) -> int:
    from rich.table import Table

    from tui.downloads import model_files_state
    from tui.environments import load_config

    if args.action == "clean":
        return _clean(args)
    if args.model:
        raise UserError(f"unexpected '{args.model}': did you mean 'cache clean {args.model}'?")
    settings = load_config()
    states = [model_files_state(model, settings) for model in catalog.MODELS]
    sources = {s.source.name: s.source for s in states if s.source}
    if args.json:
        print(json_text({
            "cache_dir": str(paths.cache_dir()),
            "models": [{"model": s.model, "state": s.state, "size": s.size,
                        "files": [{**asdict(f), "path": str(f.path)} for f in s.files]} for s in states],
            "sources": [{**asdict(t), "path": str(t.path)} for t in sources.values()],
        }))
        return 0
    table = Table("model", "file", "size", "state", "sha256", title=f"cache: {markup(paths.cache_dir())}")
    table.columns[1].overflow = "fold"
    for state in states:
        for index, file in enumerate(state.files):
            colour = _COLOURS.get(file.state, "white")
            table.add_row(state.model if index == 0 else "", rich_text(file.name), human_size(file.size) if file.size else "",
                          f"[{colour}]{file.state}[/]", (file.sha256 or "")[:12])
    trees = Table("source tree", "commit", "state", "path")
    for tree in sources.values():
        trees.add_row(rich_text(tree.name), rich_text((tree.head or tree.commit or "")[:12]),
                      f"[{_COLOURS.get(tree.state, 'white')}]{tree.state}[/]", rich_text(tree.path))
    console = output_console()
    console.print(table)
    console.print(trees)
    return 0


def _clean(args) -> int:
    from tui.downloads import delete_model

    if not args.model:
        raise UserError("cache clean needs a model name (or all)")
    models = catalog.MODELS if args.model.strip().lower() == "all" else (catalog.get(args.model),)
    removed = [str(path) for model in models for path in delete_model(model)]
    if args.json:
        print(json_text({"removed": removed}))
    elif removed:
        print("\n".join(visible(f"removed {path}") for path in removed))
    else:
        print("nothing to remove")
    return 0
