"""The Run screen: pick a model and folders, watch the runner live, cancel, read the summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Header, RichLog, Static

from tui import catalog
from tui.errors import UserError
from tui.runs.checks import check_request, replaced_result
from tui.runs.events import Event, Failed, Finished, LogLine, Progress, Started, failed
from tui.runs.process import Job
from tui.runs.request import RunRequest, SetupNeeded
from tui.screens import NavEntry
from tui.screens.browse import open_in_browser
from tui.setup.readiness import Readiness, readiness
from tui.text import markup, notification, rich_text, visible
from tui.units import counted
from tui.widgets.confirm import Confirm
from tui.widgets.gpu import GpuPane, gpus_found, toggle_gpu_pane
from tui.widgets.run.form import RunForm
from tui.widgets.run.progress import RunProgress
from tui.widgets.footer import AppFooter

GPU_PANE_MIN_WIDTH = 120
"""Narrower terminals open the Run screen without the GPU pane: the paths need the room."""


def open_in_run(app: App, model: str) -> None:
    """Switch to the Run screen with `model` chosen (the home screen's Enter)."""
    app.switch_mode(RunScreen.NAV.mode)
    screen = app.screen
    if isinstance(screen, RunScreen):
        screen.choose_model(model)


def _where_to_fix(error: UserError) -> str:
    """Where in the app the user fixes what a run lacks; nothing for what no screen fixes."""
    if isinstance(error, SetupNeeded):
        return {"setup": ": press s to set it up (Setup)", "models": ": press m to get it (Models)"}[error.area]
    return ""


class RunScreen(Screen):
    NAV = NavEntry("run", "r", "Run", "Run a model over a folder of images, live", order=10)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [  # priority: they work with the cursor in a path field too (an Input takes ctrl+x as "cut")
        Binding("ctrl+s", "start_run", "Start", tooltip="Run the chosen model over the image folder", priority=True),
        Binding("ctrl+x", "cancel_run", "Cancel run",
                tooltip="Stop the runner after the image in flight (rerun resumes)", priority=True),
        Binding("ctrl+o", "browse('images')", "Images folder",  # not priority: in a field, ctrl+o is the field's
                tooltip="Open the folder picker for the images (in a path field: for that field)", show=False),
        Binding("ctrl+t", "browse('out')", "Output folder", tooltip="Open the folder picker for the output",
                show=False, priority=True),
        Binding("ctrl+l", "browse('model-file')", "Model file",
                tooltip="Pick a local ONNX file instead of the cached checkpoint", show=False, priority=True),
        Binding("ctrl+b", "open_result", "Browse result", tooltip="Browse the prediction file the last run wrote",
                show=False, priority=True),
    ]

    @dataclass
    class EventReceived(Message):
        """A runner event, posted from the worker thread that follows the job."""

        event: Event

    @dataclass
    class ModelsChecked(Message):
        """Whether each model is ready, worked out in a thread (it reads the cache and the environments)."""

        states: list[Readiness]

    job: Job | None = None
    last_output: Path | None = None
    """The prediction file the last finished run wrote, with the images it ran on."""
    last_images: Path | None = None
    _wanted_model: str | None = None
    """A model chosen from elsewhere before this screen was mounted: on_mount chooses it."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="run-body"):
            with Vertical(id="run-main"):
                yield RunForm(id="run-form")
                yield RunProgress(id="run-progress")
                yield Static("", id="run-summary", classes="hidden")
                yield RichLog(id="run-log", wrap=True, max_lines=5000)
            yield Container(id="gpu-slot")  # the GPU pane goes here: by itself only beside a GPU (g toggles it)
        yield AppFooter()

    @property
    def form(self) -> RunForm:
        return self.query_one("#run-form", RunForm)

    @property
    def progress(self) -> RunProgress:
        return self.query_one("#run-progress", RunProgress)

    @property
    def summary(self) -> Static:
        return self.query_one("#run-summary", Static)

    @property
    def log_view(self) -> RichLog:
        return self.query_one("#run-log", RichLog)

    @property
    def running(self) -> bool:
        return self.job is not None

    def on_mount(self) -> None:
        last = self.app.remembered
        self.form.field("images").path = self.app.launch.images_dir or last.images_dir
        self.form.field("out").path = last.out_dir
        self.form.field("model-file").path = last.model_file
        if self._wanted_model:
            self.form.model_select.value = self._wanted_model
        self.check_models()
        if self.app.size.width >= GPU_PANE_MIN_WIDTH:
            self.open_gpu_pane_if_found()

    def on_screen_resume(self) -> None:
        self.check_models()

    def choose_model(self, model: str) -> None:
        if self.is_mounted:  # (from on_mount's end on)
            self.form.model_select.value = model
        else:
            self._wanted_model = model

    @work(thread=True, exclusive=True, group="models")
    def check_models(self) -> None:
        self.post_message(self.ModelsChecked([readiness(model, self.app.settings) for model in catalog.MODELS]))

    @on(ModelsChecked)
    def show_model_states(self, message: ModelsChecked) -> None:
        self.form.show_model_states(message.states)

    @work(thread=True, group="gpu-probe")
    def open_gpu_pane_if_found(self) -> None:
        if gpus_found():
            self.app.call_from_thread(self._open_gpu_pane)

    def _open_gpu_pane(self) -> None:
        if not self.query(GpuPane):  # not if the user opened it with g meanwhile
            toggle_gpu_pane(self)

    def action_start_run(self) -> None:
        self.form.submit()

    @on(Button.Pressed, "#run-cancel")
    def action_cancel_run(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.log_view.write("Cancelling: the runner stops after the image in flight.")

    def action_open_result(self) -> None:
        if self.last_output is None:
            self.notify("No finished run yet: its prediction file opens here once it is written.", severity="warning")
            return
        open_in_browser(self.app, [self.last_output], images_dir=self.last_images)

    def action_browse(self, field: str) -> None:
        self.form.field(field).browse()

    @on(RunForm.Submitted)
    def start(self, submitted: RunForm.Submitted) -> None:
        if self.running:
            self.notify("A run is already going; cancel it first.", severity="warning")
            return
        if submitted.images is None or submitted.out_dir is None:
            self.notify("Choose an image folder and an output folder first.", severity="error")
            return
        request = RunRequest(catalog.get(submitted.model), submitted.images, submitted.out_dir,
                             model_file=submitted.model_file, device=self.app.settings.device)
        self.form.set_running(True)
        self.summary.add_class("hidden")
        self.progress.begin(request.model.name)
        self.last_images = request.images
        self.log_view.clear()
        self.follow(request)

    @work(thread=True, exclusive=True, group="run")
    def follow(self, request: RunRequest, replace: bool = False) -> None:
        """Check, start and follow one run; every event goes back to the screen as a message. An
        output of another run is replaced only once the user said so (`replace`)."""
        try:
            check_request(request, self.app.settings)
            replaced = None if replace else replaced_result(request, self.app.settings)
            if replaced:
                self.app.call_from_thread(self.ask_to_replace, request, replaced)
                return
            self.app.call_from_thread(self.app.remember, images_dir=request.images.absolute(),
                                      out_dir=request.out_dir.absolute(),
                                      model_file=request.model_file.absolute() if request.model_file else None)
            self.job = Job.start(request, self.app.settings)
            self.app.call_from_thread(setattr, self.app, "runner_pids", frozenset({self.job.pid}))
        except UserError as exc:
            self.post_message(self.EventReceived(failed(str(exc) + _where_to_fix(exc))))
            return
        for event in self.job.events():
            self.post_message(self.EventReceived(event))

    def ask_to_replace(self, request: RunRequest, replaced: str) -> None:
        def answered(replace: bool) -> None:
            if replace:
                self.follow(request, replace=True)
            else:
                self.not_started(f"{request.output} is kept; choose another output folder for this run.")

        self.app.push_screen(Confirm(f"{visible(replaced)}.\n\nReplace it with this run's predictions? (It stays as it is "
                                     "until the new file is complete.)", yes="Replace"), answered)

    def not_started(self, why: str) -> None:
        self.form.set_running(False)
        self.progress.stopped()
        self.summary.update(f"Not started: {markup(why)}")
        self.summary.set_classes("-cancelled")

    @on(EventReceived)
    def show(self, message: EventReceived) -> None:
        event = message.event
        if isinstance(event, Started):
            self.progress.started(event)
        elif isinstance(event, Progress):
            self.progress.advanced(event)
        elif isinstance(event, LogLine) and event.source != "runner":
            # the runner writes its log and warning messages to stderr too: show stderr only
            self.log_view.write(rich_text(event.message))
        elif isinstance(event, Finished):
            self.finished(event)
        elif isinstance(event, Failed):
            self.failed(event)

    def finished(self, event: Finished) -> None:
        self.job = None
        self.app.runner_pids = frozenset()
        self.form.set_running(False)
        skipped = f" ({event.skipped} skipped)" if event.skipped else ""
        # said in the summary, not in a toast, which would cover it on a small terminal
        self.summary.update(f"Done: {counted(event.images, 'image')}{skipped}, {counted(event.detections, 'detection')} "
                            f"in {event.seconds:.1f} s -> {markup(event.output)} (ctrl+b browses it)")
        self.summary.set_classes("-done")
        self.last_output = event.output

    def failed(self, event: Failed) -> None:
        self.job = None
        self.app.runner_pids = frozenset()
        self.form.set_running(False)
        bar = self.progress.bar
        done = f" after {bar.progress:.0f} of {counted(int(bar.total), 'image')}" if bar.total else ""
        self.progress.stopped()
        if event.cancelled:  # asked for: said in the app's words, not the runner's command-line ones
            self.summary.update(f"Cancelled{done}: the finished images are kept, and starting the same run "
                                "again goes on from there.")
            self.summary.set_classes("-cancelled")
            return
        self.summary.update("Failed: " + markup(event.message))
        self.summary.set_classes("-failed")
        self.notify(notification(event.message), severity="error", title="Run failed", markup=False)

    def on_unmount(self) -> None:
        """Quitting the app stops its runner: no orphan processes."""
        if self.job is not None:
            self.job.stop()
