"""The prediction browser's widgets: file bar, image list, filters, pictures, detections table."""

import logging

# Imported by the picture widget, textual-image asks the terminal for its cell size; a terminal that
# does not answer (a pseudo-terminal without pixel sizes, as over ssh) makes it log a warning with a
# traceback, which Python's last-resort handler would print over the screen before the first frame.
# The fallback it then takes is fine, so its log goes nowhere unless the user configured logging.
logging.getLogger("textual_image").addHandler(logging.NullHandler())
