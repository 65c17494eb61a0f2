"""Work on untrusted files in a forked child: its crash, exhaustion or error is one line here."""

import os
import signal

import pytest

from tui.errors import UserError
from tui.predictions import isolation

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="isolation needs fork")


def run(work, allowance=1 << 30):
    progress = []
    result = isolation.run(work, what="f.npz", allowance=allowance, on_progress=lambda f, s: progress.append((f, s)))
    return result, progress


def test_the_result_and_progress_come_back():
    def work(report):
        report(0.5, "reading")
        return f"done in {os.getpid()}"

    result, progress = run(work)
    assert result.startswith("done in ") and result != f"done in {os.getpid()}"
    assert progress == [(0.5, "reading")]


def test_a_user_error_in_the_child_is_the_same_line_here():
    def work(report):
        raise UserError("f.npz is truncated")

    with pytest.raises(UserError, match="^f.npz is truncated$"):
        run(work)


def test_a_crash_in_the_child_is_one_line_and_this_process_lives_on():
    def work(report):
        os.kill(os.getpid(), signal.SIGSEGV)

    with pytest.raises(UserError, match=r"^f.npz: reading it crashed the reader \(SIGSEGV\); the file may be"):
        run(work)


def test_the_child_cannot_take_more_memory_than_its_allowance():
    def work(report):
        hoard = bytearray(4 << 30)  # never touched: refused by the address-space limit, not by the machine
        return str(len(hoard))

    with pytest.raises(UserError, match="f.npz: reading it needs more memory than a file of its size may take"):
        run(work, allowance=256 << 20)


def test_an_unforeseen_exception_is_one_line_naming_it():
    def work(report):
        return str(1 / 0)

    with pytest.raises(UserError, match=r"^f.npz: reading it failed \(ZeroDivisionError: division by zero\)$"):
        run(work)


def test_the_child_says_nothing_on_this_process_output(capfd):
    def work(report):
        print("chatter")
        os.write(2, b"more chatter\n")
        return "ok"

    assert run(work)[0] == "ok"
    assert capfd.readouterr() == ("", "")
