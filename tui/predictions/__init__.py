"""Prediction files, normalized: whatever family wrote them, one in-memory view.

Loading (the safe unpickler, format detection, the cached index) lives in this package; the
browser, `inspect` and evaluation all read predictions through it.
"""

from typing import TYPE_CHECKING

from tui.lazy import exports

if TYPE_CHECKING:
    from tui.predictions.columns import decode_mask
    from tui.predictions.image import ImagePredictions
    from tui.predictions.loading import ImageSequence, PredictionSet, load_predictions

__getattr__, __all__ = exports(__name__, {
    "columns": ("decode_mask",),
    "image": ("ImagePredictions",),
    "loading": ("ImageSequence", "PredictionSet", "load_predictions"),
})
