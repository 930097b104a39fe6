"""`syndicate build` and `check` show progress on a terminal when they take long, and stay
quiet otherwise (not a terminal, or quick)."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import time

from syndicate.loader import load_catalog
from syndicate.progress import TerminalProgress
from tests.conftest import CONTENT
from tests.live import ROOT


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_long_load_shows_its_stages_on_a_terminal_and_erases_them_at_the_end():
    screen = Terminal()
    with TerminalProgress(screen, delay=0, interval=0) as report:
        load_catalog(CONTENT, report=report)
    written = screen.getvalue()
    assert "\rreading files: 1/" in written
    assert "checking items: " in written
    last = written.rsplit("\r", 2)
    assert last[-1] == "" and last[-2].strip() == ""  # the line is blank when it is done


def test_nothing_is_shown_before_the_delay():
    screen = Terminal()
    with TerminalProgress(screen, delay=60) as report:
        load_catalog(CONTENT, report=report)
    assert screen.getvalue() == ""


def test_nothing_is_written_when_not_on_a_terminal():
    stream = io.StringIO()
    with TerminalProgress(stream, delay=0, interval=0) as report:
        for done in range(1, 100):
            report("rendering feeds", done, 99)
            time.sleep(0.001)
    assert stream.getvalue() == ""


def test_check_on_a_real_terminal_stays_quiet_when_quick():
    """Through a pseudo-terminal: the fixture loads in well under the delay."""
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "syndicate", "check", str(CONTENT)],
            stdout=subprocess.PIPE, stderr=follower, cwd=ROOT, timeout=60,
        )  # fmt: skip
        os.set_blocking(leader, False)
        try:
            shown = os.read(leader, 65536)
        except BlockingIOError:
            shown = b""
    finally:
        os.close(leader)
        os.close(follower)
    assert result.returncode == 0
    assert b"reading files" not in shown
