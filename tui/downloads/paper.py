"""Whether a model's checkpoint is the one the paper published, as far as anything can tell.

True when the file matches the checksum the official source (the catalog's url) stated when the app
fetched from it: Hugging Face's `X-Linked-Etag` sha256, Google Cloud Storage's `x-goog-hash` md5 (for a
tarball, the tarball's, recorded with each unpacked file). False when its size is more than 1% off
the paper's file (the catalog's `size`), or when its checksum differs from what the official source
stated (a file imported over one fetched from there). None when nothing can be told: fetched from
another url, imported without an earlier official fetch, changed since it was hashed, or a model
whose source states no checksum (FashionFormer's OneDrive).

People fine-tune: "not the paper's checkpoint" is a warning, never a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from tui.catalog import Model
from tui.config import Config
from tui.downloads import manifest
from tui.downloads.state import model_files_state
from tui.errors import redact
from tui.units import human_size

SIZE_TOLERANCE = 0.01
"""How far (a share of the paper's file size) a checkpoint's size may be off and still be the paper's."""
NOT_THE_PAPERS = "not the paper's checkpoint"


@dataclass(frozen=True)
class PaperCheck:
    paper: bool | None
    reason: str
    """Why, in words: `facere_base.onnx is 468.0 kB; the paper's is about 185.0 MB`."""

    @property
    def warning(self) -> str | None:
        """`not the paper's checkpoint (...)` when it is not; None otherwise."""
        return f"{NOT_THE_PAPERS} ({self.reason})" if self.paper is False else None


def paper_checkpoint(model: Model, config: Config) -> PaperCheck:
    """The verdict for the checkpoint the cache (or the config's `file`) holds for `model`."""
    state = model_files_state(model, config)
    if not state.usable:
        return PaperCheck(None, "the checkpoint is not there")
    expected = model.weights.size
    if expected and state.kind != "tar":
        size = state.size
        if abs(size - expected) > SIZE_TOLERANCE * expected:
            name = state.files[0].path.name
            return PaperCheck(False, f"{name} is {human_size(size)}; the paper's is about {human_size(expected)}")
    if any(f.state == "external" for f in state.files):
        return PaperCheck(None, "a file the config names: no checksum was stated for it")
    official = redact(model.weights.url) if model.weights.url else None
    statements = []
    for file in state.files:
        entry = manifest.get(file.path)
        stated = entry.stated if entry else None
        if stated and stated.get("url") == official and stated.get("matches") is False:
            return PaperCheck(False, f"its {stated.get('algorithm')} differs from the one {_host(official)} states "
                                     "for the paper's file")
        statements.append((file, stated))
    for file, stated in statements:
        if not stated or official is None or stated.get("url") != official:
            return PaperCheck(None, "no checksum stated by the official source was recorded for it")
        if file.state != "verified":
            return PaperCheck(None, f"{file.name} changed since it was checked (`c` on the Models screen checks it)")
    algorithm = statements[0][1].get("algorithm")
    return PaperCheck(True, f"matches the {algorithm} {_host(official)} states for the paper's file")


def _host(url: str | None) -> str:
    return urlsplit(url or "").hostname or "the official source"
