"""`fashionfail-tui failures`: the objects models miss and the images where they see things, across models."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

from typing import TYPE_CHECKING

from tui.catalog import category_name
from tui.commands import output_console
from tui.commands.options import add_annotation_options, add_family_option, annotations_path
from tui.errors import UserError
from tui.files import json_text
from tui.text import markup, rich_text
from tui.units import counted

if TYPE_CHECKING:
    from rich.table import Table

    from tui.evaluation.failures import AnnotatedObject, FailureCases

COMMAND = "failures"
HELP = "failure cases across models: objects all miss, objects some miss, images with the most false positives"
ORDER = 61


def add_arguments(parser) -> None:
    from tui.evaluation import IOU_TYPES
    from tui.evaluation.failures import DEFAULT_MIN_SCORE
    from tui.evaluation.scoring import MATCHING_IOU

    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="prediction files (.npz / .npy), one per model")
    add_annotation_options(parser)
    parser.add_argument("--iou", choices=IOU_TYPES, default="bbox",
                        help=f"match boxes (bbox, default) or masks (segm), at IoU {MATCHING_IOU}")
    parser.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE, metavar="X",
                        help=f"only detections scoring at least X count, as finds and as false positives "
                        f"(default {DEFAULT_MIN_SCORE}; 0 counts every detection, as eval does)")
    add_family_option(parser)
    parser.add_argument("--top", type=int, default=10, metavar="N",
                        help="images with the most false positives listed per model, and rows per list in the "
                        "text output (default 10; --json lists every object)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object: missed_by_all, disagreements, false_positives, per_category, models")


def _objects_table(title: str, objects: list[AnnotatedObject], top: int, with_models: bool) -> Table:
    from rich.table import Table

    table = Table("image", "category", "box x, y, w, h", title=title, title_justify="left")
    if with_models:
        table.add_column("found by")
        table.add_column("missed by")
    for obj in objects[:top]:
        cells = [rich_text(obj.image), rich_text(obj.category), ", ".join(f"{v:g}" for v in obj.bbox)]
        if with_models:
            cells += [rich_text(", ".join(obj.found_by)), rich_text(", ".join(obj.missed_by))]
        table.add_row(*cells)
    if len(objects) > top:
        table.caption = f"... and {len(objects) - top} more (--top N shows more, --json lists all)"
    return table


def _false_positives_table(cases: FailureCases, top: int) -> Table:
    from rich.table import Table

    table = Table("model", "image", "false positives", "of which", title=f"Most false positives per model (top {top})",
                  title_justify="left")
    for label, images in cases.false_positives.items():
        for image in images[:top]:
            table.add_row(rich_text(label), rich_text(image.image), str(image.count), rich_text(image.kinds()))
        if not images:
            table.add_row(rich_text(label), "–", "0", "")
    return table


def _category_table(cases: FailureCases) -> Table:
    from rich.table import Table

    table = Table("id", "category", "objects", "missed by all", "some miss",
                  title="Per category; per model: objects found · false positives", title_justify="left")
    for label in cases.labels:
        table.add_column(rich_text(label), justify="center")
    for category_id, counts in cases.per_category().items():
        table.add_row(str(category_id), rich_text(category_name(category_id)), str(counts["objects"]), str(counts["missed_by_all"]),
                      str(counts["disagreements"]),
                      *(f"{counts['found'][m]} · {counts['false_positives'][m]}" for m in cases.labels))
    return table


def _print(cases: FailureCases, top: int) -> None:
    from tui.evaluation.scoring import MATCHING_IOU

    out = output_console()
    kind = "boxes" if cases.iou_type == "bbox" else "masks"
    out.print(f"{markup(cases.truth.path.name)}: {counted(len(cases.objects), 'object')}; {kind} matched at IoU {MATCHING_IOU}, "
              f"detections scoring >= {cases.min_score:g}; models: {markup(', '.join(cases.labels))}", highlight=False)
    for coverage in cases.coverage:
        if coverage.images_not_predicted:
            out.print(f"[yellow]{markup(coverage.label)}: {len(coverage.images_not_predicted)} annotated image(s) have no "
                      "predictions; their objects count as missed[/]", highlight=False)
    out.print(_objects_table(f"Missed by every model ({len(cases.missed_by_all)})", cases.missed_by_all, top, False))
    if len(cases.models) > 1:
        out.print(_objects_table(f"Found by some models, missed by others ({len(cases.disagreements)})",
                                 cases.disagreements, top, True))
    out.print(_false_positives_table(cases, top))
    out.print(_category_table(cases))


def execute(args) -> int:
    from rich.console import Console

    from tui.evaluation.evaluator import Evaluator
    from tui.evaluation.failures import find_failures, load_models

    if not 0.0 <= args.min_score <= 1.0:
        raise UserError(f"--min-score must be between 0 and 1, not {args.min_score}")
    if args.top < 1:
        raise UserError(f"--top must be at least 1, not {args.top}")
    evaluator = Evaluator(annotations_path(args))
    interactive = not args.json and sys.stderr.isatty()
    with Console(stderr=True).status("reading") if interactive else nullcontext() as status:
        def show(text: str) -> None:
            if status:
                status.update(text)
        models = load_models(args.files, family=args.family,
                             on_progress=lambda i, f: show(f"{args.files[i].name}: reading {f:.0%}"))
        show("matching")
        cases = find_failures(models, evaluator.truth, args.iou, args.min_score,
                              on_progress=lambda done: show(f"matched {done} of {counted(len(models), 'model')}"))
    if args.json:
        print(json_text(cases.as_json(top=args.top)))
    else:
        _print(cases, args.top)
    return 0
