"""`fashionfail-tui merge FILES... --out FILE`: a run's shard files joined into one prediction file."""

from __future__ import annotations

from pathlib import Path

from tui.files import json_text
from tui.text import visible
from tui.units import counted

COMMAND = "merge"
HELP = "join the shard files of one run (run --shard I/N) into the file a single run would write"
ORDER = 25


def add_arguments(parser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILES", help="every shard file, in any order")
    parser.add_argument("--out", type=Path, required=True, help="the merged .npz to write")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def execute(args) -> int:
    from tui.runs.merging import merge_files

    out = merge_files(args.files, args.out)
    if args.json:
        print(json_text({"event": "done", "output": str(out), "shards": len(args.files)}))
    else:
        print(visible(f"merged {counted(len(args.files), 'shard')} into {out}"))
    return 0
