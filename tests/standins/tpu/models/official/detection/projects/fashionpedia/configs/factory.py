"""STAND-IN (test-only)."""

from hyperparameters import params_dict


def config_generator(model):
    if model != "attribute_mask_rcnn":
        raise ValueError("Model %s is not supported." % model)
    return params_dict.ParamsDict({"masks": True})
