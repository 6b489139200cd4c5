"""``minimax-lsp context FILE --line N``: show what a request would send to the model.

Refreshes the workspace index (quietly; a progress line on stderr only when stderr is a
terminal), packs the request with the context engine and prints the manifest: one row
per span in prompt order (path, lines, mode, tokens, reason), then the totals against
the budget. ``--json`` prints the manifest as one JSON object instead:
``{"task", "budget", "tokens", "stable_items", "items": [{"path", "start_line",
"end_line", "mode", "tokens", "reason", "score"}, ...]}``; ``--text`` adds each span's
text (what is sent, secrets redacted) to the table or the JSON.

ROOT defaults to the nearest ancestor of FILE holding a version-control marker
(``.git``, ``.hg``, ``.svn``, ``.jj``), else the current directory. The budget defaults
to the task's default in the settings (for chat: the default model's context window
minus its answer allowance).

Exit codes: 0 done; 2 when FILE is missing or outside ROOT, or the line/selection is
outside the file; 1 when FILE may not be sent (ignored, secret, vendored...) or the
index cannot be opened; 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Final

from minimax_lsp.indexer.context import ContextDenied, ContextEngine, ContextRequest, Manifest
from minimax_lsp.indexer.index import Index, Progress
from minimax_lsp.indexer.rank import TASKS, Task
from minimax_lsp.server.cli import CommandFailed, UsageError
from minimax_lsp.server.cli.args import add_cache_dir, line_range
from minimax_lsp.server.cli.progress import ProgressLine

#: Folders whose presence marks a repository's top.
_VCS_MARKERS: Final = (".git", ".hg", ".svn", ".jj")
_REASON_WIDTH: Final = 60


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``context`` subcommand's arguments."""
    parser.add_argument("file", metavar="FILE", help="the current file of the request")
    parser.add_argument(
        "--line", type=_positive_int, required=True, metavar="N", help="cursor line (1-based)"
    )
    parser.add_argument(
        "--column",
        type=_non_negative_int,
        default=0,
        metavar="C",
        help="cursor column (0-based characters; default 0)",
    )
    parser.add_argument(
        "--task",
        choices=TASKS,
        default=None,
        help="what the context is for (default: complete, or explain with --selection)",
    )
    parser.add_argument(
        "--selection",
        type=line_range,
        default=None,
        metavar="A-B",
        help="selected lines (1-based, inclusive), for explain/refactor",
    )
    parser.add_argument("--query", default="", metavar="TEXT", help="chat question / instruction")
    parser.add_argument(
        "--budget",
        type=_non_negative_int,
        default=None,
        metavar="TOKENS",
        help="token budget (default: the task's default budget)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        metavar="ROOT",
        help="workspace folder (default: the repository containing FILE, else the cwd)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--text", action="store_true", help="include each span's text")
    add_cache_dir(parser)


def run(args: argparse.Namespace) -> int:
    """Pack the request described by ``args`` and print its manifest."""
    file = Path(args.file).expanduser()
    if not file.is_file():
        raise UsageError(f"{file}: no such file")
    file = file.resolve()
    root = (args.root.expanduser() if args.root is not None else find_root(file)).resolve()
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory")
    if not file.is_relative_to(root):
        raise UsageError(f"{file}: outside the workspace root {root}")
    task: Task = args.task or ("explain" if args.selection else "complete")
    _check_position(file, args.line, args.selection)
    manifest = _pack(root, file, args, task)
    if args.json:
        output = json.dumps(manifest.to_json(include_text=args.text), indent=2)
    else:
        output = render_table(manifest, with_text=args.text)
    try:
        print(output)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (`| head`) went away: not an error of ours. Point stdout at
        # /dev/null so the interpreter's final flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def find_root(file: Path) -> Path:
    """The nearest ancestor of ``file`` with a version-control marker, else the cwd."""
    for folder in file.resolve().parents:
        if any((folder / marker).exists() for marker in _VCS_MARKERS):
            return folder
    return Path.cwd()


def default_budget(task: Task) -> int:
    """The task's default context budget from the settings (0 there means automatic)."""
    from minimax_lsp.server.model.models import DEFAULT_MODEL, model_info
    from minimax_lsp.server.settings import Settings

    tasks = Settings().tasks
    setting = {
        "complete": tasks.completion,
        "explain": tasks.explain,
        "refactor": tasks.refactor,
        "chat": tasks.chat,
    }[task]
    if setting.budget > 0:
        return setting.budget
    return max(0, model_info(DEFAULT_MODEL).context_window - setting.maxOutputTokens)


def _pack(root: Path, file: Path, args: argparse.Namespace, task: Task) -> Manifest:
    progress = ProgressLine.on_terminal(sys.stderr, _progress_text)
    try:
        index = Index(root, cache_dir=args.cache_dir)
    except OSError as exc:
        raise CommandFailed(f"cannot open the index for {root}: {exc}") from exc
    try:
        index.refresh(progress=progress)
        if progress is not None:
            progress.clear()
        request = ContextRequest(
            file.relative_to(root).as_posix(),
            line=args.line,
            column=args.column,
            task=task,
            selection=args.selection,
            query=args.query,
            budget=args.budget if args.budget is not None else default_budget(task),
        )
        return ContextEngine(index).pack(request)
    except ContextDenied as exc:
        raise CommandFailed(f"{exc.path}: not sent to the model ({exc.reason})") from exc
    finally:
        if progress is not None:
            progress.clear()
        index.close()


def _check_position(file: Path, line: int, selection: tuple[int, int] | None) -> None:
    """Exit 2 for a cursor or selection outside the file."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CommandFailed(f"{file}: cannot read: {exc.strerror or exc}") from exc
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    # The cursor may sit on the empty line after a final newline.
    last = max(1, lines + (1 if data.endswith(b"\n") else 0))
    if line > last:
        raise UsageError(f"--line {line}: {file.name} has {lines} lines")
    if selection is not None and selection[1] > max(1, lines):
        raise UsageError(
            f"--selection {selection[0]}-{selection[1]}: {file.name} has {lines} lines"
        )


def render_table(manifest: Manifest, *, with_text: bool = False) -> str:
    """The manifest as a readable table (prompt order), then totals and the budget."""
    rows = [("#", "path", "lines", "mode", "tokens", "reason")]
    for number, span in enumerate(manifest.items, start=1):
        reason = span.reason
        if len(reason) > _REASON_WIDTH:
            reason = reason[: _REASON_WIDTH - 1] + "\u2026"
        rows.append(
            (
                str(number),
                span.path,
                f"{span.start_line}-{span.end_line}",
                span.mode,
                f"{span.tokens:,}",
                reason,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {0, 4}
    lines = []
    for i, row in enumerate(rows):
        cells = [
            cell.rjust(widths[j]) if j in right else cell.ljust(widths[j])
            for j, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if with_text and i > 0:
            span = manifest.items[i - 1]
            lines.extend("    " + text_line for text_line in span.text.splitlines())
    share = f" ({manifest.tokens / manifest.budget:.0%})" if manifest.budget else ""
    lines.append("")
    lines.append(
        f"total {manifest.tokens:,} of {manifest.budget:,} tokens{share} in "
        f"{len(manifest.items)} item(s); task {manifest.task}; "
        f"the first {manifest.stable_items} form the stable repository section"
    )
    return "\n".join(lines)


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _progress_text(progress: Progress) -> str:
    """The progress line while the index refreshes."""
    return f"indexing: {progress.phase} {progress.done}/{progress.total}"
