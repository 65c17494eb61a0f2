"""Attribute Mask R-CNN (the Fashionpedia release: SpineNet-143 or ResNet50-FPN) over a folder of images.

Runs in the `amrcnn` environment (Python 3.9, TensorFlow 2.11) in graph mode through
tf.compat.v1, from the pinned jangop/tpu source tree, the way its
`projects/fashionpedia/inference.py` builds the graph: the image bytes are decoded by TensorFlow,
normalized, resized and padded to `--image-size`, boxes are scaled back to original-image pixels
(yxyx), classes stay 1..46, masks are pasted at full size by the tree's own `paste_instance_masks`
(threshold 0.5) and RLE-encoded, and the 294 attribute scores are kept.

Unlike the original it reads images straight from a folder in one pass (the original re-opens a
tar for every image and writes each to a temporary PNG), records image basenames, and handles a
model that returns no masks (the original then fails on `encoded_masks`).
"""

import io
import os
import sys

import numpy as np

import common
import protocol

DETECTION_DIR = os.path.join("models", "official", "detection")


def checkpoint_prefix(model_file):
    """The runner is given the checkpoint prefix `.../model.ckpt` (or its `.index` file)."""
    return model_file[: -len(".index")] if model_file.endswith(".index") else model_file


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
    if not os.path.isfile(prefix + ".index"):
        protocol.fail("checkpoint not found: {}.index (fetch it with `fashionfail-tui fetch {}`)".format(
            prefix, args.model))
    return detection, config, prefix


class AmrcnnPredictor(common.Predictor):
    path = "tf-graph"
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
        gpus = tf2.config.list_physical_devices("GPU")
        self.providers = tuple("GPU:{}".format(i) for i in range(len(gpus))) or ("CPU",)

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
        from PIL import Image

        with common.timed(timings, "decode"):
            with open(image_path, "rb") as handle:
                data = handle.read()
            try:
                with Image.open(io.BytesIO(data)) as probe:
                    width, height = probe.size
                    probe.verify()
            except Exception as exc:
                raise common.UnreadableImage("not a readable image ({})".format(type(exc).__name__))
        return data, height, width

    def infer(self, prepared):
        return self._session.run(self._fetches, feed_dict={self._image_bytes: prepared[0]})

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
    parser.add_argument("--source", required=True, help="the jangop/tpu source tree")
    parser.add_argument("--config", required=True, help="model config, relative to the source tree")
    parser.add_argument("--image-size", type=int, default=640)
    args = parser.parse_args()
    detection, config, prefix = check_inputs(args)

    def load():
        predictor = AmrcnnPredictor(detection, config, prefix, args.image_size)
        predictor.score_threshold = args.score_threshold
        return predictor

    common.run(args, load)


if __name__ == "__main__":
    main()
