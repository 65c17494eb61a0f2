"""`fashionfail-tui browse FILE [FILE2]`: open the app on the prediction browser."""

from __future__ import annotations

from pathlib import Path

from tui.commands.inspect import load_with_progress
from tui.errors import UserError

COMMAND = "browse"
HELP = "open prediction files in the app's browser (a second file is drawn beside the first)"
ORDER = 61


def add_arguments(parser) -> None:
    from tui.predictions.formats import FAMILY_CHOICES

    parser.add_argument("files", nargs="+", metavar="FILE", help="one prediction file, or two to compare")
    parser.add_argument("--images", metavar="DIR",
                        help="folder holding the images (default: the file's meta image_dir, else FashionFail's images)")
    parser.add_argument("--family", metavar="FAMILY",
                        help=f"read the files with this family's conventions instead of detecting them "
                             f"({', '.join(FAMILY_CHOICES)})")


def execute(args) -> int:
    from tui.predictions.formats import from_name

    if len(args.files) > 2:
        raise UserError(f"browse compares at most two files, not {len(args.files)}")
    files = [Path(f).expanduser() for f in args.files]
    if args.family:
        from_name(args.family)  # an unknown family is one line here, not an error inside the app
    images_dir = Path(args.images).expanduser() if args.images else None
    if images_dir is not None and not images_dir.is_dir():
        raise UserError(f"--images {images_dir} is not a folder")
    for path in files:  # a file that cannot be read is one line here; one that can is indexed, so the app opens it at once
        load_with_progress(path, args.family)
    from tui.app import LaunchOptions, run_app

    return run_app(LaunchOptions(mode="browse", browse_files=files, images_dir=images_dir, family=args.family))
