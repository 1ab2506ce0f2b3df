"""The batch's live board on a terminal (console.Board via Display), and plain lines elsewhere."""

from __future__ import annotations

import re

import pytest

from edgeadm import console
from edgeadm import events as ev


def _frames(text: str) -> list[str]:
    """What is on screen after each redraw: the text between one erase (ESC[nF ESC[J) and the next."""
    return re.split(r"\x1b\[\d+F\x1b\[J", text)


def test_board_redraws_in_place_with_lines_scrolling_above(capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.Board, "__init__", lambda self: _init(self, 200, 40))
    d = console.Display(tty=True)
    for node in ("a1", "a2", "a3"):
        d.emit(ev.HostState("shop-1", node, "waiting"))
    d.emit(ev.HostState("shop-2", "b1", "waiting"))
    d.emit(ev.HostState("shop-1", "a1", "running", "copying the release"))
    d.emit(ev.Step("[shop-1/a1] copying the release"))
    d.emit(ev.HostState("shop-1", "a1", "joined"))
    d.emit(ev.HostState("shop-1", "a2", "unreachable"))
    d.emit(ev.HostState("shop-2", "b1", "running", "joining"))
    d.emit(ev.BatchDone())
    d.emit(ev.Step("after the batch"))
    err = capsys.readouterr().err
    frames = _frames(err)
    # the step line was printed once, between two redraws, and the board came back under it
    assert "[shop-1/a1] copying the release\nshop-1  0/3 done · running 1 (a1: copying the release) · waiting 2\n" \
           "shop-2  0/1 done · waiting 1\n" in frames
    # the final frame: the running site first, then the one with a host not done
    assert frames[-1] == ("shop-2  0/1 done · running 1 (b1: joining)\n"
                          "shop-1  1/3 done · 1 not done (unreachable) · waiting 1\n"
                          "after the batch\n")


def _init(board: console.Board, columns: int, rows: int) -> None:
    board.columns, board.rows, board.sites, board.drawn = columns, rows, {}, 0


def test_board_fits_the_screen() -> None:
    b = console.Board.__new__(console.Board)
    _init(b, 40, 5)
    for i in range(10):
        b.update(ev.HostState(f"site-{i}", "n", "joined" if i else "running", "a long description " * 5))
    lines = b.lines()
    assert len(lines) == 3 and lines[-1] == "… and 8 more sites"
    assert lines[0].startswith("site-0  0/1 done · running 1") and len(lines[0]) == 39 and lines[0][-1] == "…"


def test_no_board_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    d = console.Display(tty=False)
    d.emit(ev.HostState("shop-1", "a1", "running", "joining"))
    d.emit(ev.Step("[shop-1/a1] joining"))
    d.emit(ev.BatchDone())
    assert capsys.readouterr().err == "[shop-1/a1] joining\n"
