"""`fashionfail-tui inspect FILE`: what a prediction file holds, without opening the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.commands import output_console
from tui.units import counted

if TYPE_CHECKING:
    from tui.predictions import PredictionSet
from tui.files import json_text
from tui.text import markup, rich_text

COMMAND = "inspect"
HELP = "summarize a prediction file: family, images, detections, categories, scores"
ORDER = 60
_LISTED_EMPTY = 10


def add_arguments(parser) -> None:
    from tui.predictions.formats import FAMILY_CHOICES

    parser.add_argument("file", help="a .npz or .npy prediction file of any family")
    parser.add_argument("--family", metavar="FAMILY",
                        help=f"read the file with this family's conventions instead of detecting them ({', '.join(FAMILY_CHOICES)})")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object: family, images, detections, per_category, score_quantiles, ...")


def load_with_progress(file, family: str | None, quiet: bool = False) -> PredictionSet:
    """load_predictions with a transient progress bar on a terminal (a first open of a large file takes seconds)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    from tui.predictions import load_predictions

    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        return load_predictions(file, family=family)
    with Progress(TextColumn("{task.description}"), BarColumn(), console=console, transient=True) as progress:
        task = progress.add_task("reading", total=1.0)
        return load_predictions(file, family=family,
                                on_progress=lambda fraction, stage: progress.update(task, completed=fraction, description=stage))


def execute(args) -> int:
    from rich.table import Table

    summary = load_with_progress(args.file, args.family, quiet=args.json).summary()
    if args.json:
        print(json_text(summary))
        return 0
    console = output_console()
    model = f" ({markup(summary['model'])})" if summary["model"] else ""
    console.print(f"[bold]{markup(summary['file'])}[/]")
    console.print(f"family {summary['family']}{model}, detected from {markup(summary['detected_from'])}; "
                  f"boxes {markup(summary['box_format'])}, classes {markup(summary['class_ids'])}")
    console.print(f"{counted(summary['images'], 'image')}, {counted(summary['detections'], 'detection')}, "
                  f"{counted(summary['masks'], 'mask')}")
    if summary["score_quantiles"]:
        console.print("scores: " + ", ".join(f"{name} {value:.3f}" for name, value in summary["score_quantiles"].items()))
    empty = summary["images_without_detections"]
    if empty:
        shown = ", ".join(map(markup, empty[:_LISTED_EMPTY])) + (f" and {len(empty) - _LISTED_EMPTY} more" if len(empty) > _LISTED_EMPTY else "")
        console.print(f"{counted(len(empty), 'image')} without detections: {shown}")
    if summary["per_category"]:
        table = Table("category", "detections")
        for name, count in summary["per_category"].items():
            table.add_row(rich_text(name), f"{count:,}")
        console.print(table)
    return 0
