"""STAND-IN for torch (test-only): device query and a tensor wrapper with .detach().cpu().numpy()."""

__version__ = "1.9.0-standin"


class cuda(object):
    @staticmethod
    def is_available():
        return False


class Tensor(object):
    def __init__(self, array):
        self._array = array

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self._array


def as_tensor(array):
    return Tensor(array)
