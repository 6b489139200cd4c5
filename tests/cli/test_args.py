"""Shared CLI argument types: one spelling and one error message for every subcommand."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from minimax_lsp.server.cli.args import add_cache_dir, line_range


@pytest.mark.parametrize(
    ("text", "expected"), [("7", (7, 7)), ("3-9", (3, 9)), (" 4-4 ", (4, 4)), ("1-1", (1, 1))]
)
def test_line_range_accepts_a_line_or_a_range(text: str, expected: tuple[int, int]) -> None:
    assert line_range(text) == expected


@pytest.mark.parametrize("text", ["0", "5-2", "a-b", "", "-3", "2-"])
def test_line_range_rejects_what_is_not_1_based_and_ordered(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected"):
        line_range(text)


def test_cache_dir_option_is_a_path_defaulting_to_none() -> None:
    parser = argparse.ArgumentParser()
    add_cache_dir(parser)
    assert parser.parse_args([]).cache_dir is None
    assert parser.parse_args(["--cache-dir", "x/y"]).cache_dir == Path("x/y")
