"""STAND-IN for the FashionFormer repo's local `datasets` package (test-only)."""
