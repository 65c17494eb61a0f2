"""STAND-IN for tensorflow (test-only): just enough of tf.compat.v1 graph mode for runners/amrcnn.py."""


class config:
    @staticmethod
    def list_physical_devices(kind):
        return []  # the stand-in never sees a GPU
