"""The Evaluate screen's parts: the form that picks files, the comparison table, per-category bars, worst images."""
