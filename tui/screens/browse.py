"""The prediction browser: one or two prediction files, image by image, with masks drawn.

Other screens open files here with `open_in_browser(app, files)` (e.g. the Run screen after a run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Input, ProgressBar, Static

from tui.errors import UserError
from tui.evaluation.report import short_paths
from tui.image_files import ImageRefused, decoded_rgb
from tui.predictions import PredictionSet, load_predictions
from tui.predictions.render import export_png, render
from tui.predictions.view import (DetectionFilter, detection_rows, find_image, image_folders, image_of,
                                  kept_counts)
from tui.screens import NavEntry
from tui.text import markup, notification
from tui.units import counted
from tui.widgets.browser.detections_table import DetectionsTable
from tui.widgets.browser.file_bar import FileBar
from tui.widgets.browser.filter_bar import FilterBar
from tui.widgets.browser.image_list import ImageList
from tui.widgets.browser.picture import Picture
from tui.widgets.footer import AppFooter
from tui.widgets.run.picker import PathPicker

LABELS = ("A", "B")
SCORE_KEYS = Binding.Group("Score")
DEFAULT_THRESHOLD = 0.5
SCREEN_PIXELS = 1024
"""The longest side the on-screen drawing is rendered at; exports use the full image."""


def open_in_browser(app: App, files: list[Path], images_dir: Path | None = None, image: str | None = None) -> None:
    """Switch to the browser and open these prediction files (the first two; the second is compared),
    showing `image` first when given."""
    app.switch_mode(BrowseScreen.NAV.mode)
    screen = app.screen
    if isinstance(screen, BrowseScreen):
        screen.open_files(list(files), images_dir, image)


class BrowseScreen(Screen):
    NAV = NavEntry("browse", "b", "Browse", "Prediction files image by image, masks drawn, two models side by side", order=40)
    BINDINGS = [
        Binding("o", "focus_files", "Open file"),
        Binding("e", "export_png", "Export",
                tooltip="Save what is drawn as PNGs at full resolution, into a folder you choose"),
        Binding("plus,equals_sign", "step_threshold(1)", "Score +", key_display="+", group=SCORE_KEYS),
        Binding("minus", "step_threshold(-1)", "Score -", key_display="-", group=SCORE_KEYS),
        Binding("slash", "focus_image_filter", "Filter images", show=False),  # in ctrl+p: the footer is cut at 80
    ]

    @dataclass
    class FileLoaded(Message):
        slot: int
        predictions: PredictionSet

    @dataclass
    class LoadFailed(Message):
        slot: int
        path: Path
        message: str

    @dataclass
    class LoadProgressed(Message):
        slot: int
        fraction: float
        stage: str

    @dataclass
    class PicturesDrawn(Message):
        name: str
        detection_filter: DetectionFilter
        """The filter drawn with: a drawing finished after the filter changed again is not shown."""
        pictures: list[tuple[str, PILImage.Image | None, str]]
        """(caption, drawing or None, note) per open file."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.files: list[Path] = []
        self.sets: list[PredictionSet | None] = []
        self.images_dir: Path | None = None
        self.detection_filter = DetectionFilter(threshold=DEFAULT_THRESHOLD)
        self._progress: dict[int, float] = {}
        """Fraction loaded per slot of the files being opened."""
        self._loading: set[int] = set()
        self._pending: tuple[list[Path], Path | None, str | None] | None = None
        self._wanted_image: str | None = None
        self._ready = False

    def compose(self) -> ComposeResult:
        self.detection_filter = DetectionFilter(threshold=_remembered_threshold(self.app))
        yield Header()
        yield FileBar(id="file-bar")
        with Horizontal(id="load-status", classes="hidden"):
            yield ProgressBar(total=1.0, show_eta=False, id="load-progress")
            yield Static("", id="load-stage")
        with Horizontal(id="browser-body"):
            yield ImageList(id="image-list")
            with Vertical(id="browser-main"):
                yield FilterBar(threshold=self.detection_filter.threshold, id="filter-bar")
                with Horizontal(id="pictures"):
                    yield Picture(id="picture-a")
                    yield Picture(id="picture-b", classes="hidden")
        yield DetectionsTable(id="detections")  # the whole width: box and mask area fit at 80 columns
        yield AppFooter()

    # ----- typed accessors -----
    @property
    def file_bar(self) -> FileBar:
        return self.query_one(FileBar)

    @property
    def image_list(self) -> ImageList:
        return self.query_one(ImageList)

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    @property
    def detections_table(self) -> DetectionsTable:
        return self.query_one(DetectionsTable)

    @property
    def pictures(self) -> list[Picture]:
        return [self.query_one("#picture-a", Picture), self.query_one("#picture-b", Picture)]

    @property
    def progress_bar(self) -> ProgressBar:
        return self.query_one("#load-progress", ProgressBar)

    @property
    def selected_name(self) -> str | None:
        return self.image_list.selected_name

    @property
    def loaded_sets(self) -> list[PredictionSet]:
        return [s for s in self.sets if s is not None]

    # ----- opening files -----
    def on_mount(self) -> None:
        self._ready = True
        launch = getattr(self.app, "launch", None)
        if self._pending is None and launch is not None and launch.browse_files:
            self._pending = (list(launch.browse_files), launch.images_dir, None)
        if self._pending is not None:
            self.open_files(*self._pending)
        else:  # not the file field: the area keys keep working; `o` goes there
            self.image_list.table.focus()
            self.notify("o opens a prediction file (or type its path into the bar at the top)", timeout=4)

    def open_files(self, files: list[Path], images_dir: Path | None = None, image: str | None = None) -> None:
        """Load up to two prediction files (in workers); the second is drawn beside the first.
        `image`, when given, is the image selected once they are loaded."""
        if not self._ready:  # opened from elsewhere before this screen was mounted: on_mount opens them
            self._pending = (files, images_dir, image)
            return
        self._pending = None
        self._wanted_image = image
        self.files = [Path(f).expanduser() for f in files[:2]]
        self.images_dir = images_dir if images_dir is not None else self.images_dir
        self.sets = [None] * len(self.files)
        self._progress = {slot: 0.0 for slot in range(len(self.files))}
        self._loading = set(self._progress)
        self.file_bar.show_files(self.files)
        self.image_list.show_images([], [], [])
        self.detections_table.show_rows([])
        for picture in self.pictures:
            picture.show_placeholder("", "Loading...")
        self.pictures[1].set_class(len(self.files) < 2, "hidden")
        self.query_one("#load-status").remove_class("hidden")
        self.progress_bar.update(total=1.0, progress=0.0)
        self.image_list.table.focus()
        for slot, path in enumerate(self.files):
            self.load_file(slot, path)

    @work(thread=True, group="load")
    def load_file(self, slot: int, path: Path) -> None:
        def progressed(fraction: float, stage: str) -> None:
            self.post_message(self.LoadProgressed(slot, fraction, stage))

        try:
            family = self.app.launch.family if path in self.app.launch.browse_files else None
            self.post_message(self.FileLoaded(slot, load_predictions(path, family=family, on_progress=progressed)))
        except UserError as exc:
            self.post_message(self.LoadFailed(slot, path, str(exc)))
        except MemoryError:
            self.post_message(self.LoadFailed(slot, path, f"{path} is too large to load in this much memory"))

    @on(FileBar.FilesChosen)
    def files_chosen(self, event: FileBar.FilesChosen) -> None:
        self.open_files(event.files)

    @on(LoadProgressed)
    def load_progressed(self, event: LoadProgressed) -> None:
        if event.slot in self._loading:
            self._progress[event.slot] = event.fraction
            self.progress_bar.update(progress=sum(self._progress.values()) / len(self._progress))
            self.query_one("#load-stage", Static).update(f"{markup(event.stage)} {markup(self.files[event.slot].name)}")

    @on(FileLoaded)
    def file_loaded(self, event: FileLoaded) -> None:
        if not self._is_current(event.slot, event.predictions.path):
            return
        self.sets[event.slot] = event.predictions
        self._loading.discard(event.slot)
        predictions = event.predictions
        self.notify(notification(f"{predictions.path.name}: {counted(len(predictions), 'image')}, "
                                 f"{counted(predictions.columns.scores.size, 'detection')} "
                                 f"({predictions.model or predictions.family})"), timeout=4, markup=False)
        self._show_image_list()
        self._finish_loading_if_done()

    @on(LoadFailed)
    def load_failed(self, event: LoadFailed) -> None:
        if not self._is_current(event.slot, event.path):
            return
        self._loading.discard(event.slot)
        self.pictures[event.slot].show_placeholder("", event.message)
        self.notify(notification(event.message), severity="error", title="Cannot open", markup=False)
        self._finish_loading_if_done()

    def _is_current(self, slot: int, path: Path) -> bool:
        """False for the result of a load the user has replaced by opening other files since."""
        return slot < len(self.files) and self.files[slot] == path

    def _finish_loading_if_done(self) -> None:
        if not self._loading:
            self.query_one("#load-status").add_class("hidden")
            self._wanted_image = None

    def _show_image_list(self) -> None:
        loaded = [(LABELS[slot], s) for slot, s in enumerate(self.sets) if s is not None]
        names = list(dict.fromkeys(name for _, s in loaded for name in s.image_names))
        counts = []
        for _, predictions in loaded:  # what the filter keeps: the counts follow the threshold
            per_name = dict(zip(predictions.image_names, kept_counts(predictions.columns, self.detection_filter).tolist()))
            counts.append([per_name.get(name, 0) for name in names])
        self.image_list.show_images(names, [np.asarray(c) for c in counts], [label for label, _ in loaded],
                                    select=self._wanted_image)
        self.show_selection()

    # ----- the selected image -----
    @on(ImageList.ImageSelected)
    def image_selected(self) -> None:
        self.show_selection()

    @on(FilterBar.FiltersChanged)
    def filters_changed(self, event: FilterBar.FiltersChanged) -> None:
        self.detection_filter = event.detection_filter
        self.app.remember(browse_threshold=f"{event.detection_filter.threshold:.2f}")
        if self.loaded_sets:
            self._show_image_list()  # its counts follow the filter; it keeps and shows the selection
        else:
            self.show_selection()

    @on(Input.Changed, "#image-filter")
    def image_filter_changed(self) -> None:
        if self.selected_name is None:  # the list refilled empty: nothing of the image before stays
            self.show_selection()

    def show_selection(self) -> None:
        """Fill the detections table now and draw the pictures in a worker."""
        name = self.selected_name
        if name is None:
            self._show_no_image()
            return
        self.detections_table.show_rows([
            (LABELS[slot], detection_rows(image, self.detection_filter.keep(image)))
            for slot, image in self._selected_images(name)
        ])
        self.draw_pictures(name, self.detection_filter)

    def _show_no_image(self) -> None:
        """The list is empty (a name filter that matches nothing, or files without images)."""
        if self._loading:
            return  # the pictures say "Loading..."
        term = self.image_list.name_filter.value.strip()
        message = f"No image name contains '{term}'." if term else "The open files have no images."
        self.detections_table.show_rows([])
        for picture in self.pictures:
            picture.show_placeholder("", message)

    def _selected_images(self, name: str):
        return [(slot, image_of(s, name)) for slot, s in enumerate(self.sets) if s is not None]

    def _caption(self, slot: int) -> str:
        """`A: facere.npz (facere)`; two files of one name are told apart by their folders (`run2/facere.npz`)."""
        predictions = self.sets[slot]
        shown = short_paths([str(path) for path in self.files])[slot]
        return f"{LABELS[slot]}: {shown} ({predictions.model or predictions.family})"

    @work(thread=True, exclusive=True, group="draw")
    def draw_pictures(self, name: str, detection_filter: DetectionFilter) -> None:
        source, note = self._open_image(name)
        pictures = []
        for slot, image in self._selected_images(name):
            kept = detection_filter.keep(image)
            caption = f"{name} · {self._caption(slot)}, {int(kept.sum())} of {len(image)} shown"
            try:
                pictures.append((caption, render(image, source, keep=kept, max_size=SCREEN_PIXELS), note))
            except UserError as exc:  # a corrupt mask: say so instead of drawing
                pictures.append((caption, None, str(exc)))
        self.post_message(self.PicturesDrawn(name, detection_filter, pictures))

    def _open_image(self, name: str) -> tuple[PILImage.Image | None, str]:
        folders = image_folders(self.images_dir, self.loaded_sets)
        found = find_image(name, folders)
        if found is None:
            return None, f"{name} not found (looked in {', '.join(str(f) for f in folders)})"
        try:
            return decoded_rgb(found), ""
        except (OSError, ImageRefused) as exc:
            return None, f"{found} cannot be read ({exc})"

    @on(PicturesDrawn)
    def pictures_drawn(self, event: PicturesDrawn) -> None:
        if event.name != self.selected_name or event.detection_filter != self.detection_filter:
            return  # drawn for what is no longer selected: its counts would not match the table
        for picture, (caption, drawn, note) in zip(self.pictures, event.pictures):
            if drawn is None:
                picture.show_placeholder(caption, note)
            else:
                picture.show_drawing(caption, drawn, note)

    # ----- actions -----
    def action_focus_files(self) -> None:
        self.file_bar.first.focus()

    def action_focus_image_filter(self) -> None:
        self.image_list.name_filter.focus()

    def action_step_threshold(self, steps: int) -> None:
        self.filter_bar.step_threshold(steps)

    def action_export_png(self) -> None:
        if self.selected_name is None:
            self.notify("Open a prediction file and select an image first", severity="warning")
            return
        name, detection_filter = self.selected_name, self.detection_filter
        start = self.files[0].parent if self.files else Path.cwd()  # beside the prediction file, as a start

        def chosen(folder: Path | None) -> None:
            if folder is not None:
                self.export_pictures(name, detection_filter, folder)

        self.app.push_screen(PathPicker(f"Export the PNGs of {name} into", start), chosen)

    @work(thread=True, exclusive=True, group="export")
    def export_pictures(self, name: str, detection_filter: DetectionFilter, folder: Path) -> None:
        source, _ = self._open_image(name)
        selected = self._selected_images(name)
        stems = [self.sets[slot].path.stem for slot, _ in selected]
        written = []
        try:
            if not folder.is_dir():
                raise UserError(f"{folder} is not a folder")
            for slot, image in selected:
                drawn = render(image, source, keep=detection_filter.keep(image))
                stem = self.sets[slot].path.stem  # two files of one model (both facere.npz): A and B tell them apart
                tag = f"{stem}.{LABELS[slot]}" if stems.count(stem) > 1 else stem
                written.append(export_png(drawn, folder / f"{Path(name).stem}.{tag}.png").name)
        except UserError as exc:
            self.app.call_from_thread(self.notify, notification(exc), severity="error", title="Export failed", markup=False)
            return
        self.app.call_from_thread(self.notify, notification(f"Exported {', '.join(written)} into {folder}"), timeout=8,
                                  markup=False)


def _remembered_threshold(app) -> float:
    """The score threshold the Browse screen had last time; 0.50 the first time (or for a bad value)."""
    try:
        value = float(getattr(getattr(app, "remembered", None), "browse_threshold", None) or DEFAULT_THRESHOLD)
    except ValueError:
        return DEFAULT_THRESHOLD
    return value if 0.0 <= value <= 1.0 else DEFAULT_THRESHOLD
