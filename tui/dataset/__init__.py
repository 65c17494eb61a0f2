"""The FashionFail dataset in the cache (no Textual here): `ff_<split>.json` and `images/<split>/`.

    fetch_annotations(split, config, on_progress=None) -> Annotations
        the annotation file, downloaded when absent (Hugging Face, or [dataset] annotations_url).
    fetch_images(annotations, on_image=None, workers=8) -> SplitSummary
        every listed image, checked to decode at the annotation's size before it lands; resumable.
    dataset_states() -> list[SplitState]      per split: annotations present, images expected/present/verified
    describe_split(state) -> str              'test: 1001/1001 images'
    describe_dataset(states) -> str           all splits on one line, with the command that fetches what is missing
"""

from typing import TYPE_CHECKING

from tui.lazy import exports

if TYPE_CHECKING:
    from tui.dataset.annotations import SPLITS, Annotations, ImageEntry, annotations_url, fetch_annotations
    from tui.dataset.images import ImageOutcome, SplitSummary, fetch_images
    from tui.dataset.status import SplitState, dataset_states, describe_dataset, describe_split, fetch_hint, split_state

__getattr__, __all__ = exports(__name__, {
    "annotations": ("SPLITS", "Annotations", "ImageEntry", "annotations_url", "fetch_annotations"),
    "images": ("ImageOutcome", "SplitSummary", "fetch_images"),
    "status": ("SplitState", "dataset_states", "describe_dataset", "describe_split", "fetch_hint", "split_state"),
})
