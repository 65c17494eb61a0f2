"""One GPU in the pane: title, load bars, history lines, figures, process rows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label, Static

from tui.gpu import GpuProcess, GpuStatus, HistoryPoint
from tui.gpu import format as fmt
from tui.widgets.gpu.bars import LoadBar, PercentSparkline, percents


class Figure(Label):
    """One labelled figure; dimmed "n/a" (class -absent) when the board does not report it."""

    DEFAULT_CSS = """
    Figure.-absent {
        color: $text-muted;
        text-style: dim;
    }
    """

    def show(self, label: str, text: str) -> None:
        self.update(f"{label} {text}")
        self.set_class(text == fmt.ABSENT, "-absent")


class ProcessList(Widget):
    """Process rows; the app's own (its runner and the runner's children) carry the class -ours."""

    DEFAULT_CSS = """
    ProcessList {
        height: auto;
        margin: 1 0 0 0;
    }
    ProcessList .gpu-no-processes, ProcessList .gpu-process-header {
        color: $text-muted;
    }
    ProcessList .gpu-process.-ours {
        background: $accent 30%;
        text-style: bold;
    }
    """

    processes: reactive[tuple[GpuProcess, ...]] = reactive((), recompose=True)

    def compose(self) -> ComposeResult:
        if not self.processes:
            yield Static("no processes", classes="gpu-no-processes")
            return
        yield Static(f"{'pid':>7}  {'process':<16} {'memory':>9}", classes="gpu-process-header")
        for process in self.processes:
            row = Static(f"{process.pid:>7}  {process.name or fmt.ABSENT:<16.16} {fmt.gib(process.memory_used):>9}",
                         classes="gpu-process")
            row.set_class(process.ours, "-ours")
            yield row


class GpuBlock(Vertical):
    """Everything the pane shows about one GPU. The pane sets `status` and `history`."""

    DEFAULT_CSS = """
    GpuBlock {
        height: auto;
        margin: 1 0 0 0;
    }
    GpuBlock .gpu-title {
        text-style: bold;
        color: $accent;
    }
    GpuBlock .gpu-figures {
        layout: grid;
        grid-size: 2;
        height: auto;
    }
    """

    status: reactive[GpuStatus | None] = reactive(None)
    history: reactive[tuple[HistoryPoint, ...]] = reactive(())

    def compose(self) -> ComposeResult:
        yield Label(classes="gpu-title")
        yield LoadBar("util", id="util")
        yield PercentSparkline(id="util-history")
        yield LoadBar("mem", id="memory")
        yield PercentSparkline(id="memory-history")
        with Horizontal(classes="gpu-figures"):
            for name in ("temperature", "power", "clock", "pstate", "fan"):
                yield Figure(id=name)
        yield ProcessList()

    def watch_status(self, gpu: GpuStatus | None) -> None:
        if gpu is None or not self.is_mounted:
            return
        self.query_one(".gpu-title", Label).update(f"{gpu.index}  {gpu.name or fmt.ABSENT}")
        self.query_one("#util", LoadBar).percent = gpu.utilization_gpu
        memory = self.query_one("#memory", LoadBar)
        memory.percent = gpu.memory_percent
        memory.detail = fmt.memory(gpu.memory_used, gpu.memory_total)
        self.query_one("#temperature", Figure).show("temp", fmt.number(gpu.temperature, " C"))
        self.query_one("#power", Figure).show("power", fmt.power(gpu.power_draw, gpu.power_limit))
        self.query_one("#clock", Figure).show("SM", fmt.number(gpu.sm_clock, " MHz"))
        self.query_one("#pstate", Figure).show("perf", gpu.pstate or fmt.ABSENT)
        self.query_one("#fan", Figure).show("fan", fmt.number(gpu.fan, "%"))
        self.query_one(ProcessList).processes = gpu.processes

    def watch_history(self, history: tuple[HistoryPoint, ...]) -> None:
        if not self.is_mounted:
            return
        self.query_one("#util-history", PercentSparkline).values = percents([p.utilization for p in history])
        self.query_one("#memory-history", PercentSparkline).values = percents([p.memory for p in history])

    def on_mount(self) -> None:
        self.watch_status(self.status)
        self.watch_history(self.history)
