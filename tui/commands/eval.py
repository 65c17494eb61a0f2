"""`fashionfail-tui eval`: prediction files scored the paper's way, side by side."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

from typing import TYPE_CHECKING

from tui.commands import output_console
from tui.commands.options import add_annotation_options, add_family_option, annotations_path
from tui.files import json_text
from tui.text import markup, rich_text

if TYPE_CHECKING:
    from rich.table import Table

    from tui.evaluation import Evaluation
    from tui.evaluation.report import Cell

COMMAND = "eval"
HELP = "evaluate prediction files against FashionFail (COCO metrics and the paper's weighted mAP)"
ORDER = 60


def add_arguments(parser) -> None:
    from tui.evaluation import IOU_TYPES

    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="prediction files (.npz / .npy)")
    add_annotation_options(parser)
    parser.add_argument("--iou", choices=(*IOU_TYPES, "both"), default="both",
                        help="evaluate boxes (bbox), masks (segm) or both (default)")
    add_family_option(parser)
    parser.add_argument("--per-category", action="store_true", help="also print AP and TP/FP/FN per category")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object with a `results` list, one entry per file and IoU type")


_HOLDS = {"bbox": "boxes", "segm": "masks"}


def _summary_table(evaluations: list[Evaluation], annotations: Path, iou_types: tuple[str, ...]) -> Table:
    from rich.table import Table

    from tui.evaluation import METRICS
    from tui.evaluation.report import box_mask_rows

    holds = _HOLDS[iou_types[0]] if len(iou_types) == 1 else "box | mask"
    table = Table("model", "file", title=f"{markup(annotations.name)}: weighted over 22 categories, {holds}, %")
    for _, heading in METRICS:
        table.add_column(heading, justify="center")
    for model, label, cells in box_mask_rows(evaluations):
        table.add_row(rich_text(model), rich_text(label), *(_cell_text(cell, iou_types) for cell in cells))
    return table


def _cell_text(cell: Cell, iou_types: tuple[str, ...]) -> str:
    """`box | mask`, or only the value of the one IoU type evaluated (a cell is (box, mask), as IOU_TYPES)."""
    from tui.evaluation import IOU_TYPES
    from tui.evaluation.report import box_mask, percent

    return box_mask(cell) if len(iou_types) > 1 else percent(cell[IOU_TYPES.index(iou_types[0])])


def _category_table(evaluation: Evaluation) -> Table:
    from rich.table import Table

    from tui.evaluation.report import percent

    table = Table("id", "category", "weight", "AP", "AP50", "AP75", "TP", "FP", "FN",
                  title=f"{markup(Path(evaluation.file).name)} ({evaluation.iou_type}): per category, TP/FP/FN at IoU 0.5")
    for c in evaluation.per_category:
        table.add_row(str(c.category_id), rich_text(c.name), f"{c.weight:.3f}", percent(c.ap), percent(c.ap50),
                      percent(c.ap75), str(c.true_positives), str(c.false_positives), str(c.false_negatives))
    return table


def execute(args) -> int:
    from rich.console import Console

    from tui.evaluation import IOU_TYPES
    from tui.evaluation.evaluator import Evaluator
    from tui.evaluation.report import by_file, coverage_notes

    annotations = annotations_path(args)
    iou_types = IOU_TYPES if args.iou == "both" else (args.iou,)
    evaluator = Evaluator(annotations)
    interactive = not args.json and sys.stderr.isatty()
    evaluations: list[Evaluation] = []
    with Console(stderr=True).status("evaluating") if interactive else nullcontext() as status:
        for path in args.files:
            show = (lambda fraction, stage, name=path.name: status.update(f"{name}: {stage} {fraction:.0%}")) \
                if status else None
            evaluations += evaluator.evaluate(path, iou_types, family=args.family, on_progress=show)
    if args.json:
        print(json_text({"annotations": str(annotations), "results": [e.as_json() for e in evaluations]}))
        return 0
    out = output_console()
    out.print(_summary_table(evaluations, annotations, iou_types))
    for by_type in by_file(evaluations).values():
        evaluation = next(iter(by_type.values()))
        for note in coverage_notes(evaluation):
            out.print(f"[yellow]{markup(Path(evaluation.file).name)}: {markup(note)}[/]", highlight=False)
    if args.per_category:
        for evaluation in evaluations:
            out.print(_category_table(evaluation))
    return 0
