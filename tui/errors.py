"""The one exception type the CLI and the app turn into a one-line message."""


class UserError(Exception):
    """A failure the user can act on: bad input, a missing file, a broken download.

    The message is shown as is, on one line, without a traceback.
    """

    exit_code = 2
