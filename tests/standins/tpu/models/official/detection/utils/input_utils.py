"""STAND-IN (test-only)."""

import numpy as np
import tensorflow.compat.v1 as tf


def normalize_image(image):
    return tf.lazy(lambda a: (a.astype(np.float32) / 255.0 - 0.5), image)


def resize_and_crop_image(image, desired_size, padded_size, aug_scale_min=1.0, aug_scale_max=1.0):
    def resize(a):
        h, w = a.shape[:2]
        scale = min(desired_size[0] / h, desired_size[1] / w)
        out = np.zeros((padded_size[0], padded_size[1], 3), np.float32)
        nh, nw = int(round(h * scale)), int(round(w * scale))
        ys = np.minimum((np.arange(nh) / scale).astype(int), h - 1)
        xs = np.minimum((np.arange(nw) / scale).astype(int), w - 1)
        out[:nh, :nw] = a[ys][:, xs]
        info = np.array([[h, w], [nh, nw], [scale, scale], [0, 0]], np.float32)
        return out, info
    both = tf.lazy(resize, image)
    return tf.lazy(lambda b: b[0], both), tf.lazy(lambda b: b[1], both)
