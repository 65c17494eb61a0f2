"""The Compare screen: choose models and folders, watch the queue beside the GPU pane, read the
paper's table, open the failure gallery."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Header, Static

from tui import catalog, paths
from tui.comparison.plan import Plan, make_plan, nothing_to_run
from tui.comparison.progress import QueueRows
from tui.comparison.published import published_text
from tui.comparison.queue import CompareQueue, ModelEvent, QueueEnded, QueueEvent
from tui.comparison.results import WrittenComparison, run_failure, write_comparison
from tui.errors import UserError
from tui.evaluation.evaluator import Evaluator
from tui.evaluation.figures import figure_series
from tui.runs.events import Failed, Finished, Started
from tui.screens import NavEntry
from tui.screens.failure_gallery import FailureGallery
from tui.setup.diagnosis import Diagnosis, diagnose
from tui.text import markup, notification
from tui.units import counted
from tui.widgets.compare.form import CompareForm
from tui.widgets.compare.paper_table import PaperTableView
from tui.widgets.compare.queue_table import QueueTable
from tui.widgets.confirm import Confirm
from tui.widgets.figures import Figures
from tui.widgets.gpu import GpuPane
from tui.widgets.footer import AppFooter


class CompareScreen(Screen):
    NAV = NavEntry("compare", "p", "Compare", "Every model over one folder in turn, then the paper's table", order=15)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("ctrl+s", "start_comparison", "Start", tooltip="Run the chosen models over the image folder in turn"),
        Binding("ctrl+x", "cancel_comparison", "Cancel",
                tooltip="Stop the model running now after its image in flight, and the queue (Start again resumes)"),
        Binding("ctrl+f", "open_gallery", "Failure cases",  # the form's button says it; the footer keeps quit and the areas
                tooltip="Each model's detections beside the ground truth, case by case", show=False),
        Binding("ctrl+o", "browse('images')", "Images folder", tooltip="Open the folder picker for the images",
                show=False),
    ]

    @dataclass
    class Diagnosed(Message):
        diagnoses: list[Diagnosis]

    @dataclass
    class Planned(Message):
        plan: Plan

    @dataclass
    class QueueChanged(Message):
        """A queue event, posted from the worker that follows the queue."""

        event: QueueEvent

    @dataclass
    class StageChanged(Message):
        text: str

    @dataclass
    class Ended(Message):
        """The comparison is over: `written` when it was evaluated, `error` when it could not go on."""

        ended: QueueEnded | None = None
        written: WrittenComparison | None = None
        error: str | None = None

    running = False
    """From Start until the comparison has ended (planning, the queue and the evaluation)."""
    queue: CompareQueue | None = None
    rows: QueueRows | None = None
    images: Path | None = None
    """The image folder of the comparison going or last done."""
    written: WrittenComparison | None = None
    """The last comparison written, with its failure cases (the gallery opens on them)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="compare-body"):
            with VerticalScroll(id="compare-main"):
                annotations = paths.fashionfail_annotations("test")
                yield CompareForm(annotations if annotations.is_file() else None, id="compare-form")
                yield Static("Choose the models and folders, then Start (ctrl+s).", id="compare-status")
                yield QueueTable(id="compare-queue")
                yield PaperTableView(id="compare-table", classes="hidden")
                yield Static("", id="compare-published", classes="hidden")
                yield Figures(id="compare-figures", classes="hidden")
            with Container(id="gpu-slot"):
                yield GpuPane()
        yield AppFooter()

    @property
    def form(self) -> CompareForm:
        return self.query_one(CompareForm)

    @property
    def main(self) -> VerticalScroll:
        return self.query_one("#compare-main", VerticalScroll)

    @property
    def status(self) -> Static:
        return self.query_one("#compare-status", Static)

    @property
    def queue_table(self) -> QueueTable:
        return self.query_one(QueueTable)

    @property
    def paper_table(self) -> PaperTableView:
        return self.query_one(PaperTableView)


    def on_mount(self) -> None:
        images = self.app.launch.images_dir or paths.fashionfail_images("test")
        if images.is_dir():
            self.form.field("images").path = images
        self.refresh_readiness()

    def on_screen_resume(self) -> None:
        if not self.running:
            self.refresh_readiness()

    @work(thread=True, exclusive=True, group="compare-readiness")
    def refresh_readiness(self) -> None:
        self.post_message(self.Diagnosed([diagnose(model, self.app.settings) for model in catalog.MODELS]))

    @on(Diagnosed)
    def _show_readiness(self, message: Diagnosed) -> None:
        self.form.models.show_diagnoses(message.diagnoses)

    # ----- starting and following -----
    def action_start_comparison(self) -> None:
        self.form.submit()

    def action_browse(self, field: str) -> None:
        self.form.field(field).browse()

    @on(CompareForm.Submitted)
    def _start(self, submitted: CompareForm.Submitted) -> None:
        if self.running:
            self.notify("A comparison is going; cancel it first.", severity="warning")
            return
        if submitted.images is None or submitted.out_dir is None:
            self.notify("Choose an image folder and an output folder first.", severity="error")
            return
        if not submitted.models:
            self.notify("Choose at least one ready model.", severity="error")
            return
        self.running = True
        self.images = submitted.images
        self.form.set_running(True)
        self.form.set_gallery_ready(False)
        self.paper_table.add_class("hidden")
        self.query_one(Figures).add_class("hidden")
        self.query_one("#compare-published", Static).add_class("hidden")
        self.status.update("Checking the models and the annotation file...")
        self.compare(submitted)

    @work(thread=True, exclusive=True, group="compare")
    def compare(self, submitted: CompareForm.Submitted, replace: bool = False) -> None:
        """Plan, run the queue and evaluate, in this thread; everything goes back as messages. Outputs
        of other runs in the output folder are replaced only once the user said so (`replace`)."""
        settings = self.app.settings
        try:
            evaluator = Evaluator(submitted.annotations) if submitted.annotations else None
            if evaluator is not None:
                evaluator.truth  # noqa: B018 - a broken annotation file stops us before any run
            plan = make_plan([catalog.get(name) for name in submitted.models], submitted.images, submitted.out_dir,
                             settings)
            if not plan.requests:
                raise UserError(nothing_to_run(plan))
        except UserError as exc:
            self.post_message(self.Ended(error=str(exc)))
            return
        if plan.replaces and not replace:
            self.app.call_from_thread(self.ask_to_replace, submitted, plan.replaces)
            return
        queue = self.queue = CompareQueue(plan, settings)  # set here, so a cancel from now on reaches it
        self.post_message(self.Planned(plan))
        for event in queue.events():
            self.post_message(self.QueueChanged(event))
        if event.cancelled or not event.finished or evaluator is None:
            self.post_message(self.Ended(event))
            return
        try:
            written = write_comparison(event.finished, evaluator, plan.images, plan.out_dir, settings,
                                       failed=[run_failure(m, text) for m, text in event.failed],
                                       on_stage=lambda text: self.post_message(self.StageChanged(text)))
        except UserError as exc:
            self.post_message(self.Ended(event, error=str(exc)))
            return
        self.post_message(self.Ended(event, written))

    def ask_to_replace(self, submitted: CompareForm.Submitted, replaces: tuple[str, ...]) -> None:
        def answered(replace: bool) -> None:
            if replace:
                self.compare(submitted, replace=True)
            else:
                self.post_message(self.Ended(error="not started: the outputs there are kept; choose another "
                                                   "output folder"))

        question = "\n".join(f"{line}." for line in replaces)
        self.app.push_screen(Confirm(f"{question}\n\nReplace them with this comparison's runs?", yes="Replace"),
                             answered)

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        self.rows = QueueRows(message.plan)
        self.queue_table.show_rows(self.rows.rows.values())
        self.status.update(f"Running {len(message.plan.requests)} model(s) one after another; "
                           "ctrl+x cancels (finished images are kept).")
        self.main.scroll_to_widget(self.queue_table)

    @on(QueueChanged)
    def _queue_changed(self, message: QueueChanged) -> None:
        event = message.event
        self.queue_table.update_rows(self.rows.apply(event))
        if isinstance(event, ModelEvent) and isinstance(event.event, Started) and self.queue is not None:
            pid = self.queue.running_pid
            self.app.runner_pids = frozenset({pid}) if pid else frozenset()
        elif isinstance(event, ModelEvent) and isinstance(event.event, (Finished, Failed)):
            self.app.runner_pids = frozenset()

    @on(StageChanged)
    def _stage_changed(self, message: StageChanged) -> None:
        self.status.update(f"Evaluating: {markup(message.text)}")

    @on(Ended)
    def _ended(self, message: Ended) -> None:
        self.queue = None
        self.running = False
        self.app.runner_pids = frozenset()
        self.form.set_running(False)
        ended, written = message.ended, message.written
        if message.error:
            self.status.update(f"Stopped: {markup(message.error)}")
            self.notify(notification(message.error), severity="error", title="Comparison", markup=False)
        elif ended is not None and ended.cancelled:
            self.status.update("Cancelled: the finished outputs and images are kept; Start again resumes.")
        elif written is not None:
            self.written = written
            self.paper_table.show(written.table)
            self.paper_table.remove_class("hidden")
            self.query_one(Figures).show(figure_series(written.data))
            published = written.data.get("published")
            self.query_one("#compare-published", Static).update(
                Text(published_text(published), no_wrap=True, overflow="ellipsis") if published else "")
            self.query_one("#compare-published", Static).set_class(not published, "hidden")
            self.form.set_gallery_ready(written.cases is not None)
            failed = f" {counted(len(written.failed), 'model')} failed (see comparison.json's `failed`)." if written.failed else ""
            self.status.update(f"Wrote {markup(written.json_file.name)} and {markup(written.report_file.name)} into "
                               f"{markup(written.json_file.parent)}; ctrl+f shows the failure cases.{failed}")
            self.main.scroll_to_widget(self.paper_table)
        elif ended is not None and ended.finished:
            self.status.update("No annotation file, so nothing was evaluated: fetch FashionFail's with "
                               "`fashionfail-tui dataset fetch`, or choose one, and Start again (the outputs are reused).")
        failures = written.failed if written is not None else [
            {"model": model, "reason": text} for model, text in (ended.failed if ended is not None else ())]
        for failure in failures:
            self.notify(notification(failure["reason"]), severity="error", title=notification(f"{failure['model']} failed"),
                        markup=False)

    def on_resize(self) -> None:
        """Keep in view what matters now: the queue while it runs, the table once it is there."""
        shown = self.queue_table if self.running else self.paper_table if self.paper_table.display else None
        if shown is not None:  # once the new size is laid out
            self.call_after_refresh(self.main.scroll_to_widget, shown, animate=False)

    # ----- cancel, gallery, quitting -----
    @on(Button.Pressed, "#compare-cancel")
    def action_cancel_comparison(self) -> None:
        if self.queue is not None:
            self.queue.cancel()
            self.status.update("Cancelling: the model running now stops after its image in flight.")

    @on(Button.Pressed, "#compare-gallery")
    def action_open_gallery(self) -> None:
        if self.written is None or self.written.cases is None:
            self.notify("The failure cases open here once a comparison has been evaluated.", severity="warning")
            return
        cases = self.written.cases
        self.app.push_screen(FailureGallery([m.file for m in cases.models], cases.truth.path, self.images, cases))

    def on_unmount(self) -> None:
        """Quitting the app stops the queue's runner: no orphan processes."""
        if self.queue is not None:
            self.queue.stop()
