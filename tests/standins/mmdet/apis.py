"""STAND-IN for mmdet.apis (test-only): a fake FashionFormer that always returns 100 detections
spread over 46 per-class lists, with all-zero boxes (as the real one), masks as numpy bool
arrays or torch-like tensors, and attributes. Detections are a function of the image's pixels.

Test hook: MMDET_STANDIN_FAIL_ON names an image whose inference raises, standing in for a model
that fails on an image it could read (out of memory, say).
"""

import importlib
import os

import mmcv
import numpy as np
import torch

LOADED = {}


class FakeFashionFormer(object):
    def __init__(self, config, checkpoint, device):
        self.config = config
        self.device = device


def init_detector(config, checkpoint, device="cuda:0"):
    def norm_types(node):
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "type" and "BN" in str(v)] + \
                [t for v in node.values() for t in norm_types(v)]
        if isinstance(node, (list, tuple)):
            return [t for v in node for t in norm_types(v)]
        return []
    if device == "cpu" and "SyncBN" in norm_types(config._cfg_dict):
        raise RuntimeError("Default process group has not been initialized (SyncBN on CPU)")
    for name in config._cfg_dict.get("custom_imports", {}).get("imports", []):
        importlib.import_module(name)  # FashionFormer's local packages: needs the repo root on sys.path
    if not os.path.isfile(checkpoint):
        raise FileNotFoundError(checkpoint)
    return FakeFashionFormer(config, checkpoint, device)


def fake_result(pixels):
    """(bbox_result, segm_result, attributes) for one image, as FashionFormer returns them."""
    height, width = pixels.shape[:2]
    seed = int(pixels.astype(np.int64).sum() % (2 ** 31))
    rng = np.random.RandomState(seed)
    classes = rng.randint(0, 46, 100)
    scores = np.sort(rng.uniform(0, 0.3, 100)).astype(np.float32)[::-1]
    bbox_result = [np.zeros((0, 5), np.float32) for _ in range(46)]
    segm_result = [[] for _ in range(46)]
    for index in range(100):
        label = classes[index]
        row = np.zeros((1, 5), np.float32)
        row[0, 4] = scores[index]
        bbox_result[label] = np.vstack([bbox_result[label], row])
        mask = np.zeros((height, width), bool)
        if index % 7 != 3:  # some masks stay empty
            y0, x0 = rng.randint(0, height), rng.randint(0, width)
            mask[y0:y0 + rng.randint(1, height), x0:x0 + rng.randint(1, width)] = True
        segm_result[label].append(torch.as_tensor(mask) if index % 2 else mask)
    return bbox_result, segm_result, rng.uniform(0, 1, (100, 294)).astype(np.float32)


def load_image_from_file(path):
    """mmdet's LoadImageFromFile: mmcv decodes the file's bytes and the pipeline takes its shape,
    which fails for an image OpenCV cannot decode ('NoneType' object has no attribute 'shape')."""
    with open(path, "rb") as handle:
        image = mmcv.imfrombytes(handle.read(), flag="color")
    return {"img": image, "img_shape": image.shape}


def inference_detector(model, imgs):
    if any(os.path.basename(path) == os.environ.get("MMDET_STANDIN_FAIL_ON") for path in imgs):
        raise RuntimeError("CUDA out of memory (stand-in)")
    return [fake_result(load_image_from_file(path)["img"][:, :, ::-1]) for path in imgs]
