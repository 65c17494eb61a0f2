"""STAND-IN (test-only): paste each mask into its box, nearest neighbour, threshold 0.5."""

import numpy as np


def paste_instance_masks(masks, detected_boxes, image_height, image_width):
    segms = np.zeros((len(masks), image_height, image_width), np.uint8)
    for i, (mask, (x, y, w, h)) in enumerate(zip(masks, detected_boxes)):
        x0, y0 = max(int(x), 0), max(int(y), 0)
        x1, y1 = min(int(x + w) + 1, image_width), min(int(y + h) + 1, image_height)
        if x1 <= x0 or y1 <= y0:
            continue
        ys = ((np.arange(y0, y1) - y) / max(h, 1) * mask.shape[0]).astype(int).clip(0, mask.shape[0] - 1)
        xs = ((np.arange(x0, x1) - x) / max(w, 1) * mask.shape[1]).astype(int).clip(0, mask.shape[1] - 1)
        segms[i, y0:y1, x0:x1] = mask[ys][:, xs] > 0.5
    return segms
