"""Widgets of the Run screen: the form, the path picker, the live progress."""
