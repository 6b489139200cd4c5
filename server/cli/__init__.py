"""The ``minimax-lsp`` command line.

Each subcommand lives in its own module in this package and exposes two functions:
``add_arguments(parser)`` and ``run(args) -> int``. This module only wires them up,
so ``minimax-lsp --help`` stays fast (subcommand modules are imported on use).

Exit codes (public contract, DESIGN.md §3.1): 0 ok, 2 usage error, 1 runtime
failure — both failures with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from minimax_lsp import __version__

#: subcommand → (module in this package, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "run the language server (stdio by default)"),
    "index": ("index", "build or refresh the workspace index and print its statistics"),
    "context": ("context", "show what a request at FILE:LINE would send to the model"),
    "ask": ("ask", "ask one question about the workspace; the answer streams to stdout"),
    "doctor": ("doctor", "check settings, API key presence, endpoint and index health"),
}


class UsageError(Exception):
    """A bad argument the parser could not catch (a missing file, say): exit 2."""


class CommandFailed(Exception):
    """A runtime failure with a one-line, user-facing reason: exit 1."""


class _Subcommand(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(module: str) -> _Subcommand:
    return cast(_Subcommand, importlib.import_module(f"{__name__}.{module}"))


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only the chosen subcommand's module is imported."""
    parser = argparse.ArgumentParser(
        prog="minimax-lsp",
        description="MiniMax's long-context models in any LSP editor.",
    )
    parser.add_argument("--version", action="version", version=f"minimax-lsp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in (argv or []) if not a.startswith("-")), None)
    for name, (module, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        # Only the chosen subcommand's module is imported: start-up stays fast and
        # one subcommand's heavy imports never slow another (top-level --help needs none).
        if chosen == name:
            _load(module).add_arguments(sp)
        sp.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of ``python -m minimax_lsp``."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return _load(args._module).run(args)
    except UsageError as exc:
        print(f"minimax-lsp {args.command}: {exc}", file=sys.stderr)
        return 2
    except CommandFailed as exc:
        print(f"minimax-lsp {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"minimax-lsp {args.command}: interrupted", file=sys.stderr)
        return 130
