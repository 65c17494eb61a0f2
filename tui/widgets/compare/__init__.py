"""The Compare screen's parts: the form, the queue, the paper's table, and the failure gallery."""
