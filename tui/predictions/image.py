"""`ImagePredictions`: one image's detections, what the browser, evaluation and export get per image."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tui.predictions.columns import decode_mask


@dataclass
class ImagePredictions:
    """One image's detections, in the app's conventions whatever the source file's were."""

    image_file: str
    """The image's basename (tar member paths and directories stripped)."""
    boxes: np.ndarray
    """float32 [N, 4], xyxy, original-image pixels; float64 where the file stores float64."""
    category_ids: np.ndarray
    """int64 [N], Fashionpedia category ids 0..45."""
    scores: np.ndarray
    """float32 [N]; float64 where the file stores float64."""
    masks: list[dict] = field(default_factory=list)
    """N pycocotools RLEs {size: [h, w], counts: bytes}; decoded only where needed."""

    def __len__(self) -> int:
        return len(self.scores)

    def mask(self, detection: int) -> np.ndarray | None:
        """Detection's mask as a bool [h, w] array, decoded now; None when it has none."""
        rle = self.masks[detection] if detection < len(self.masks) else None
        return None if rle is None else decode_mask(rle)
