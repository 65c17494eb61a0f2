"""Attribute Mask R-CNN (the Fashionpedia release: SpineNet-143 or ResNet50-FPN) over a folder of images.

Runs in the `amrcnn` environment (Python 3.9, TensorFlow 2.11) in graph mode through
tf.compat.v1, from the pinned jangop/tpu source tree, the way its `inference_fashion.py` does over
a tar: Pillow decodes each image and it reaches the graph as PNG bytes, which TensorFlow decodes,
normalizes, resizes and pads to `--image-size`; boxes are scaled back to original-image pixels
(yxyx), classes stay 1..46, masks are pasted at full size by the tree's own `paste_instance_masks`
(threshold 0.5) and RLE-encoded, and the 294 attribute scores are kept.

Unlike the original it reads images straight from a folder in one pass (the original re-opens a
tar for every image and writes each to a temporary PNG file), records image basenames, skips with
a warning an image that Pillow cannot decode or the graph rejects (the original stops there), and
handles a model that returns no masks (the original then fails on `encoded_masks`).
"""

import glob
import io
import os
import re
import sys

import numpy as np

import common
import protocol

DETECTION_DIR = os.path.join("models", "official", "detection")
CHECKPOINT_FILE = re.compile(r"\.(index|meta|data-\d+-of-\d+)$")
DATA_SHARD = re.compile(r"\.data-\d+-of-(\d+)$")
STATE_LINE = re.compile(r'^model_checkpoint_path:\s*"(.*)"\s*$', re.MULTILINE)


def checkpoint_prefix(model_file):
    """The checkpoint prefix (`.../model.ckpt`) that `model_file` names: the prefix itself, one of
    its files (`.index`, `.meta`, `.data-*`), or the folder holding TensorFlow's `checkpoint` state
    file (the prefix it names, relative to the folder; a stale absolute one is looked for there too)."""
    if not os.path.isdir(model_file):
        return CHECKPOINT_FILE.sub("", model_file)
    try:
        with open(os.path.join(model_file, "checkpoint")) as handle:
            named = STATE_LINE.search(handle.read())
    except (OSError, UnicodeDecodeError):
        protocol.fail("checkpoint folder {} holds no `checkpoint` file; pass the checkpoint prefix "
                      "(.../model.ckpt) instead".format(model_file))
    if named is None:
        protocol.fail("{} names no model_checkpoint_path".format(os.path.join(model_file, "checkpoint")))
    prefix = os.path.join(model_file, named.group(1))
    in_folder = os.path.join(model_file, os.path.basename(named.group(1)))
    return prefix if os.path.isfile(prefix + ".index") else in_folder


def check_checkpoint(prefix, model):
    """An `error` event unless the checkpoint's `.index` and every `.data-*` shard are there."""
    if not os.path.isfile(prefix + ".index"):
        protocol.fail("checkpoint not found: {}.index (fetch it with `fashionfail-tui fetch {}`)".format(
            prefix, model))
    shards = [DATA_SHARD.search(name) for name in glob.glob(glob.escape(prefix) + ".data-*")]
    counts = sorted({int(match.group(1)) for match in shards if match})
    if not counts:
        protocol.fail("checkpoint {} has no {}.data-* file beside its .index".format(
            prefix, os.path.basename(prefix)))
    for index in range(counts[-1]):
        shard = "{}.data-{:05d}-of-{:05d}".format(prefix, index, counts[-1])
        if not os.path.isfile(shard):
            protocol.fail("checkpoint {} is incomplete: {} is missing".format(prefix, os.path.basename(shard)))


def check_inputs(args):
    """A clear `error` event for a missing source tree, config or checkpoint, before TensorFlow loads."""
    detection = os.path.join(args.source, DETECTION_DIR)
    if not os.path.isdir(detection):
        protocol.fail("tpu source tree not found: {} (fetch it with `fashionfail-tui fetch {}`)".format(
            detection, args.model))
    config = os.path.join(args.source, args.config)
    if not os.path.isfile(config):
        protocol.fail("model config not found: {}".format(config))
    prefix = checkpoint_prefix(args.model_file)
    check_checkpoint(prefix, args.model)
    return detection, config, prefix


def png_of(image_path):
    """(PNG bytes, height, width) of an image, as the original hands it to TensorFlow: Pillow's
    decode saved as PNG in the image's own mode (TensorFlow turns gray, palette and RGBA into RGB as
    the original sees it). A mode PNG cannot store (CMYK, say) is converted to RGB first; the original
    stops there. PNG is lossless: the compression level changes no pixel, and level 0 is the fastest."""
    from PIL import Image

    try:
        with Image.open(image_path) as image:
            image.load()
            png = io.BytesIO()
            try:
                image.save(png, format="PNG", compress_level=0)
            except OSError:  # "cannot write mode ... as PNG": the pixels are loaded, so nothing else
                png = io.BytesIO()
                image.convert("RGB").save(png, format="PNG", compress_level=0)
            width, height = image.size
    except Exception as exc:  # Pillow's plugins raise many kinds for broken files
        raise common.UnreadableImage("Pillow cannot decode it ({})".format(common._one_line(exc)))
    return png.getvalue(), height, width


