"""The GPU pane: samples in a thread worker on an interval; rendering only reads the latest snapshot."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Label, Static
from textual.worker import Worker, WorkerState

from tui.gpu import GpuSampler, HistoryPoint, Snapshot, gpu_key, open_source
from tui.widgets.gpu.block import GpuBlock

SLOT_ID = "gpu-slot"
"""A screen with a container of this id gets the pane there instead of docked on the right."""


class GpuPane(Vertical):
    """One block per GPU, the app's runner processes highlighted (pids from `app.runner_pids`, children
    included). Samples every `[gpu] interval` seconds while shown on the current screen."""

    DEFAULT_CSS = """
    GpuPane {
        width: 46;
        height: 1fr;
        padding: 0 1;
        border-left: vkey $foreground 20%;
        background: $surface;
    }
    GpuPane.-docked {
        split: right;  /* beside the whole screen: header and footer give way instead of being covered */
    }
    GpuPane.-hidden {
        display: none;
    }
    GpuPane .gpu-pane-title {
        text-style: bold;
        color: $accent;
    }
    GpuPane #gpu-state {
        color: $text-muted;
    }
    GpuPane #gpu-state.-warning {
        color: $warning;
    }
    """

    snapshot: reactive[Snapshot | None] = reactive(None)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sampler: GpuSampler | None = None
        """Made on mount from the `[gpu]` settings; opens its source on the first sample, in the worker."""
        self.history: dict[str, tuple[HistoryPoint, ...]] = {}
        """Each GPU's recent points, copied in the worker with the snapshot they belong to."""
        self._sampling = False

    def compose(self) -> ComposeResult:
        yield Label("GPU", classes="gpu-pane-title")
        yield Static("sampling…", id="gpu-state")
        yield VerticalScroll(id="gpu-blocks")

    def on_mount(self) -> None:
        settings = self.app.settings
        self.sampler = GpuSampler(settings.gpu_history, settings.gpu_interval)
        self._timer = self.set_interval(settings.gpu_interval, self.request_sample)
        self.request_sample()

    def on_unmount(self) -> None:
        if self.sampler is not None:
            self.sampler.close()

    def request_sample(self) -> None:
        """Start a sample unless one is running or nobody can see the pane."""
        if self._sampling or not self.display or not self.screen.is_current:
            return
        self._sampling = True
        self._sample(self.app.runner_pids)

    @work(thread=True, group="gpu-sample", exit_on_error=False)
    def _sample(self, watched_pids: frozenset[int]) -> None:
        snapshot = self.sampler.sample(watched_pids)
        history = {gpu_key(gpu): tuple(self.sampler.history.points(gpu_key(gpu))) for gpu in snapshot.gpus}
        self.app.call_from_thread(self._receive, snapshot, history)

    def _receive(self, snapshot: Snapshot, history: dict[str, tuple[HistoryPoint, ...]]) -> None:
        self._sampling = False
        self.history = history
        self.snapshot = snapshot

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "gpu-sample" and event.state == WorkerState.ERROR:
            self._timer.stop()  # a bug, not a state of the GPU: say it once, not every interval
            self.query_one("#gpu-state", Static).update("sampling stopped")
            self.notify(f"GPU sampling failed: {event.worker.error}", severity="error")

    async def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        states = self.query("#gpu-state")
        if snapshot is None or not states:  # a sample that lands while the pane is being taken down
            return
        state = states.first(Static)
        said = "; ".join(filter(None, (snapshot.reason, *snapshot.errors))) or ("" if snapshot.gpus else "no GPU found")
        state.update(f"{snapshot.source}{': ' + said if said else ''}")
        state.set_class(bool(said), "-warning")
        blocks = self.query_one("#gpu-blocks", VerticalScroll)
        keys = [gpu_key(gpu) for gpu in snapshot.gpus]
        if [block.name for block in blocks.query(GpuBlock)] != keys:
            await blocks.remove_children()
            await blocks.mount_all(GpuBlock(name=key) for key in keys)
        for block, gpu in zip(blocks.query(GpuBlock), snapshot.gpus):
            block.status = gpu
            block.history = self.history.get(gpu_key(gpu), ())


def gpus_found() -> bool:
    """Whether NVML or nvidia-smi reports a GPU. It loads a library or runs a program: call it in a worker."""
    source = open_source()
    try:
        return bool(source.sample().gpus)
    finally:
        source.close()


def toggle_gpu_pane(screen: Screen) -> GpuPane:
    """Show or hide the screen's GPU pane; the first time, mount it into `#gpu-slot` when the screen
    has one, else docked on the right."""
    slots = screen.query(f"#{SLOT_ID}")
    existing = screen.query(GpuPane)
    if existing:
        pane = existing.first()
        pane.toggle_class("-hidden")
    elif slots:
        pane = GpuPane()
        slots.first().mount(pane)
    else:
        pane = GpuPane(classes="-docked")
        screen.mount(pane)
    if slots:  # the slot's room comes and goes with the pane
        slots.first().display = not pane.has_class("-hidden")
    return pane
