"""The CLI's progress line (server/cli/progress.py) and its use by ``index``/``context``.

Unit tests drive `ProgressLine` with a clock of their own and a real text stream; two
tests run the real commands with stderr on a pseudo-terminal: the line is drawn, then
blanked before the result.
"""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from minimax_lsp.indexer.index import Progress
from minimax_lsp.server.cli import ask, context, index
from minimax_lsp.server.cli.progress import COLUMNS, REDRAW_SECONDS, ProgressLine


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _line(*, draw_final: bool = False) -> tuple[ProgressLine, io.StringIO, Clock]:
    stream, clock = io.StringIO(), Clock()
    line = ProgressLine(
        stream, lambda p: f"{p.phase} {p.done}/{p.total}", draw_final=draw_final, clock=clock
    )
    return line, stream, clock


def test_redraws_at_most_every_interval_and_pads_over_longer_text() -> None:
    line, stream, clock = _line()
    line(Progress("scanning", 0, 0))
    line(Progress("parsing", 1, 10))  # too soon: dropped
    clock.now += REDRAW_SECONDS + 0.01
    line(Progress("parsing", 2, 10))
    clock.now += REDRAW_SECONDS + 0.01
    line(Progress("x", 0, 0))  # shorter than the line it replaces: padded over it
    assert stream.getvalue() == "\rscanning 0/0\rparsing 2/10\rx 0/0       "
    line.clear()
    assert stream.getvalue().endswith("\r" + " " * len("x 0/0") + "\r")
    before = stream.getvalue()
    line.clear()  # nothing drawn since: nothing written
    assert stream.getvalue() == before


def test_a_completed_phase_is_drawn_at_once_only_with_draw_final() -> None:
    for draw_final, expected in ((True, "\rparsing 1/2\rparsing 2/2"), (False, "\rparsing 1/2")):
        line, stream, _ = _line(draw_final=draw_final)
        line(Progress("parsing", 1, 2))
        line(Progress("parsing", 2, 2))  # within the interval, but the phase is done
        line(Progress("saving", 0, 0))  # within the interval: dropped (0/0 is not "done")
        assert stream.getvalue() == expected


def test_long_text_is_cut_to_the_terminal_width() -> None:
    stream = io.StringIO()
    ProgressLine(stream, lambda p: p.path or "")(Progress("parsing", 1, 1, "x" * 200))
    assert stream.getvalue() == "\r" + "x" * COLUMNS


def test_only_a_terminal_gets_a_line() -> None:
    assert ProgressLine.on_terminal(io.StringIO(), lambda p: p.phase) is None
    master, slave = pty.openpty()
    try:
        with open(slave, "w", closefd=False) as terminal:
            line = ProgressLine.on_terminal(terminal, lambda p: p.phase)
            assert line is not None
            line(Progress("scanning", 0, 0))
        assert os.read(master, 100) == b"\rscanning"
    finally:
        os.close(slave)
        os.close(master)


def test_each_command_words_its_line() -> None:
    parsing = Progress("parsing", 5, 10, "pkg/a.py")
    scanning = Progress("scanning", 0, 0)
    assert index._progress_text(parsing) == "parsing [##########          ] 5/10 pkg/a.py"
    assert index._progress_text(scanning) == "scanning..."
    assert context._progress_text(parsing) == "indexing: parsing 5/10"
    assert context._progress_text(scanning) == "indexing: scanning 0/0"
    assert ask._progress_text(parsing) == "indexing: parsing 5/10"
    assert ask._progress_text(scanning) == "indexing: scanning"


# --------------------------------------------------------------------------- real commands


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    for n in range(5):
        (root / f"pkg/m{n}.py").write_text(f"def f{n}(x):\n    return x + {n}\n")
    return root


def _run_on_terminal(args: list[str], cache: Path) -> tuple[int, str, str]:
    """Run ``minimax-lsp ARGS`` with stderr on a pseudo-terminal: (code, stdout, stderr)."""
    env = {**os.environ, "MINIMAX_LSP_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "minimax_lsp", *args]
    master, slave = pty.openpty()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, env=env) as process:
        os.close(slave)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        out = process.stdout.read().decode() if process.stdout else ""
        code = process.wait(timeout=60)
    os.close(master)
    return code, out, b"".join(chunks).decode()


# (On a pipe both commands print nothing on stderr: tests/test_cli_index.py and
# tests/test_cli_context.py check that.)
@pytest.mark.parametrize(
    ("command", "first_text"),
    [("index", "\rscanning..."), ("context", "\rindexing: scanning 0/0")],
)
def test_commands_draw_on_a_terminal_then_blank_the_line(
    tree: Path, tmp_path: Path, command: str, first_text: str
) -> None:
    if command == "index":
        args = ["index", str(tree)]
    else:
        args = ["context", str(tree / "pkg/m1.py"), "--line", "1", "--root", str(tree)]
    code, out, err = _run_on_terminal(args, tmp_path / "cache")
    assert code == 0, err
    assert err.startswith(first_text)
    # The line is blanked before the result: spaces over its last text, back to column 0.
    assert err.endswith("\r") and err.rstrip("\r").endswith(" ")
    assert out.strip()
