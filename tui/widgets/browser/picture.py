"""One file's drawing of the selected image, or a placeholder saying why there is none."""

from __future__ import annotations

from PIL import Image as PILImage
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_image.renderable.unicode import Image as UnicodeRenderable
from textual_image.widget import HalfcellImage
from textual_image.widget import Image as TerminalImage

from tui.text import visible

# textual-image picks terminal graphics (sixel, kitty) or coloured half-blocks when attached to a
# terminal, and grey shade characters otherwise; inside Textual colours always work, so half-blocks
# replace the grey fallback (headless runs, tests and screenshots).
Image = HalfcellImage if TerminalImage._Renderable is UnicodeRenderable else TerminalImage


class Picture(Vertical):
    DEFAULT_CSS = """
    Picture {
        width: 1fr;
        height: 1fr;
    }
    Picture .picture-caption {
        height: 1;
        color: $text-muted;
    }
    Picture .picture-image {
        width: auto;
        height: 1fr;
    }
    Picture .picture-placeholder {
        color: $warning;
        height: auto;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("", classes="picture-caption", markup=False)  # file names and typed text, shown as they are
        yield Image(classes="picture-image")
        yield Static("Open a prediction file to see its images.", classes="picture-placeholder", markup=False)

    @property
    def caption(self) -> Static:
        return self.query_one(".picture-caption", Static)

    @property
    def image(self) -> Image:
        return self.query_one(".picture-image", Image)

    @property
    def placeholder(self) -> Static:
        return self.query_one(".picture-placeholder", Static)

    @property
    def drawn(self) -> PILImage.Image | None:
        return self.image.image if isinstance(self.image.image, PILImage.Image) else None

    def show_drawing(self, caption: str, drawn: PILImage.Image, note: str = "") -> None:
        """The drawing; `note` (e.g. 'image not found') shows under it."""
        self.caption.update(visible(caption))
        self.image.image = drawn
        self.placeholder.update(visible(note))
        self.placeholder.display = bool(note)

    def show_placeholder(self, caption: str, message: str) -> None:
        self.caption.update(visible(caption))
        self.image.image = None
        self.placeholder.update(visible(message))
        self.placeholder.display = True
