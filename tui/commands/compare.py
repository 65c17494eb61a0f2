"""`fashionfail-tui compare`: every chosen model over one folder in turn, then the paper's table,
comparison.json and report.html."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from tui import paths
from tui.commands import discard_stdout, emit_event, report_error
from tui.commands.options import add_annotation_options
from tui.commands.run import finished_line, progress_columns, show_event
from tui.errors import UserError
from tui.evaluation.report import paper_table_text
from tui.runs.events import EXIT_CANCELLED, Failed, Finished, LogLine
from tui.text import markup
from tui.units import counted

if TYPE_CHECKING:
    from rich.progress import Progress

    from tui.comparison.plan import Plan
    from tui.comparison.queue import CompareQueue, ModelEvent, QueueEnded
    from tui.comparison.results import WrittenComparison
    from tui.evaluation.evaluator import Evaluator

COMMAND = "compare"
HELP = "run several models over one folder in turn, then print the paper's table and write a report"
ORDER = 25


def add_arguments(parser) -> None:
    from tui.comparison.results import COMPARISON_FILE, REPORT_FILE

    parser.description = (
        "Run each chosen model over the images in --images, one after another (they share the GPU), "
        f"into <out>/<model>.npz; then evaluate every output and print the paper's table, and write "
        f"<out>/{COMPARISON_FILE} and <out>/{REPORT_FILE}. A model that is not ready is listed with the "
        "command that fixes it and skipped. A finished output for the same images and settings is reused; "
        "interrupting keeps finished images and rerunning the same command resumes."
    )
    parser.add_argument("--images", type=Path, required=True, metavar="DIR", help="folder of images")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="output folder (created if missing): one <model>.npz each, the table and the report")
    parser.add_argument("--models", default="all", metavar="all|ready|NAME,...",
                        help="all: every model, those not ready listed and skipped; ready: only the ready ones; "
                             "or model names separated by commas (default: all)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace outputs in --out that another run made (over other images or with another "
                             "model file); without it the command refuses and changes nothing")
    add_annotation_options(parser)
    parser.add_argument("--json", action="store_true",
                        help="JSON lines: a `queue` event, each model's run events tagged with `model`, "
                             "`queue_end`, and a final `comparison` event (or `error`)")


def execute(args) -> int:
    from tui.comparison.plan import chosen_models, make_plan, nothing_to_run
    from tui.comparison.queue import CompareQueue
    from tui.environments import load_config

    settings = load_config()
    models, list_unready = chosen_models(args.models)
    evaluator = _evaluator(args)
    plan = make_plan(models, args.images.expanduser(), args.out.expanduser(), settings, list_unready)
    if not plan.requests:
        raise UserError(nothing_to_run(plan))
    if plan.replaces and not args.overwrite:
        raise UserError("; ".join(plan.replaces), hint="pass --overwrite to replace them")
    queue = CompareQueue(plan, settings)
    if args.json:
        emit_event(plan.as_json())
    else:
        _print_plan(plan, evaluator)
    with _signals_cancel(queue):
        ended = _follow_json(queue) if args.json else _follow_terminal(queue)
    if ended.cancelled:
        report_error(f"cancelled; the finished outputs and images are kept: rerun the same command to resume "
                     f"({', '.join(ended.not_run)} not done)", as_json=args.json)
        return EXIT_CANCELLED
    if ended.finished:
        _compare(ended, evaluator, plan, args)
    if ended.failed:
        report_error("; ".join(f"{model} failed: {message}" for model, message in ended.failed), as_json=args.json)
        return ended.exit_status
    return 0


def _evaluator(args) -> Evaluator | None:
    """The annotation file's evaluator, read now so a broken file stops the command before any run;
    None when --anns is not given and the cache has no FashionFail annotations (the models still run)."""
    from tui.evaluation.evaluator import Evaluator

    annotations = args.anns or paths.fashionfail_annotations(args.split)
    if args.anns is None and not annotations.is_file():
        return None
    evaluator = Evaluator(annotations.expanduser())
    evaluator.truth  # noqa: B018 - reads and checks the file
    return evaluator


def _how_to_evaluate(args) -> str:
    return (f"no annotation file, so nothing was evaluated: fetch FashionFail's with `fashionfail-tui dataset fetch "
            f"--split {args.split}` (or pass --anns JSON) and rerun this command; the finished outputs are reused")


def _print_plan(plan: Plan, evaluator: Evaluator | None) -> None:
    from rich.console import Console

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    for skipped in plan.skipped:
        console.print(f"[yellow]skipped {skipped.model}:[/] {markup(skipped.reason())}")
    if evaluator is None:
        console.print("[yellow]no annotation file:[/] the models run, but nothing can be evaluated")


@contextmanager
def _signals_cancel(queue: CompareQueue) -> Iterator[None]:
    """Ctrl+C (SIGINT) and SIGTERM cancel the queue (the run in flight keeps what it finished) instead
    of raising, so the event stream ends properly."""
    previous = {number: signal.signal(number, lambda *_: queue.cancel()) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _follow_json(queue: CompareQueue) -> QueueEnded:
    from tui.comparison.queue import ModelEvent

    for event in queue.events():
        if isinstance(event, ModelEvent) and isinstance(event.event, LogLine) and event.event.source == "stderr":
            continue
        try:
            emit_event(event.as_json())
        except BrokenPipeError:  # the reader is gone: stop the queue, keep what is done
            discard_stdout()
            queue.cancel()
    return event


def _follow_terminal(queue: CompareQueue) -> QueueEnded:
    from rich.console import Console
    from rich.progress import Progress

    from tui.comparison.queue import ModelEvent, Reused

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    count = len(queue.plan.requests)
    task = None
    with Progress(*progress_columns(), console=console, transient=True, disable=not console.is_terminal) as progress:
        for event in queue.events():
            if isinstance(event, Reused):
                print(f"{event.model}: reusing {event.output} (finished earlier over the same images and settings)")
            elif isinstance(event, ModelEvent):
                task = _show(progress, task, event, queue.plan.models.index(event.model) + 1, count)
    return event


def _show(progress: Progress, task, event: ModelEvent, number: int, count: int):
    """One model's event on the progress display; returns its task (None once the model's run ended)."""
    if task is None:
        task = progress.add_task(f"{event.model} ({number}/{count})", total=None, rate="", image="")
    show_event(progress, task, event.event)
    if isinstance(event.event, (Finished, Failed)):
        progress.remove_task(task)
        if isinstance(event.event, Finished):
            print(finished_line(event.model, event.event))
        elif not event.event.cancelled:
            progress.console.print(f"[red]{event.model} failed:[/] {markup(event.event.message)}")
        return None
    return task


def _compare(ended: QueueEnded, evaluator: Evaluator | None, plan: Plan, args) -> None:
    """Evaluate the finished outputs and write the table's files, or say how to do it later."""
    from rich.console import Console

    from tui.comparison.results import write_comparison

    outputs = [output for _, output in ended.finished]
    if evaluator is None:
        how = _how_to_evaluate(args)
        if args.json:
            emit_event({"event": "comparison", "annotations": None, "message": how,
                        "models": [{"model": m, "file": str(o), "results": []} for m, o in ended.finished]})
        else:
            Console(stderr=True, highlight=False, soft_wrap=True).print(markup(how), style="yellow")
        return
    interactive = not args.json and Console(stderr=True).is_terminal
    with Console(stderr=True).status("evaluating") if interactive else nullcontext() as status:
        written = write_comparison(outputs, evaluator, plan.images, plan.out_dir,
                                   on_stage=status.update if status else None)
    if args.json:
        emit_event(written.as_json())
    else:
        _print_comparison(written)


def _print_comparison(written: WrittenComparison) -> None:
    cases = written.cases
    print(f"\n{Path(written.data['annotations']).name}, {counted(len(written.data['models']), 'model')}:")
    print(paper_table_text(written.table))
    print(f"\nfailure cases at IoU 0.5 (score >= {cases.min_score:g}): {len(cases.missed_by_all)} of "
          f"{counted(len(cases.objects), 'object')} missed by every model, {len(cases.disagreements)} found by some and "
          "missed by others")
    print(f"wrote {written.json_file} and {written.report_file}")

