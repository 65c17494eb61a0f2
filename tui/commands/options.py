"""Options several commands share (not a command itself: it defines no COMMAND)."""

from __future__ import annotations

from pathlib import Path


def add_annotation_options(parser, only: str = "") -> None:
    """--anns JSON and --split, for commands that read a COCO annotation file; `only` prefixes the help."""
    from tui.evaluation.evaluator import SPLITS

    parser.add_argument("--anns", type=Path, metavar="JSON",
                        help=f"{only}COCO annotation file (default: ff_test.json in the FashionFail cache folder)")
    parser.add_argument("--split", choices=SPLITS, default="test",
                        help=f"{only}which FashionFail annotation file to use when --anns is not given (default: test)")


def annotations_path(args) -> Path:
    """The --anns file, else FashionFail's file of --split in the cache (UserError saying how to get it when absent)."""
    from tui.evaluation.evaluator import default_annotations

    return args.anns or default_annotations(args.split)


def add_family_option(parser, files: str = "the files") -> None:
    from tui.predictions.formats import FAMILY_CHOICES

    parser.add_argument("--family", choices=FAMILY_CHOICES, metavar="NAME",
                        help=f"read {files} as this family or model (e.g. facere+) instead of detecting it: "
                        + ", ".join(FAMILY_CHOICES))
