"""A random-weight checkpoint built by a real source tree's own model builder (Python 3.8 syntax: it runs
in the model environments that bench/setup_real_trees.py makes).

    python real_tree_checkpoint.py amrcnn --source TPU_TREE --config YAML --output DIR/model.ckpt
    python real_tree_checkpoint.py fformer --source FASHIONFORMER_TREE --config CONFIG.py --output FILE.pth

amrcnn: the tree's config and model factories build the Attribute Mask R-CNN inference graph the way
`inference_fashion.py` does; its variables get their own initializers (seeded) and a tf.compat.v1
Saver writes `model.ckpt.{index,data-*,meta}` and `checkpoint`, the layout of the released tarballs.
fformer: mmdet's `build_detector` on the tree's config (its `custom_imports` are the tree's packages);
the modules keep PyTorch's seeded default initialisation (the model's own `init_weights` would load
an ImageNet backbone and make every score ~0.01); the state dict is saved as mmcv checkpoints are.
Untrained weights still give detections with varied boxes, scores and masks, which is all a
comparison of two ways of running the same model needs.
"""

import argparse
import os
import sys

SEED = 20240101


def amrcnn(source, config, output):
    detection = os.path.join(source, "models", "official", "detection")
    sys.path[:0] = [detection, os.path.join(source, "models"), os.path.join(source, "models", "official", "efficientnet")]
    os.chdir(detection)
    import tensorflow.compat.v1 as tf
    from dataloader import mode_keys
    from hyperparameters import params_dict
    from projects.fashionpedia.configs import factory as config_factory
    from projects.fashionpedia.modeling import factory as model_factory

    params = config_factory.config_generator("attribute_mask_rcnn")
    params = params_dict.override_params_dict(params, config, is_strict=True)
    params.override({"architecture": {"use_bfloat16": False}}, is_strict=True)
    params.validate()
    params.lock()
    model = model_factory.model_generator(params)
    size = 640
    with tf.Graph().as_default():
        tf.set_random_seed(SEED)
        images = tf.placeholder(tf.float32, [1, size, size, 3])
        image_info = tf.constant([[[size, size], [size, size], [1.0, 1.0], [0.0, 0.0]]], tf.float32)
        model.build_outputs(images, {"image_info": image_info}, mode=mode_keys.PREDICT)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            os.makedirs(os.path.dirname(output), exist_ok=True)
            tf.train.Saver().save(session, output)
    print("wrote {} ({} variables)".format(output, len(tf.global_variables())))


def fformer(source, config, output):
    sys.path.insert(0, source)
    import mmcv
    import torch
    from mmcv.runner import save_checkpoint
    from mmdet.datasets import DATASETS
    from mmdet.models import build_detector

    torch.manual_seed(SEED)
    cfg = mmcv.Config.fromfile(config)
    if cfg.get("custom_imports"):
        from mmcv.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    cfg.model.pretrained = None
    cfg.model.train_cfg = None
    model = build_detector(cfg.model, test_cfg=cfg.get("test_cfg"))
    model.CLASSES = DATASETS.get(cfg.data.test.type).CLASSES
    os.makedirs(os.path.dirname(output), exist_ok=True)
    save_checkpoint(model, output, meta={"CLASSES": model.CLASSES, "seed": SEED, "config": config})
    print("wrote {} ({} tensors)".format(output, len(model.state_dict())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", choices=("amrcnn", "fformer"))
    parser.add_argument("--source", required=True, help="the source tree")
    parser.add_argument("--config", required=True, help="the model config, relative to the source tree")
    parser.add_argument("--output", required=True, help="amrcnn: the checkpoint prefix; fformer: the .pth file")
    args = parser.parse_args()
    source = os.path.abspath(args.source)
    output = os.path.abspath(args.output)
    build = amrcnn if args.family == "amrcnn" else fformer
    build(source, os.path.join(source, args.config), output)


if __name__ == "__main__":
    main()
