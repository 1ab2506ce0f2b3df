"""The display: what each event looks like on stderr, what -q hides, progress as plain lines off a terminal."""

from __future__ import annotations

import pytest

from edgeadm import events as ev
from edgeadm.console import Display


def shown(capsys: pytest.CaptureFixture[str], display: Display, *events: ev.Event) -> str:
    for e in events:
        display.emit(e)
    out, err = capsys.readouterr()
    assert out == ""  # progress never goes to stdout, which scripts read
    return err


def test_steps_details_warnings_and_checks(capsys: pytest.CaptureFixture[str]) -> None:
    events = (ev.Step("[preflight] Running pre-flight checks"), ev.Detail("  Namespace x: created"),
              ev.Warn("careful"), ev.CheckResult("Swap", "error", "swap is on"),
              ev.CheckResult("Swap", "error", "swap is on", ignored=True), ev.CheckResult("Mem", "warning", "low"),
              ev.PhaseStarted("p"), ev.PhaseDone("p", 0.1))
    assert shown(capsys, Display(0, tty=False), *events) == (
        "[preflight] Running pre-flight checks\nwarning: careful\n\t[ERROR Swap]: swap is on\n"
        "\t[WARNING Swap]: swap is on (ignored)\n\t[WARNING Mem]: low\n")
    assert "  Namespace x: created\n" in shown(capsys, Display(1, tty=False), *events)
    assert shown(capsys, Display(-1, tty=False), *events) == "warning: careful\n"  # -q keeps warnings only


def test_download_progress_off_a_terminal_is_a_line_per_tenth(capsys: pytest.CaptureFixture[str]) -> None:
    total = 100 << 20
    events = [ev.Progress("[package] downloaded", done, total) for done in range(1 << 20, total + 1, 1 << 20)]
    err = shown(capsys, Display(0, tty=False), *events, ev.ProgressDone("[package] downloaded"))
    lines = err.splitlines()
    assert lines[0] == "[package] downloaded 1 MiB (1%)" and lines[-1] == "[package] downloaded 100 MiB (100%)"
    assert len(lines) == 11
    files = [ev.Progress("[package] verified files", n, 30, unit="files") for n in range(1, 31)]
    assert shown(capsys, Display(0, tty=False), *files) == "[package] verified files 30/30\n"
    assert shown(capsys, Display(-1, tty=False), *files) == ""


def test_progress_bar_on_a_terminal_is_closed_before_the_next_line(capsys: pytest.CaptureFixture[str]) -> None:
    d = Display(0, tty=True)
    err = shown(capsys, d, ev.Progress("[package] downloaded", 5, 10), ev.Progress("[package] downloaded", 10, 10),
                ev.Step("[package] checksum verified"))
    assert err.rstrip().endswith("[package] checksum verified")
    assert d._bar is None  # the step closed the bar, so lines never land inside it
