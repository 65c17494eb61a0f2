"""`fashionfail-tui dataset fetch|status`: FashionFail's annotation files and images in the cache."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tui import config, paths
from tui.commands import emit_event, output_console, report_error
from tui.downloads.progress import Progress, describe
from tui.errors import UserError
from tui.files import json_text
from tui.text import markup, visible
from tui.units import counted, human_rate

if TYPE_CHECKING:
    from tui.dataset import Annotations, ImageOutcome, SplitSummary

COMMAND = "dataset"
HELP = "fetch the FashionFail dataset (annotation files and images) into the cache, or show what is there"
ORDER = 22
EXIT_INCOMPLETE = 1


def add_arguments(parser) -> None:
    from tui.dataset import SPLITS

    parser.description = (
        "fetch: download ff_<split>.json (from Hugging Face, or [dataset] annotations_url) and every image it "
        "lists into <cache>/images/<split>/, each checked to decode at the annotation's width and height. "
        "Rerunning resumes: verified images are not fetched again. status: per split, what is there.")
    parser.add_argument("action", choices=("fetch", "status"), help="what to do")
    parser.add_argument("--split", choices=(*SPLITS, "all"),
                        help="fetch: the split (default: test, the paper's table; all: test, val and train); "
                        "status: show only this one")
    parser.add_argument("--workers", type=int, metavar="N",
                        help=f"images downloaded at once, 1..{config.MAX_WORKERS} (default: [dataset] workers, else 8)")
    parser.add_argument("--json", action="store_true",
                        help="fetch: JSON lines (annotations, one image event per image, a summary per split); "
                        "status: one JSON object")


def execute(args) -> int:
    from tui.dataset import SPLITS, fetch_annotations, fetch_images
    from tui.environments import load_config

    settings = load_config()
    if args.action == "status":
        return _status(SPLITS if args.split in (None, "all") else (args.split,), args.json)
    workers = settings.dataset_workers if args.workers is None else args.workers
    if not 1 <= workers <= config.MAX_WORKERS:
        raise UserError(f"--workers must be between 1 and {config.MAX_WORKERS}, not {workers}")
    splits = SPLITS if args.split == "all" else (args.split or "test",)
    reporter = _JsonReporter() if args.json else _TerminalReporter()
    unfetched: list[str] = []
    incomplete: list[SplitSummary] = []
    for split in splits:
        waiting = Progress("wait", f"FashionFail {split}", message="another process is fetching this split; waiting for it")
        try:
            with reporter.tracking(split):
                annotations = fetch_annotations(split, settings, reporter.progress)
                reporter.annotations(annotations)
                summary = fetch_images(annotations, reporter.image, workers, on_wait=lambda: reporter.progress(waiting))
        except UserError as exc:
            if len(splits) == 1:
                raise
            report_error(f"{split}: {exc.for_command_line}", args.json)
            unfetched.append(split)
            continue
        reporter.summary(summary)
        if summary.failures:
            incomplete.append(summary)
    if incomplete:
        counts = "; ".join(f"{len(s.failures)} of {counted(s.expected, 'image')} in {s.split} failed" for s in incomplete)
        report_error(f"{counts} (listed above); run the same command again to retry them", args.json)
    if unfetched:
        raise UserError(f"the annotation file of {', '.join(unfetched)} could not be fetched (see above)")
    return EXIT_INCOMPLETE if incomplete else 0


class _JsonReporter:
    split = ""

    @contextmanager
    def tracking(self, split: str) -> Iterator[None]:
        self.split = split
        yield

    def progress(self, event: Progress) -> None:
        emit_event({**event.as_event(), "split": self.split})

    def annotations(self, annotations: Annotations) -> None:
        emit_event({"event": "annotations", "split": annotations.split, "path": str(annotations.path),
                    "fetched": annotations.fetched, "images": len(annotations.images)})

    def image(self, outcome: ImageOutcome) -> None:
        emit_event(outcome.as_event())

    def summary(self, summary: SplitSummary) -> None:
        emit_event(summary.as_event())


class _TerminalReporter:
    """A progress bar on stderr while a split is fetched, when that is a terminal; then the summary on
    stdout and the failures on stderr."""

    def __init__(self):
        from rich.console import Console

        self.errors = Console(stderr=True)
        self.display = self.task = None

    @contextmanager
    def tracking(self, split: str) -> Iterator[None]:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as ProgressDisplay

        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
        with ProgressDisplay(*columns, console=self.errors, transient=True,
                             disable=not self.errors.is_terminal) as self.display:
            self.task = self.display.add_task(f"FashionFail {split}", total=None, rate="")
            yield

    def progress(self, event: Progress) -> None:
        self.display.update(self.task, description=describe(event))

    def annotations(self, annotations: Annotations) -> None:
        self.display.reset(self.task, total=len(annotations.images), description=f"FashionFail {annotations.split}")

    def image(self, _: ImageOutcome) -> None:
        self.display.advance(self.task)
        speed = self.display.tasks[0].speed
        self.display.update(self.task, rate=human_rate(speed) if speed else "")

    def summary(self, summary: SplitSummary) -> None:
        counts = summary.counts
        done = [f"{counts['fetched']} fetched", f"{counts['present']} verified before"] + \
            ([f"{counts['checked']} already there and checked"] if counts["checked"] else [])
        print(visible(f"{summary.split}: {summary.verified} of {counted(summary.expected, 'image')} verified in "
                      f"{summary.images_dir} ({', '.join(done)})"), flush=True)
        for failure in summary.failures:
            print(f"  failed: {visible(failure.name)}: {visible(failure.reason)}", file=sys.stderr, flush=True)


def _status(splits: tuple[str, ...], as_json: bool) -> int:
    from rich.table import Table

    from tui.dataset import fetch_hint, split_state

    states = [split_state(split) for split in splits]
    if as_json:
        print(json_text({"cache_dir": str(paths.fashionfail_dir()), "splits": [s.as_json() for s in states]}))
        return 0
    table = Table("split", "annotations", "images expected", "present", "verified",
                  title=f"FashionFail in {markup(paths.fashionfail_dir())}")
    for state in states:
        annotations = "unreadable" if state.problem else state.annotations.name if state.annotations_present else "missing"
        colour = "green" if state.complete else "yellow" if state.annotations_present else "dim"
        table.add_row(state.split, f"[{colour}]{markup(annotations)}[/]", "-" if state.expected is None else str(state.expected),
                      str(state.present), str(state.verified))
    console = output_console()
    console.print(table)
    for state in states:
        if state.problem:
            console.print(visible(f"{state.split}: {state.problem}"), style="red", highlight=False, markup=False)
    if hint := fetch_hint(states):
        console.print(f"to fetch: {markup(hint)}", highlight=False)
    return 0
