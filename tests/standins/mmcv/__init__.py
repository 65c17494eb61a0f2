"""STAND-IN for mmcv-full 1.3.18 (test-only): Config.fromfile reads a Python config's `model` dict."""

import runpy

__version__ = "1.3.18-standin"


class Config(object):
    def __init__(self, cfg_dict):
        self._cfg_dict = cfg_dict

    @staticmethod
    def fromfile(path):
        return Config({k: v for k, v in runpy.run_path(path).items() if not k.startswith("__")})
