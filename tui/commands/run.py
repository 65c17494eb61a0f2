"""`fashionfail-tui run`: one model over a folder of images, headless."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING

from tui import catalog, config
from tui.commands import discard_stdout, emit_event, report_error
from tui.errors import UserError
from tui.runs import events
from tui.runs.shards import Shard
from tui.text import markup, visible
from tui.units import counted, human_rate

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from tui.runs.process import Job

COMMAND = "run"
HELP = "run one model over a folder of images and write <out>/<model>.npz"
ORDER = 20


def add_arguments(parser) -> None:
    parser.description = (
        "Run MODEL over the images (jpg, jpeg, png, webp, bmp) in --images and write "
        "<out>/<model-name>.npz: a `data` key with the per-image dicts as the original scripts wrote "
        "them, and a `meta` JSON string. Interrupting keeps finished images; rerunning the same "
        "command resumes. An output file of another run is kept unless --overwrite is given."
    )
    parser.add_argument("model", metavar="MODEL", help=f"one of {', '.join(catalog.names())}")
    parser.add_argument("--images", type=Path, required=True, metavar="DIR", help="folder of images")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="output folder (created if missing); the file is <out>/<model-name>.npz")
    parser.add_argument("--model-file", type=Path, metavar="PATH",
                        help="run this local weights file instead of the cached checkpoint")
    parser.add_argument("--device", choices=config.DEVICES, default=None,
                        help="execution device (default: the config's [run] device, else auto)")
    parser.add_argument("--score-threshold", type=float, metavar="X",
                        help="drop detections scoring below X (default: the model's own)")
    parser.add_argument("--shard", metavar="I/N",
                        help="only the I-th (0-based) of N contiguous parts of the sorted image list, written to "
                             "<out>/<model-name>.shard-III-of-NNN.npz; `merge` joins the parts")
    parser.add_argument("--original-masks", action="store_true",
                        help="facere: let the graph paste the masks (slow at 2400x2400) instead of cutting "
                             "its mask-pasting loop out and pasting per box; the output is the same")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an output file that holds another run's predictions (other images, another "
                             "model file); without it such a file is kept and the command stops")
    parser.add_argument("--json", action="store_true",
                        help="print the runner's events, one JSON object per line, ending with done or error")


def execute(args) -> int:
    from tui.environments import load_config
    from tui.runs.checks import check_request, replaced_result
    from tui.runs.process import Job
    from tui.runs.request import RunRequest

    settings = load_config()
    request = RunRequest(
        model=catalog.get(args.model), images=args.images.expanduser(), out_dir=args.out.expanduser(),
        model_file=args.model_file.expanduser() if args.model_file else None,
        device=args.device or settings.device, score_threshold=args.score_threshold,
        shard=Shard.parse(args.shard) if args.shard else None,
        original_masks=args.original_masks,
    )
    if request.score_threshold is not None and not 0.0 <= request.score_threshold <= 1.0:
        raise UserError(f"--score-threshold must be between 0 and 1, not {request.score_threshold}")
    check_request(request, settings)
    replaced = replaced_result(request, settings)
    if replaced and not args.overwrite:
        raise UserError(replaced, hint="pass --overwrite to replace it")
    job = Job.start(request, settings)
    ending = _follow_json(job) if args.json else _follow_terminal(job)
    return _exit_code(ending)


CANCELLING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Ctrl+C, `kill`, a closed terminal: each cancels the runner and waits for it, then exits 130."""


def _events_until_end(job: Job):
    """The job's events to its end. Ctrl+C (SIGINT), SIGTERM and SIGHUP cancel the runner, which
    keeps what is done; they are handled as signals rather than exceptions so the event stream is
    never cut short and the command never exits before its runner (which holds the output's lock).
    A second one kills the runner at once."""
    previous = {number: signal.signal(number, lambda *_: job.cancel()) for number in CANCELLING_SIGNALS}
    try:
        yield from job.events()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _follow_json(job: Job) -> events.Event:
    event = None
    for event in _events_until_end(job):
        if isinstance(event, events.LogLine) and event.source == "stderr":
            continue
        try:
            emit_event(event.raw)
        except BrokenPipeError:  # the reader is gone (`| head`): stop the runner, keep what is done
            discard_stdout()
            job.cancel()
    return event


def _follow_terminal(job: Job) -> events.Event:
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    event = None
    with Progress(*progress_columns(), console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(job.request.model.name, total=None, rate="", image="")
        for event in _events_until_end(job):
            show_event(progress, task, event)
    if isinstance(event, events.Finished):
        print(visible(finished_line(job.request.model.name, event)))
    return event


def show_event(progress: Progress, task: TaskID, event: events.Event) -> None:
    """One runner event on its progress line (task fields `rate` and `image`); warnings and the
    runner's log above the bars."""
    console = progress.console
    if isinstance(event, events.Started):
        progress.reset(task, total=event.total, completed=event.resumed)
    elif isinstance(event, events.Progress):
        progress.update(task, completed=event.done, image=markup(event.image))
        speed = next(t.speed for t in progress.tasks if t.id == task)
        progress.update(task, rate=human_rate(speed) if speed else "")
    elif isinstance(event, events.Warned):
        console.print(f"[yellow]warning:[/] {markup(event.message)}", highlight=False)
    elif isinstance(event, events.LogLine) and event.source != "stderr":
        console.print(visible(event.message), style="dim", highlight=False, markup=False)


def progress_columns() -> tuple:
    """A run's progress line: model, bar, done/total, percent, images/s, ETA, the image in flight
    (fields `rate` and `image`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn

    return (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), TextColumn("{task.fields[image]}"))


def finished_line(model: str, event: events.Finished) -> str:
    """`facere: 3 images, 9 detections in 1.2 s (2.50 images/s) -> out/facere.npz`."""
    skipped = f", {event.skipped} skipped" if event.skipped else ""
    rate = f" ({event.images / event.seconds:.2f} images/s)" if event.seconds else ""
    return (f"{model}: {counted(event.images, 'image')}, {counted(event.detections, 'detection')}"
            f"{skipped} in {event.seconds:.1f} s{rate} -> {event.output}")


def _exit_code(ending: events.Event) -> int:
    """0 when the runner finished; otherwise its error as one line (--json already printed the event) and
    its exit status (`Failed.exit_status`)."""
    if isinstance(ending, events.Finished):
        return 0
    report_error(ending.message, as_json=False)
    return ending.exit_status
