"""Argument types and options shared by several subcommands (one spelling, one message)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_cache_dir", "line_range"]


def line_range(text: str) -> tuple[int, int]:
    """``"A-B"`` or ``"A"`` as 1-based inclusive line numbers, for ``type=`` of argparse."""
    first, sep, last = text.strip().partition("-")
    try:
        start = int(first)
        end = int(last) if sep else start
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A-B (line numbers), got {text!r}") from None
    if start < 1 or end < start:
        raise argparse.ArgumentTypeError(f"expected 1 <= A <= B, got {text!r}")
    return start, end


def add_cache_dir(parser: argparse.ArgumentParser) -> None:
    """``--cache-dir DIR``: where index databases live (the index's own default otherwise)."""
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where index databases live (default: $MINIMAX_LSP_CACHE_DIR or the user cache dir)",
    )
