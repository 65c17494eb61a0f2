"""Facere and Facere+ (Mask R-CNN exported to ONNX) with ONNX Runtime: no torch.

Per image, as the original `predict_models.py` does it: RGB float32 [1, 3, H, W] in 0..1 in, four
outputs taken by position (boxes xyxy, labels, scores, masks [N, 1, H, W]), masks thresholded at
0.5 and RLE-encoded with pycocotools, boxes turned into yxyx. The work is split into decode,
preprocess, infer and postprocess so another inference path can replace one step.

Two paths, recorded as `path` in the `start` event and `meta`:
- `onnx-full-masks`: the published graph, which pastes every mask into a full-image canvas;
- `onnx-host-paste` (`--fast-model CUT --paste-model PASTE`, prepared by the app's
  `tui/runs/facere_fast.py`): the graph without its mask-pasting Loop, each mask pasted over its own
  box on the host by `facere_paste`; byte-identical output, far less time and memory at 2400x2400.

Python 3.8 syntax; needs numpy, Pillow, onnxruntime and pycocotools.
"""

import sys

import numpy as np

import common
import facere_paste

MASK_THRESHOLD = 0.5
MASKS_PER_ENCODE = 16
"""Masks RLE-encoded per pycocotools call: large enough to amortise the call, small enough that
the Fortran-ordered copy stays a few hundred MB at 2400x2400."""
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def choose_providers(device, available):
    """Execution providers for `--device auto|cpu|cuda` given what ONNX Runtime offers."""
    if device == "cpu":
        return [CPU]
    if CUDA in available:
        return [CUDA, CPU]
    if device == "cuda":
        raise RuntimeError("--device cuda, but this ONNX Runtime has no CUDA provider (it has {})".format(
            ", ".join(available)))
    return [CPU]


def decode(image_path):
    """The image as uint8 RGB [H, W, 3]; grayscale, RGBA and palette images become RGB."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image_path) as image:
            if image.mode != "RGB":
                image = image.convert("RGB")
            return np.asarray(image)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise common.UnreadableImage(str(exc) or type(exc).__name__)


def preprocess(rgb):
    """float32 [1, 3, H, W] in 0..1, divided in float32 as torchvision's ConvertImageDtype does."""
    tensor = np.empty((1, 3) + rgb.shape[:2], dtype=np.float32)
    np.divide(rgb.transpose(2, 0, 1), np.float32(255), out=tensor[0], dtype=np.float32)
    return tensor


def encode_masks(mask_probabilities, boxes, indices):
    """RLE of `probability > 0.5` for the masks at `indices` of [N, 1, H, W], one pycocotools dict
    per mask, byte-identical to encoding each full mask.

    Mask R-CNN's masks are zero outside their (expanded) box: such a mask is thresholded only over
    its box, into an all-zero full-size buffer that pycocotools then encodes (a fast scan), so the
    cost grows with the box. Whether a mask really is empty outside the region is checked on the
    data, never assumed; the others are thresholded whole, `MASKS_PER_ENCODE` per call.
    """
    from pycocotools import mask as mask_api

    height, width = mask_probabilities.shape[-2:]
    encoded = {}
    whole = []
    canvas = None
    for index in indices:
        region = confined_region(mask_probabilities[index, 0], boxes[index])
        if region is None:
            whole.append(index)
            continue
        if canvas is None:
            canvas = np.zeros((height, width, 1), dtype=bool, order="F")
        rows, columns = region
        np.greater(mask_probabilities[index, 0, rows, columns], MASK_THRESHOLD, out=canvas[rows, columns, 0])
        encoded[index] = mask_api.encode(canvas.view(np.uint8))[0]
        canvas[rows, columns, 0] = False
    for start in range(0, len(whole), MASKS_PER_ENCODE):
        chunk_indices = whole[start:start + MASKS_PER_ENCODE]
        chunk = _rows_of(mask_probabilities, chunk_indices)
        # pycocotools encodes a Fortran-ordered uint8 [H, W, n]: threshold straight into one,
        # so the transpose costs no extra pass
        binary = np.empty((height, width, len(chunk)), dtype=bool, order="F")
        np.greater(chunk.transpose(1, 2, 0), MASK_THRESHOLD, out=binary)
        encoded.update(zip(chunk_indices, mask_api.encode(binary.view(np.uint8))))
    return [encoded[index] for index in indices]


def _rows_of(mask_probabilities, indices):
    """The masks [n, H, W] at `indices`: a view when they are consecutive (no 100 MB copy)."""
    first = indices[0]
    if list(indices) == list(range(first, first + len(indices))):
        return mask_probabilities[first:first + len(indices), 0]
    return mask_probabilities[indices, 0]


