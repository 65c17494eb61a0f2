"""`fashionfail-tui export`: a prediction file as COCO results or CSV, for other tools."""

from __future__ import annotations

from pathlib import Path

from tui.commands.options import add_annotation_options, add_family_option, annotations_path
from tui.text import visible
from tui.units import counted

COMMAND = "export"
HELP = "export a prediction file as COCO results (what COCO.loadRes takes) or CSV"
ORDER = 62


def add_arguments(parser) -> None:
    from tui.evaluation.export import FORMATS

    parser.add_argument("file", type=Path, metavar="FILE", help="a prediction file (.npz / .npy) of any family")
    parser.add_argument("--format", choices=FORMATS, required=True, dest="fmt",
                        help="coco: the results list COCO.loadRes takes (ids from the annotation file); "
                        "csv: one row per detection")
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="the file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    add_annotation_options(parser, only="coco only: ")
    add_family_option(parser, "the file")


def execute(args) -> int:
    from tui.evaluation.evaluator import Evaluator
    from tui.evaluation.export import check_target, export
    from tui.predictions import load_predictions

    check_target(args.out, args.overwrite)  # before the reading, which can take a while
    truth = Evaluator(annotations_path(args)).truth if args.fmt == "coco" else None
    predictions = load_predictions(args.file, family=args.family)
    done = export(predictions, args.fmt, args.out, truth, overwrite=args.overwrite)
    if args.fmt == "coco":
        what = f"COCO results with {'boxes and masks' if done.with_masks else 'boxes only'}, ids of {truth.path.name}"
    else:
        what = "CSV, one row per detection"
    print(visible(f"wrote {counted(done.detections, 'detection')} on {counted(done.images, 'image')} to {done.path} ({what})"))
    for note in done.notes:
        print(visible(f"note: {note}"))
    return 0
