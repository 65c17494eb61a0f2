"""The failure gallery: pick a case (an object every model missed, one some found, an image with the
most false positives) and see the image with each model's detections beside the ground truth.

Opened from the Compare screen (on the cases it found) or the Evaluate screen (it finds them here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static

from tui.comparison.gallery import GalleryCase
from tui.errors import UserError
from tui.evaluation.case_drawings import CaseDrawings
from tui.evaluation.failures import FailureCases, find_failures, load_models
from tui.evaluation.evaluator import Evaluator
from tui.evaluation.scoring import MATCHING_IOU
from tui.predictions.view import image_folders
from tui.text import markup, notification
from tui.units import counted
from tui.widgets.compare.gallery import CaseList, PanelGrid
from tui.widgets.footer import AppFooter

PANEL_PIXELS = 640
"""Longest side each panel is drawn at."""


class FailureGallery(Screen):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    @dataclass
    class CasesFound(Message):
        cases: FailureCases

    @dataclass
    class CasesFailed(Message):
        message: str

    @dataclass
    class PanelsDrawn(Message):
        case: GalleryCase
        panels: list[tuple[str, PILImage.Image | None, str]]

    def __init__(self, files: list[Path], annotations: Path, images: Path | None = None,
                 cases: FailureCases | None = None, family: str | None = None):
        """`family`: read the files as this family (or model), as the Evaluate screen's "read as" says;
        None detects it from each file."""
        super().__init__()
        self.family = family
        self.files = [Path(f) for f in files]
        self.annotations = Path(annotations)
        self.images = images
        self.cases = cases
        self.chosen: GalleryCase | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Finding the failure cases of {len(self.files)} file(s)...", id="gallery-status")
        with Horizontal(id="gallery-body"):
            yield CaseList(id="gallery-cases")
            with Vertical(id="gallery-main"):
                yield Static("", id="gallery-case-title")
                yield PanelGrid(id="gallery-panels")
        yield AppFooter()

    @property
    def case_list(self) -> CaseList:
        return self.query_one(CaseList)

    @property
    def panel_grid(self) -> PanelGrid:
        return self.query_one(PanelGrid)

    @property
    def status(self) -> Static:
        return self.query_one("#gallery-status", Static)

    def on_mount(self) -> None:
        if self.cases is not None:
            self.post_message(self.CasesFound(self.cases))
        else:
            self.find_cases()

    @work(thread=True, exclusive=True, group="gallery-cases")
    def find_cases(self) -> None:
        try:
            truth = Evaluator(self.annotations).truth
            self.post_message(self.CasesFound(find_failures(load_models(self.files, family=self.family), truth)))
        except UserError as exc:
            self.post_message(self.CasesFailed(str(exc)))

    @on(CasesFound)
    def _cases_found(self, message: CasesFound) -> None:
        cases = self.cases = message.cases
        self.status.update(f"{markup(cases.truth.path.name)}: {counted(len(cases.objects), 'object')}, {'boxes' if cases.iou_type == 'bbox' else 'masks'} "
                           f"matched at IoU {MATCHING_IOU:g}, detections scoring at least {cases.min_score:g} drawn. "
                           "Escape goes back.")
        self.panel_grid.set_count(len(cases.models) + 1)
        self.case_list.show(cases)

    @on(CasesFailed)
    def _cases_failed(self, message: CasesFailed) -> None:
        self.status.update(f"No failure cases: {markup(message.message)}")
        self.notify(notification(message.message), severity="error", title="Failure cases", markup=False)

    @on(CaseList.CaseChosen)
    def _case_chosen(self, message: CaseList.CaseChosen) -> None:
        self.chosen = message.case
        self.query_one("#gallery-case-title", Static).update(f"{markup(message.case.image)}: {markup(message.case.summary)}")
        for picture in self.panel_grid.pictures:
            picture.show_placeholder("", "Drawing...")
        self.draw(message.case)

    @work(thread=True, exclusive=True, group="gallery-draw")
    def draw(self, case: GalleryCase) -> None:
        """The case's pictures, drawn in this thread (one image read, N+1 drawings)."""
        folders = image_folders(self.images, [m.predictions for m in self.cases.models])
        drawings = CaseDrawings(self.cases, folders, max_size=PANEL_PIXELS)
        panels = []
        for label, caption in ((None, case.ground_truth), *case.panels):
            try:
                drawn = drawings.draw(case.image, label)
            except UserError as exc:  # a corrupt mask: say so instead of drawing
                panels.append((caption, None, str(exc)))
                continue
            note = f"{case.image} not found (looked in {', '.join(map(str, folders))})" \
                if case.image in drawings.missing else ""
            panels.append((caption, drawn, note))
        self.post_message(self.PanelsDrawn(case, panels))

    @on(PanelsDrawn)
    def _panels_drawn(self, message: PanelsDrawn) -> None:
        if message.case == self.chosen:
            self.panel_grid.show(message.panels)
