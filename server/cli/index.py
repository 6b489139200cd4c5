"""``minimax-lsp index [ROOT] [--json]``: build or refresh the persistent index.

Prints what the index holds (files, symbols, files per language, files skipped by
reason) and what this run did (parsed, reused, removed, seconds), as a readable summary
or, with ``--json``, as one JSON object with the keys ``root``, ``files``, ``symbols``,
``languages``, ``skipped``, ``parsed``, ``reused``, ``removed``, ``seconds`` and
``database``. A progress line is drawn on stderr only when stderr is a terminal.

Exit codes: 0 done; 2 when ROOT is not an existing folder; 1 when the index cannot be
built; 130 on Ctrl-C, after saving what was already parsed (the first Ctrl-C stops
between two files, a second one aborts at once).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from minimax_lsp.indexer.index import Index, IndexStats, Progress
from minimax_lsp.server.cli import CommandFailed, UsageError
from minimax_lsp.server.cli.args import add_cache_dir
from minimax_lsp.server.cli.interrupt import cancel_on_sigint
from minimax_lsp.server.cli.progress import ProgressLine


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``index`` subcommand's arguments."""
    parser.add_argument(
        "root",
        nargs="?",
        default=".",
        metavar="ROOT",
        help="workspace folder to index (default: the current directory)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_cache_dir(parser)
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="parser processes for large batches (default: one per CPU; 1 = no processes)",
    )


def run(args: argparse.Namespace) -> int:
    """Index ``args.root`` and print its statistics."""
    root = Path(args.root).expanduser()
    if not root.exists():
        raise UsageError(f"{root}: no such directory")
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory")
    cancel = threading.Event()
    progress = ProgressLine.on_terminal(sys.stderr, _progress_text, draw_final=True)
    try:
        index = Index(root, cache_dir=args.cache_dir, workers=args.workers)
    except OSError as exc:
        raise CommandFailed(f"cannot open the index for {root}: {exc}") from exc
    try:
        with cancel_on_sigint(cancel):
            stats = index.refresh(progress=progress, cancel=cancel)
    finally:
        if progress is not None:
            progress.clear()
        index.close()
    if stats.cancelled:
        # The dispatcher turns this into "minimax-lsp index: interrupted" and exit 130.
        raise KeyboardInterrupt
    if args.json:
        print(json.dumps(_as_json(stats), indent=2))
    else:
        print(_summary(stats))
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _as_json(stats: IndexStats) -> dict[str, object]:
    return {
        "root": stats.root,
        "files": stats.files,
        "symbols": stats.symbols,
        "languages": dict(stats.languages),
        "skipped": dict(sorted(stats.skipped.items())),
        "parsed": stats.parsed,
        "reused": stats.reused,
        "removed": stats.removed,
        "seconds": round(stats.seconds, 3),
        "database": stats.database,
    }


def _summary(stats: IndexStats) -> str:
    lines = [
        f"indexed {stats.root}",
        f"  files     {stats.files:,}  ({stats.symbols:,} symbols)",
        f"  languages {_counts(stats.languages)}",
        f"  skipped   {_counts(stats.skipped)}",
        f"  this run  {stats.parsed:,} parsed, {stats.reused:,} reused, "
        f"{stats.removed:,} removed in {stats.seconds:.2f} s",
        f"  database  {stats.database}",
    ]
    return "\n".join(lines)


def _counts(counts: Mapping[str, int]) -> str:
    if not counts:
        return "none"
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{name} {count:,}" for name, count in items)


def _progress_text(progress: Progress) -> str:
    """The progress line: a bar while parsing, else the phase."""
    if progress.phase == "parsing" and progress.total:
        share = progress.done / progress.total
        bar = "#" * int(share * 20)
        return f"parsing [{bar:<20}] {progress.done}/{progress.total} {progress.path or ''}"
    return f"{progress.phase}..."
