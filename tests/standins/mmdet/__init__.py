"""STAND-IN for mmdet 2.18 (test-only)."""

__version__ = "2.18.0-standin"