def tensorflow_message(exc):
    """The line of a TensorFlow error that says what went wrong: the one before `[[{{node ...}}]]`."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line, following in zip(lines, lines[1:]):
        if following.startswith("[["):
            return line
    return lines[-1] if lines else type(exc).__name__


class AmrcnnPredictor(common.Predictor):
    path = "tf-graph-pillow-png"
    """Images reach the graph as PNG of Pillow's decode (journals of the older raw-bytes path do not resume)."""
    _warned_no_masks = False

    def __init__(self, detection_dir, config_file, prefix, image_size):
        # The tree imports its packages relative to models/official/detection, plus
        # `hyperparameters` from models/ and efficientnet beside it.
        sys.path[:0] = [detection_dir, os.path.normpath(os.path.join(detection_dir, "..", "..")),
                        os.path.normpath(os.path.join(detection_dir, "..", "efficientnet"))]
        os.chdir(detection_dir)
        import tensorflow as tf2
        import tensorflow.compat.v1 as tf
        from dataloader import mode_keys
        from hyperparameters import params_dict
        from projects.fashionpedia.configs import factory as config_factory
        from projects.fashionpedia.modeling import factory as model_factory
        from utils import box_utils, input_utils, mask_utils

        self._tf_version = getattr(tf2, "__version__", "unknown")
        self._paste = mask_utils.paste_instance_masks
        self._yxyx_to_xywh = box_utils.yxyx_to_xywh
        self._rejected = tf.errors.InvalidArgumentError
        gpus = tf2.config.list_physical_devices("GPU")
        self.providers = tuple("GPU:{}".format(i) for i in range(len(gpus))) or ("CPU",)
        # Pillow's decode and the PNG encode beside the GPU's work; on the CPU TensorFlow takes every core
        self.overlap = bool(gpus)

        params = config_factory.config_generator("attribute_mask_rcnn")
        params = params_dict.override_params_dict(params, config_file, is_strict=True)
        params.override({"architecture": {"use_bfloat16": False}}, is_strict=True)
        params.validate()
        params.lock()
        model = model_factory.model_generator(params)

        with tf.Graph().as_default():
            self._image_bytes = tf.placeholder(shape=(), dtype=tf.string)
            image = tf.io.decode_image(self._image_bytes, channels=3)
            image.set_shape([None, None, 3])
            image = input_utils.normalize_image(image)
            size = [image_size, image_size]
            image, image_info = input_utils.resize_and_crop_image(
                image, size, size, aug_scale_min=1.0, aug_scale_max=1.0)
            image.set_shape([image_size, image_size, 3])
            images = tf.reshape(image, [1, image_size, image_size, 3])
            images_info = tf.expand_dims(image_info, axis=0)
            self._fetches = dict(model.build_outputs(images, {"image_info": images_info}, mode=mode_keys.PREDICT))
            self._fetches["image_info"] = images_info
            self._session = tf.Session()
            tf.train.Saver().restore(self._session, prefix)

    def versions(self):
        return {"tensorflow": self._tf_version}

    def prepare(self, image_path, timings):
        with common.timed(timings, "decode"):
            return png_of(image_path)

    def infer(self, prepared):
        try:
            return self._session.run(self._fetches, feed_dict={self._image_bytes: prepared[0]})
        except self._rejected as exc:
            raise common.UnreadableImage("TensorFlow rejected it ({})".format(tensorflow_message(exc)))

    def finish(self, image_file, prepared, outputs, timings):
        _, height, width = prepared
        with common.timed(timings, "postprocess"):
            count = int(outputs["num_detections"][0])
            scores = outputs["detection_scores"][0, :count]
            keep = scores >= self.score_threshold
            # Back to original-image pixels: yxyx divided by (scale_y, scale_x, scale_y, scale_x).
            scale = np.tile(outputs["image_info"][0, 2, :], 2)
            boxes = (outputs["detection_boxes"][0, :count] / scale)[keep]
            record = {
                "image_file": image_file,
                "boxes": boxes,
                "classes": outputs["detection_classes"][0, :count][keep].astype(np.int32),
                "scores": scores[keep],
                "attributes": outputs["detection_attributes"][0, :count][keep],
                "masks": [],
            }
        if "detection_masks" in outputs:
            with common.timed(timings, "masks"):
                instance_masks = outputs["detection_masks"][0, :count][keep]
                pasted = self._paste(instance_masks, self._yxyx_to_xywh(boxes), height, width)
                record["masks"] = common.encode_binary_masks(pasted)
        elif count and not self._warned_no_masks:
            self._warned_no_masks = True
            protocol.warning("the model returns no masks: records have boxes, classes, scores and attributes only")
        return record


def main():
    parser = common.argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, type=common.absolute_path, help="the jangop/tpu source tree")
    parser.add_argument("--config", required=True, help="model config, relative to the source tree")
    parser.add_argument("--image-size", type=int, default=640)
    args = parser.parse_args()
    detection, config, prefix = check_inputs(args)
    args.model_file = prefix + ".index"  # what the journal and meta name, however the checkpoint was given

    def load():
        predictor = AmrcnnPredictor(detection, config, prefix, args.image_size)
        predictor.score_threshold = args.score_threshold
        return predictor

    common.run(args, load)


if __name__ == "__main__":
    main()
