"""The Evaluate screen: prediction files scored the paper's way, side by side, with where each goes wrong."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.worker import get_current_worker
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, ProgressBar, Static

from tui import paths
from tui.errors import UserError
from tui.evaluation import Evaluation
from tui.evaluation.evaluator import Evaluator
from tui.evaluation.figures import figure_series
from tui.evaluation.report import by_file, comparison, coverage_notes
from tui.screens import NavEntry
from tui.screens.browse import open_in_browser
from tui.screens.failure_gallery import FailureGallery
from tui.text import markup, notification
from tui.widgets.evaluate.category_bars import CategoryBars
from tui.widgets.evaluate.comparison import ComparisonTable
from tui.widgets.evaluate.form import EvaluationForm
from tui.widgets.evaluate.worst_images import WorstImages
from tui.widgets.figures import Figures
from tui.widgets.footer import AppFooter


class EvaluateScreen(Screen):
    NAV = NavEntry("evaluate", "v", "Evaluate", "Score prediction files the paper's way (weighted mAP), side by side",
                   order=50)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    AUTO_FOCUS = "#comparison"  # not a text field: the area keys work as soon as the screen opens
    BINDINGS = [Binding("a", "add_files", "Add files", tooltip="Type or paste a prediction file or folder"),
                Binding("ctrl+f", "open_gallery", "Failure cases",
                        tooltip="The evaluated files' failure cases, each model's detections beside the ground truth")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.evaluations: list[Evaluation] = []
        self.read_as: str | None = None
        """The family (or model) the evaluated files were read as; None: detected from each file."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Pick prediction files and an annotation file. Errors are counted at IoU 0.5; "
                     "results are cached beside each prediction file.",
                     classes="intro")
        default = paths.fashionfail_dir() / "ff_test.json"
        yield EvaluationForm(default if default.is_file() else None, id="evaluation-form")
        with Horizontal(id="evaluation-progress", classes="hidden"):
            yield Label("", id="progress-label")
            yield ProgressBar(total=1.0, show_eta=False, id="progress-bar")
        yield ComparisonTable(id="comparison")
        yield Static("", id="coverage", classes="hidden")
        with Horizontal(id="evaluation-details"):
            with VerticalScroll(id="bars-scroll"):
                yield Figures(id="evaluate-figures", classes="hidden")
                yield CategoryBars("Evaluate some files to see their AP per category.", id="category-bars")
            with Vertical(id="worst-pane"):
                yield WorstImages(id="worst-images")
        yield AppFooter()

    @property
    def form(self) -> EvaluationForm:
        return self.query_one(EvaluationForm)

    @property
    def comparison(self) -> ComparisonTable:
        return self.query_one(ComparisonTable)

    @property
    def category_bars(self) -> CategoryBars:
        return self.query_one(CategoryBars)

    @property
    def worst_images(self) -> WorstImages:
        return self.query_one(WorstImages)

    @property
    def coverage(self) -> Static:
        return self.query_one("#coverage", Static)

    @property
    def progress_row(self) -> Horizontal:
        return self.query_one("#evaluation-progress", Horizontal)

    def action_add_files(self) -> None:
        self.form.file_input.focus()

    @on(EvaluationForm.Submitted)
    def _start(self, event: EvaluationForm.Submitted) -> None:
        self.progress_row.remove_class("hidden")
        self.read_as = event.family
        self.evaluate_files(event.files, event.annotations, event.iou_types, event.family)

    @work(thread=True, exclusive=True, group="evaluate")
    def evaluate_files(self, files: list[Path], annotations: Path, iou_types: tuple[str, ...],
                       family: str | None) -> None:
        """Each file in turn; a file that fails is reported and skipped, the others still shown."""
        try:
            evaluator = Evaluator(annotations)
        except UserError as exc:
            self.app.call_from_thread(self._failed, files, str(exc))
            self.app.call_from_thread(self._finish)
            return
        worker = get_current_worker()
        for number, path in enumerate(files, start=1):
            if worker.is_cancelled:  # a newer request replaced this one
                return

            def report(fraction: float, stage: str, path=path, number=number) -> None:
                self.app.call_from_thread(self._show_progress, f"{number}/{len(files)} {path.name}: {stage}", fraction)

            try:
                found = evaluator.evaluate(path, iou_types, family=family, on_progress=report)
            except UserError as exc:
                self.app.call_from_thread(self._failed, [path], str(exc))
                continue
            self.app.call_from_thread(self._add_results, found)
        self.app.call_from_thread(self._finish)

    def _show_progress(self, text: str, fraction: float) -> None:
        self.query_one("#progress-label", Label).update(markup(text))
        self.query_one(ProgressBar).update(progress=fraction)

    def _finish(self) -> None:
        self.progress_row.add_class("hidden")

    def _failed(self, files: list[Path], error: str) -> None:
        """Files that failed to evaluate keep no results from before: they would pass for this evaluation's."""
        self.notify(notification(error), severity="error", title="evaluation failed", markup=False)
        failed = {str(f) for f in files}
        self._show_results([e for e in self.evaluations if e.file not in failed])

    def _add_results(self, found: list[Evaluation]) -> None:
        replaced = {(e.file, e.iou_type) for e in found}
        self._show_results([e for e in self.evaluations if (e.file, e.iou_type) not in replaced] + found)

    def _show_results(self, evaluations: list[Evaluation]) -> None:
        self.evaluations = evaluations
        self.comparison.show(evaluations)
        self.query_one(Figures).show(
            figure_series(comparison(evaluations[0].annotations, evaluations)) if evaluations else [])
        self._show_details(self.comparison.selected_file)

    def _show_details(self, file: str | None) -> None:
        by_type = by_file(self.evaluations).get(file, {}) if file else {}
        notes = coverage_notes(next(iter(by_type.values()))) if by_type else []
        self.coverage.update("\n".join(map(markup, notes)))
        self.coverage.set_class(not notes, "hidden")
        self.category_bars.show(by_type)
        self.worst_images.show(by_type)

    @on(DataTable.RowHighlighted, "#comparison")
    def _file_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_details(event.row_key.value)

    def action_open_gallery(self) -> None:
        files = [Path(file) for file in by_file(self.evaluations)]
        if not files:
            self.notify("Evaluate some files first: their failure cases open here.", severity="warning")
            return
        self.app.push_screen(FailureGallery(files, Path(self.evaluations[0].annotations), family=self.read_as))

    @on(WorstImages.ImageChosen)
    def _open_image(self, event: WorstImages.ImageChosen) -> None:
        open_in_browser(self.app, [Path(event.file)], image=event.image_file)
