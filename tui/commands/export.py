"""`fashionfail-tui export`: a prediction file as COCO results or CSV, for other tools."""

from __future__ import annotations

from pathlib import Path

from tui.evaluation.export import FORMATS, check_target, export
from tui.evaluation.files import SPLITS, Evaluator, default_annotations
from tui.predictions import load_predictions
from tui.predictions.formats import FAMILY_CHOICES

COMMAND = "export"
HELP = "export a prediction file as COCO results (what COCO.loadRes takes) or CSV"
ORDER = 62


def add_arguments(parser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="a prediction file (.npz / .npy) of any family")
    parser.add_argument("--format", choices=FORMATS, required=True, dest="fmt",
                        help="coco: the results list COCO.loadRes takes (ids from the annotation file); "
                        "csv: one row per detection")
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="the file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.add_argument("--anns", type=Path, metavar="JSON",
                        help="coco only: the COCO annotation file whose image and category ids to use "
                        "(default: ff_test.json in the FashionFail cache folder)")
    parser.add_argument("--split", choices=SPLITS, default="test",
                        help="coco only: which FashionFail annotation file to use when --anns is not given")
    parser.add_argument("--family", choices=FAMILY_CHOICES, metavar="NAME",
                        help="read the file as this family or model instead of detecting it: " + ", ".join(FAMILY_CHOICES))


def execute(args) -> int:
    check_target(args.out, args.overwrite)  # before the reading, which can take a while
    truth = Evaluator(args.anns or default_annotations(args.split)).truth if args.fmt == "coco" else None
    predictions = load_predictions(args.file, family=args.family)
    done = export(predictions, args.fmt, args.out, truth, overwrite=args.overwrite)
    if args.fmt == "coco":
        what = f"COCO results with {'boxes and masks' if done.with_masks else 'boxes only'}, ids of {truth.path.name}"
    else:
        what = "CSV, one row per detection"
    print(f"wrote {done.detections:,} detections on {done.images:,} images to {done.path} ({what})")
    for note in done.notes:
        print(f"note: {note}")
    return 0
