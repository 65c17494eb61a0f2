"""FashionFormer (ResNet50-FPN 3x or Swin-base 6x config) over a folder of images.

Runs in the `fformer` environment (Python 3.8, torch 1.9, mmcv-full 1.3.18, mmdet 2.18) the way
FashionFail's `predict_fformer.py` does: `init_detector` + `inference_detector` per image; classes
are the index of the per-class result list (0..45); detections scoring at or below the score
threshold are dropped (0.05 by default: the model always returns 100); boxes are computed from the
masks (xyxy of the mask's pixels; the model's own boxes are all zeros); masks are RLE-encoded.
Each image goes to mmdet by its path, so mmdet decodes it with OpenCV as in the original; an image
that Pillow reads but OpenCV cannot (GIF data named .jpg) is skipped with a warning, where the
original stops.

The FashionFormer repository root goes on `sys.path` (its config's `custom_imports` are local
packages), and on CPU every SyncBN layer in the config is turned into BN.
"""

import os
import sys

import numpy as np

import common
import protocol


def check_inputs(args):
    if not os.path.isdir(args.source):
        protocol.fail("FashionFormer source tree not found: {} (fetch it with `fashionfail-tui fetch {}`)".format(
            args.source, args.model))
    config = os.path.join(args.source, args.config)
    if not os.path.isfile(config):
        protocol.fail("model config not found: {}".format(config))
    if not os.path.isfile(args.model_file):
        protocol.fail("checkpoint not found: {} (import it with `fashionfail-tui fetch {} --from FILE`)".format(
            args.model_file, args.model))
    return config


def replace_sync_bn(node):
    """SyncBN needs a distributed process group; on CPU the same weights load into BN."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "type" and value == "SyncBN":
                node[key] = "BN"
            else:
                replace_sync_bn(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            replace_sync_bn(item)


def masks_to_boxes(masks):
    """xyxy boxes around each mask's pixels (inclusive pixel indices); zeros for an empty mask."""
    boxes = np.zeros((len(masks), 4), dtype=np.float32)
    for index, mask in enumerate(masks):
        ys, xs = np.nonzero(mask)
        if len(xs):
            boxes[index] = (xs.min(), ys.min(), xs.max(), ys.max())
    return boxes


def as_numpy(value):
    """mmdet returns masks as numpy arrays or torch tensors depending on the model."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


class FformerPredictor(common.Predictor):
    path = "mmdet"

    def __init__(self, source, config_file, checkpoint, device):
        sys.path.insert(0, source)
        import mmcv
        import mmdet
        import torch
        from mmdet.apis import inference_detector, init_detector

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        config = mmcv.Config.fromfile(config_file)
        if device == "cpu":
            replace_sync_bn(config._cfg_dict)
        self._versions = {"torch": torch.__version__, "mmcv": mmcv.__version__, "mmdet": mmdet.__version__}
        self._inference_detector = inference_detector
        self._imfrombytes = mmcv.imfrombytes
        self._model = init_detector(config, checkpoint, device=device)
        self.providers = (device,)

    def versions(self):
        return self._versions

    def prepare(self, image_path, timings):
        from PIL import Image

        with common.timed(timings, "decode"):
            try:
                with Image.open(image_path) as probe:
                    probe.verify()
            except Exception as exc:
                raise common.UnreadableImage("not a readable image ({})".format(type(exc).__name__))
        return image_path

    def infer(self, image_path):
        try:
            return self._inference_detector(self._model, [image_path])[0]
        except Exception:
            # mmdet's loader fails on OpenCV's None ("'NoneType' object has no attribute 'shape'"):
            # the image is to blame only when OpenCV cannot decode it, which is checked on failure only
            if self._opencv_decodes(image_path):
                raise
        raise common.UnreadableImage("OpenCV cannot decode it (mmdet reads images with OpenCV)")

    def _opencv_decodes(self, image_path):
        """Whether mmcv decodes the file as mmdet's LoadImageFromFile does (color, its default backend)."""
        with open(image_path, "rb") as handle:
            return self._imfrombytes(handle.read(), flag="color") is not None

    def finish(self, image_file, image_path, result, timings):
        bbox_result, segm_result = result[0], result[1]
        with common.timed(timings, "postprocess"):
            classes = np.concatenate([np.full(len(boxes), index, dtype=np.int32)
                                      for index, boxes in enumerate(bbox_result)])
            scores = np.vstack(bbox_result)[:, -1]
            segms = [as_numpy(mask) for per_class in segm_result for mask in per_class]
            keep = scores > self.score_threshold if self.score_threshold else np.ones(len(scores), bool)
            scores, classes = scores[keep], classes[keep]
            segms = [mask for mask, kept in zip(segms, keep) if kept]
        with common.timed(timings, "masks"):
            record = {
                "image_file": image_file,
                "boxes": masks_to_boxes(segms),
                "classes": classes,
                "scores": scores,
                "masks": common.encode_binary_masks(segms),
            }
        return record


def main():
    parser = common.argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, type=common.absolute_path, help="the FashionFormer source tree")
    parser.add_argument("--config", required=True, help="model config, relative to the source tree")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    args = parser.parse_args()
    config = check_inputs(args)

    def load():
        predictor = FformerPredictor(args.source, config, args.model_file, args.device)
        predictor.score_threshold = args.score_threshold
        return predictor

    common.run(args, load)


if __name__ == "__main__":
    main()
