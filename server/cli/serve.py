"""``minimax-lsp serve [--tcp HOST:PORT] [--log-file F] [--log-level L]``: the language server.

Runs on stdio by default. stdout belongs to the protocol alone: before anything else
runs, the real stdout is duplicated for the protocol writer and file descriptor 1 is
pointed at stderr, so a stray ``print``, a library's chatter or a child process that
inherits stdout can never corrupt the stream. Logs go to stderr (and ``--log-file`` /
the ``logFile`` setting); ``--log-level`` / ``--log-file`` win over the settings.

Exit status: 0 after ``shutdown`` + ``exit``; 1 after ``exit`` without ``shutdown``
(LSP), or when the client went away without either. A watchdog ends the process a few
seconds after ``exit`` if some thread still hangs on to it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from typing import BinaryIO, Final

from minimax_lsp.server.cli import UsageError
from minimax_lsp.server.notify import LEVELS, LogSetup, SecretScrubber

#: Seconds after ``exit`` (or the end of input) before the process is ended forcibly.
EXIT_GRACE: Final = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``serve`` subcommand's arguments."""
    parser.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        default=None,
        help="listen on a TCP socket instead of stdio (for debugging)",
    )
    parser.add_argument(
        "--log-file", metavar="FILE", default=None, help="also write the log to FILE"
    )
    parser.add_argument(
        "--log-level",
        choices=sorted(LEVELS),
        default=None,
        help="log level (default: the logLevel setting, else info)",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until the client says ``exit`` (or goes away); returns the exit status."""
    address = _parse_address(args.tcp) if args.tcp else None
    protocol_out = _claim_stdout()
    scrubber = SecretScrubber()
    log_setup = LogSetup(scrubber, stream=sys.stderr, level=args.log_level, log_file=args.log_file)
    # Imported here: pygls and the indexer are heavy, and `--help` should stay fast.
    from minimax_lsp.server.app import create_server

    server = create_server(log_setup=log_setup, scrubber=scrubber)
    session = server.session
    watchdog = threading.Thread(
        target=_watchdog, args=(session.exited, lambda: session.exit_code), daemon=True
    )
    watchdog.start()
    try:
        if address is not None:
            # pygls ends a TCP session's `exit` with SystemExit out of the event loop.
            with contextlib.suppress(SystemExit):
                server.start_tcp(*address)
        else:
            server.start_io(stdin=sys.stdin.buffer, stdout=protocol_out)
    finally:
        if session.exit_code is None:
            session.exit()  # input ended without `exit`: stop what still runs
        log_setup.close()
    code = session.exit_code
    return 1 if code is None else code


def _parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--tcp expects HOST:PORT, not {text!r}")
    return host, int(port)


def _claim_stdout() -> BinaryIO:
    """Return a private handle on the real stdout; point fd 1 and ``sys.stdout`` at stderr."""
    sys.stdout.flush()
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return protocol


def _watchdog(exited: threading.Event, code: object) -> None:
    """End the process `EXIT_GRACE` seconds after ``exit`` if it is still alive."""
    exited.wait()
    time.sleep(EXIT_GRACE)
    value = code() if callable(code) else None
    sys.stderr.flush()
    os._exit(value if isinstance(value, int) else 1)
