"""Facere's masks, pasted on the host over their own boxes instead of inside the ONNX graph.

The exported Mask R-CNN pastes every low-resolution mask into a full-image canvas inside an
ONNX `Loop` (100 canvases of 2400x2400 per FashionFail image). `tui.runs.facere_fast` cuts that loop
out and writes two models:

- the *cut* model: the original outputs before the masks (boxes, labels, scores), followed by
  the tensors the loop read (the padded masks, the expanded integer boxes, the image size...),
  each output named after the tensor;
- the *paste* model: the loop body's own ops for one detection, from those tensors and an
  `index` to `crop` (the pasted mask over the expanded box clipped to the image, the very values
  the loop writes into its canvas) and `top`, `left` (where that crop sits in the image).

`facere.py` runs the cut model and, per kept detection, `MaskPaster`, which writes each mask's RLE
straight from its crop, so the work grows with the boxes' areas. The RLE is byte-identical to
pycocotools' encoding of the original graph's full-size `mask > 0.5`.

A standalone module for the runners: Python 3.8, onnxruntime, numpy and pycocotools only.
"""

import numpy as np
import onnxruntime
from pycocotools import mask as mask_utils

INDEX_INPUT = "index"
PASTE_OUTPUTS = ("crop", "top", "left")
THRESHOLD = 0.5


def crop_run_lengths(crop, top, left, height, width):
    """Column-major run lengths (pycocotools' order, starting with a run of zeros) of a
    height x width mask that is `crop` (boolean) at (top, left) and zero elsewhere."""
    crop = crop[: max(height - top, 0), : max(width - left, 0)]
    total = height * width
    if not crop.any():
        return [total]
    rows = crop.shape[0]
    padded = np.zeros((crop.shape[1], rows + 2), dtype=np.int8)
    padded[:, 1:-1] = crop.T
    column, row = np.nonzero(np.diff(padded, axis=1))  # sorted by column, then row
    changes = (left + column).astype(np.int64) * height + top + row
    # a run reaching the bottom of one column goes on at the top of the next (full-height crops)
    joined = changes[1:] == changes[:-1]
    keep = np.ones(len(changes), dtype=bool)
    keep[1:][joined] = False
    keep[:-1][joined] = False
    changes = changes[keep]
    changes = changes[changes < total]  # a run that ends with the image ends no run
    return np.diff(changes, prepend=0, append=total).tolist()


def crop_rle(crop, top, left, height, width):
    """The RLE dict pycocotools' `encode` gives for the full mask, built from the crop."""
    counts = crop_run_lengths(crop, top, left, height, width)
    return mask_utils.frPyObjects({"counts": counts, "size": [height, width]}, height, width)


class MaskPaster(object):
    """Runs the paste model once per detection on the cut model's tensors."""

    def __init__(self, paste_model):
        options = onnxruntime.SessionOptions()
        # one small Resize per detection, run beside the next image's inference: no thread pool, no spinning
        options.intra_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(paste_model), options, providers=["CPUExecutionProvider"])
        self.tensor_names = [i.name for i in self.session.get_inputs() if i.name != INDEX_INPUT]

    def rles(self, tensors, indices, height, width):
        """RLEs of the detections at `indices` (positions in the cut model's outputs) on a height x width image."""
        feed = {name: tensors[name] for name in self.tensor_names}
        encoded = []
        for index in indices:
            feed[INDEX_INPUT] = np.array(index, dtype=np.int64)
            crop, top, left = self.session.run(PASTE_OUTPUTS, feed)
            encoded.append(crop_rle(crop > THRESHOLD, int(top), int(left), height, width))
        return encoded
