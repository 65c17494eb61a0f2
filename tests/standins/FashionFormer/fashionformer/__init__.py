"""STAND-IN for the FashionFormer repo's local package (test-only)."""
