"""STAND-IN (test-only): a fake Attribute Mask R-CNN. Detections are a function of the pixels."""

import numpy as np
import tensorflow.compat.v1 as tf

MAX = 100


def fake_outputs(image, image_info, with_masks):
    """image: [1, S, S, 3] normalized; image_info: [1, 4, 2]. Boxes in the resized image's pixels."""
    size = image.shape[1]
    level = float(np.abs(image).mean())
    count = 1 + int(level * 1000) % 3
    rng = np.random.RandomState(int(level * 1e6) % (2 ** 31))
    boxes = np.zeros((1, MAX, 4), np.float32)
    y0 = rng.uniform(0, size / 2, count)
    x0 = rng.uniform(0, size / 2, count)
    boxes[0, :count] = np.stack([y0, x0, y0 + rng.uniform(8, size / 2, count), x0 + rng.uniform(8, size / 2, count)], 1)
    scores = np.zeros((1, MAX), np.float32)
    scores[0, :count] = np.sort(rng.uniform(0.05, 1, count))[::-1]
    classes = np.zeros((1, MAX), np.float32)
    classes[0, :count] = rng.randint(1, 47, count)
    out = {
        "num_detections": np.array([count], np.float32),
        "detection_boxes": boxes,
        "detection_classes": classes,
        "detection_scores": scores,
        "detection_attributes": rng.uniform(0, 1, (1, MAX, 294)).astype(np.float32),
    }
    if with_masks:
        out["detection_masks"] = rng.uniform(0, 1, (1, MAX, 28, 28)).astype(np.float32)
    return out


class FakeModel:
    def __init__(self, params):
        self.with_masks = bool(params.get("masks", True))

    def build_outputs(self, images, labels, mode=None):
        keys = ["num_detections", "detection_boxes", "detection_classes", "detection_scores", "detection_attributes"]
        if self.with_masks:
            keys.append("detection_masks")
        whole = tf.lazy(lambda i, info: fake_outputs(i, info, self.with_masks), images, labels["image_info"])
        return {k: tf.lazy(lambda d, k=k: d[k], whole) for k in keys}


def model_generator(params):
    return FakeModel(params)
