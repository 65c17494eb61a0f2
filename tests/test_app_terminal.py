"""The app as a user starts it: a real process on a pseudo-terminal. Such a terminal reports no pixel
size and answers no queries (as many do over ssh), so the image library's size probe fails; the first
thing on the screen must still be the home screen, not a traceback."""

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

ESCAPES = re.compile(rb"\x1b(\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|_[^\x1b]*\x1b\\|[()][0-9A-Za-z]|[=>78])")
HOME_INTRO = b"The FashionFail comparison's six models"


def test_the_app_opens_on_a_silent_terminal_with_the_home_screen_and_nothing_before_it():
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # rows, columns, no pixels
    app = subprocess.Popen([sys.executable, "-m", "tui"], stdin=follower, stdout=follower, stderr=follower,
                           env={**os.environ, "TERM": "xterm-256color"},
                           start_new_session=True)
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while HOME_INTRO not in ESCAPES.sub(b"", seen) and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.5)[0]:
                try:
                    seen += os.read(leader, 1 << 16)
                except OSError:  # the app has gone and closed the terminal
                    break
        text = ESCAPES.sub(b"", seen).decode(errors="replace")
        assert HOME_INTRO.decode() in text, text[-2000:]
        assert "Traceback" not in text and "Failed to get cell size" not in text, text[:2000]
        os.write(leader, b"\x11")  # ctrl+q
        assert app.wait(20) == 0
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait()
        os.close(leader)
