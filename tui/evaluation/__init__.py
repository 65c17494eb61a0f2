"""Evaluation the paper's way: COCOeval on categories 0..26 and the weighted metrics over 22 of them.

No Textual here: the `eval` command and the Evaluate screen both drive this package.
"""

from typing import TYPE_CHECKING

from tui.lazy import exports

if TYPE_CHECKING:
    from tui.evaluation.ground_truth import GroundTruth, load_ground_truth
    from tui.evaluation.results import IOU_TYPES, METRICS, CategoryResult, Evaluation, ImageErrors
    from tui.evaluation.scoring import evaluate_predictions

__getattr__, __all__ = exports(__name__, {
    "ground_truth": ("GroundTruth", "load_ground_truth"),
    "results": ("IOU_TYPES", "METRICS", "CategoryResult", "Evaluation", "ImageErrors"),
    "scoring": ("evaluate_predictions",),
})
