"""`fashionfail-tui gpu`: what each NVIDIA GPU is doing, once or refreshed, as a table or JSON."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tui.commands import output_console
from tui.errors import UserError
from tui.files import json_text
from tui.gpu import format as fmt
from tui.text import rich_text

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from tui.gpu import GpuSampler, Snapshot

COMMAND = "gpu"
HELP = "show GPU utilisation, memory, power and processes (NVML, else nvidia-smi)"
ORDER = 60
LEVEL_STYLES = {"low": "green", "medium": "yellow", "high": "red"}
MAX_WATCH_SECONDS = 86400
"""Longer waits are surely a typo, and `inf` would fail inside time.sleep."""


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON: one object, or one per line with --watch")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help="sample once and exit (the default)")
    when.add_argument("--watch", type=float, metavar="SECONDS", help="sample every SECONDS until Ctrl-C")


def as_json(snapshot: Snapshot, cost_s: float | None) -> str:
    record = snapshot.to_dict()
    record["sample_ms"] = None if cost_s is None else round(cost_s * 1000, 3)
    return json_text(record)


def _cell(text: str, level: str | None = None) -> Text:
    """A table cell: dim when absent, coloured by load level when it has one."""
    return rich_text(text, style="dim" if text == fmt.ABSENT else LEVEL_STYLES.get(level, ""))


def _table(title: str, *columns: str) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    for column in columns:
        table.add_column(column, justify="left" if column in ("GPU", "name") else "right", no_wrap=column != "name")
    return table


def render(snapshot: Snapshot):
    """The snapshot as rich tables: one row per GPU, then one per process."""
    from rich.console import Group
    from rich.text import Text

    if not snapshot.gpus:
        said = snapshot.reason or "; ".join(snapshot.errors) or "no GPU found"
        return rich_text(f"{snapshot.source}: {said}", style="yellow")
    gpus = _table(f"GPUs ({snapshot.source})", "GPU", "util", "mem", "memory", "temp", "power", "SM MHz",
                  "perf", "fan")
    processes = _table("Processes", "GPU", "pid", "name", "memory")
    for gpu in snapshot.gpus:
        gpus.add_row(
            f"{gpu.index} {gpu.name or fmt.ABSENT}",
            _cell(fmt.number(gpu.utilization_gpu, "%"), fmt.load_level(gpu.utilization_gpu)),
            _cell(fmt.number(gpu.utilization_memory, "%"), fmt.load_level(gpu.utilization_memory)),
            _cell(fmt.memory(gpu.memory_used, gpu.memory_total), fmt.load_level(gpu.memory_percent)),
            _cell(fmt.number(gpu.temperature, " C")), _cell(fmt.power(gpu.power_draw, gpu.power_limit)),
            _cell(fmt.number(gpu.sm_clock)), _cell(gpu.pstate or fmt.ABSENT), _cell(fmt.number(gpu.fan, "%")),
        )
        for process in gpu.processes:
            processes.add_row(str(gpu.index), str(process.pid), _cell(process.name or fmt.ABSENT),
                              _cell(fmt.gib(process.memory_used)))
    parts = [gpus, Text(""), processes if processes.row_count else Text("No GPU processes.", style="dim")]
    parts += [Text(f"! {error}", style="yellow") for error in snapshot.errors]
    return Group(*parts)


def _watch(sampler: GpuSampler, seconds: float, json_lines: bool) -> None:
    from rich.live import Live

    if json_lines:
        while True:
            snapshot = sampler.sample()
            print(as_json(snapshot, sampler.last_cost_s), flush=True)
            time.sleep(seconds)
    with Live(render(sampler.sample()), auto_refresh=False, console=output_console()) as live:
        while True:
            time.sleep(seconds)
            live.update(render(sampler.sample()), refresh=True)


def execute(args) -> int:
    from tui.gpu import GpuSampler

    if args.watch is not None and not 0 < args.watch <= MAX_WATCH_SECONDS:
        raise UserError(f"--watch needs a positive number of seconds, at most {MAX_WATCH_SECONDS} (a day), "
                        f"not {args.watch:g}")
    sampler = GpuSampler(interval=args.watch or 1.0)
    try:
        if args.watch is not None:
            _watch(sampler, args.watch, args.json)
        elif args.json:
            print(as_json(sampler.sample(), sampler.last_cost_s))
        else:
            output_console().print(render(sampler.sample()))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how --watch ends
    finally:
        sampler.close()
    return 0