def confined_region(mask, box):
    """(rows, columns) slices of `mask` [H, W] outside which no pixel exceeds the threshold, around
    the xyxy `box` with a margin (the graph pastes each mask over its box expanded by about 1/14);
    None when the data leaves that region (or the box is not finite): then encode the whole mask."""
    height, width = mask.shape
    if not np.all(np.isfinite(box)):
        return None
    x1, y1, x2, y2 = (float(value) for value in box)
    margin_x, margin_y = 0.1 * abs(x2 - x1) + 2, 0.1 * abs(y2 - y1) + 2
    top, bottom = max(int(min(y1, y2) - margin_y), 0), min(int(max(y1, y2) + margin_y) + 1, height)
    left, right = max(int(min(x1, x2) - margin_x), 0), min(int(max(x1, x2) + margin_x) + 1, width)
    if top >= bottom or left >= right:
        return None
    outside = (mask[:top], mask[bottom:], mask[top:bottom, :left], mask[top:bottom, right:])
    for band in sorted(outside, key=lambda band: band.size):  # the cheapest first: most fail at once
        if band.size and not band.max() <= MASK_THRESHOLD:  # NaN fails too (safe: it encodes as 0)
            return None
    return slice(top, bottom), slice(left, right)


def xyxy_to_yxyx(boxes):
    return np.ascontiguousarray(boxes[:, [1, 0, 3, 2]])


def kept(scores, score_threshold):
    """Which detections stay: all, or those scoring at least the threshold."""
    return np.flatnonzero(scores >= score_threshold) if score_threshold > 0 else np.arange(len(scores))


def record(image_file, boxes, labels, scores, masks):
    """The per-image dict exactly as the original wrote it."""
    return {"image_file": image_file, "boxes": xyxy_to_yxyx(boxes), "classes": labels, "scores": scores,
            "masks": masks}


def postprocess(image_file, outputs, score_threshold, timings):
    boxes, labels, scores, masks = outputs[:4]
    keep = kept(scores, score_threshold)
    with common.timed(timings, "masks"):
        encoded = encode_masks(masks, boxes, keep)
    return record(image_file, boxes[keep], labels[keep], scores[keep], encoded)


def create_session(model_file, device):
    """The ONNX Runtime session the runner uses (the benchmark's baseline uses it too)."""
    import onnxruntime

    providers = choose_providers(device, onnxruntime.get_available_providers())
    options = onnxruntime.SessionOptions()
    # no busy-waiting between runs: decoding and postprocessing get the cores meanwhile
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(model_file, options, providers=providers)
    if device == "cuda" and CUDA not in session.get_providers():
        raise RuntimeError("the CUDA provider did not load (ONNX Runtime fell back to {})".format(
            ", ".join(session.get_providers())))
    return session


class FacerePredictor(common.Predictor):
    path = "onnx-full-masks"
    overlap = True  # the session does not spin (create_session), so the threads fill idle cores

    def __init__(self, model_file, device, score_threshold):
        self.session = create_session(model_file, device)
        self.providers = tuple(self.session.get_providers())
        self.input_name = self.session.get_inputs()[0].name
        self.score_threshold = score_threshold

    def versions(self):
        import onnxruntime
        import PIL
        import pycocotools

        return {"onnxruntime": onnxruntime.__version__, "Pillow": PIL.__version__,
                "pycocotools": getattr(pycocotools, "__version__", "unknown")}

    def prepare(self, image_path, timings):
        with common.timed(timings, "decode"):
            rgb = decode(image_path)
        with common.timed(timings, "preprocess"):
            return preprocess(rgb)

    def infer(self, prepared):
        return self.session.run(None, {self.input_name: prepared})

    def finish(self, image_file, prepared, outputs, timings):
        return postprocess(image_file, outputs, self.score_threshold, timings)


class FacereHostPastePredictor(FacerePredictor):
    """The cut graph (boxes, labels, scores and the tensors the pasting loop read), then each kept
    detection's mask pasted over its own box by the paste graph and RLE-encoded from that crop."""

    path = "onnx-host-paste"

    def __init__(self, cut_model_file, paste_model_file, device, score_threshold):
        FacerePredictor.__init__(self, cut_model_file, device, score_threshold)
        self.paster = facere_paste.MaskPaster(paste_model_file)
        names = [output.name for output in self.session.get_outputs()]
        self.tensor_names = names[len(names) - len(self.paster.tensor_names):]

    def finish(self, image_file, prepared, outputs, timings):
        boxes, labels, scores = outputs[:3]
        tensors = dict(zip(self.tensor_names, outputs[len(outputs) - len(self.tensor_names):]))
        keep = kept(scores, self.score_threshold)
        height, width = prepared.shape[-2:]
        with common.timed(timings, "masks"):
            encoded = self.paster.rles(tensors, keep, int(height), int(width))
        return record(image_file, boxes[keep], labels[keep], scores[keep], encoded)


def load_predictor(args):
    if args.fast_model:
        predictor = FacereHostPastePredictor(args.fast_model, args.paste_model, args.device, args.score_threshold)
    else:
        predictor = FacerePredictor(args.model_file, args.device, args.score_threshold)
    if args.masks_note:
        predictor.notes = ("masks: " + args.masks_note,)
    return predictor


def main(argv=None):
    parser = common.argument_parser("Run Facere or Facere+ (ONNX) on a folder of images.")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--fast-model", help="the model without its mask-pasting Loop (tui/runs/facere_fast.py)")
    parser.add_argument("--paste-model", help="the one-mask paste graph that goes with --fast-model")
    parser.add_argument("--masks-note", help="why the masks take the path they take, logged at the start")
    args = parser.parse_args(argv)
    if bool(args.fast_model) != bool(args.paste_model):
        parser.error("--fast-model and --paste-model go together")
    common.run(args, lambda: load_predictor(args))


if __name__ == "__main__":
    main(sys.argv[1:])
