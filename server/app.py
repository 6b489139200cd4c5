"""Wiring: create the language server, let each feature module register its handlers.

This is the only place that knows the list of features. Each module in `FEATURES`
exposes ``setup(server)``, which registers its handlers with pygls decorators
(``@server.feature(...)``) or commands with `MiniMaxLanguageServer.register_command`.
A module that fails to import or set up is logged and skipped; the server still
starts with the others (STYLE.md "absorb" 2).

Two kinds of handler (ruff ``traits.rs``): handlers that only mutate state
(``didOpen``, ``didChange``, configuration) stay short and synchronous, or await
nothing slow; handlers that do I/O or heavy work are ``async`` (model calls over the
shared ``httpx.AsyncClient``) and push CPU work to threads (``asyncio.to_thread``).
No handler blocks the event loop, and ``CancelledError`` is never swallowed.

Adding a feature: write ``server/features/<name>.py`` with ``setup(server)`` and add
its module name to `FEATURES`. Adding a command: ``server.register_command("minimax.x",
handler)`` in that ``setup``, with ``async def handler(session, args) -> result``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from lsprotocol import types
from pygls.exceptions import (
    FeatureRequestError,
    JsonRpcException,
    JsonRpcInternalError,
)
from pygls.lsp.server import LanguageServer

from minimax_lsp import __version__
from minimax_lsp.server.notify import LogSetup, SecretScrubber
from minimax_lsp.server.protocol import MiniMaxProtocol
from minimax_lsp.server.request_errors import stated_failure
from minimax_lsp.server.session import Session

__all__ = ["FEATURES", "CommandHandler", "MiniMaxLanguageServer", "create_server"]

_log = logging.getLogger("minimax_lsp.app")

#: Feature modules, set up in this order.
FEATURES: Final[tuple[str, ...]] = (
    "minimax_lsp.server.features.configuration",
    "minimax_lsp.server.features.documents",
    "minimax_lsp.server.features.workspace_commands",
    "minimax_lsp.server.features.code_actions",
    "minimax_lsp.server.features.commands",
    "minimax_lsp.server.features.inline_completion",
    "minimax_lsp.server.features.completion",
)

#: ``async def handler(session, args) -> JSON-able result``; ``args`` are the command's
#: arguments as sent (pygls passes them spread; they arrive here as one tuple).
CommandHandler = Callable[[Session, tuple[Any, ...]], Awaitable[Any]]


class MiniMaxLanguageServer(LanguageServer):
    """The pygls server; all state lives on ``self.session``.

    The JSON-RPC / LSP rules pygls leaves out (answers to malformed or untimely
    messages, cancellation of commands, shutdown) live in its protocol,
    `minimax_lsp.server.protocol.MiniMaxProtocol`.

    Parameters
    ----------
    environ:
        The environment the session reads (API key, ``MINIMAX_*``); default the process's.
    log_setup, scrubber:
        The process's logging handlers and secret filter (the CLI creates them).
    cache_dir:
        Index cache directory override.
    """

    protocol: MiniMaxProtocol

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        log_setup: LogSetup | None = None,
        scrubber: SecretScrubber | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        super().__init__(
            "minimax-lsp",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=MiniMaxProtocol,
        )
        self.session = Session(
            self, environ=environ, log_setup=log_setup, scrubber=scrubber, cache_dir=cache_dir
        )

    def register_command(self, name: str, handler: CommandHandler) -> None:
        """Register ``workspace/executeCommand`` ``name`` (listed in the capabilities).

        The handler gets the session and the arguments; errors become JSON-RPC errors:
        `CommandError` -> invalid params, `DocumentDenied` and `ModelError` -> request
        failed (the model error is also reported as a status/message), anything else ->
        internal error with a one-line message (the traceback goes to the log only).
        """
        session = self.session

        # The annotations must resolve at run time: pygls reads them to spread args.
        async def run(ls: Any, *args: Any) -> Any:
            return await _run_command(session, name, handler, args)

        self.command(name)(run)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Errors outside a request's answer; the user gets at most one rate-limited message.

        Only internal errors reach the user (pygls' default shows a message for every
        failing notification handler, which for a per-keystroke handler means a flood of
        popups, STYLE.md "avoid" 6). Client mistakes are one WARNING line: a frame pygls'
        read loop could not decode (its only use of ``source=JsonRpcException``; the
        protocol answers it -32700) -- the protocol drops the other mistakes itself. A
        failed request was logged by the protocol and its answer carries the error.
        """
        if source is FeatureRequestError:
            return
        if source is JsonRpcException:
            self.protocol.reject_unreadable(error)  # logs its one line
            return
        _log.error("server error (%s): %s", getattr(source, "__name__", source), error)
        self.session.notifier.problem(
            "internal", "MiniMax: an internal error occurred. See the output for details."
        )


async def _run_command(
    session: Session, name: str, handler: CommandHandler, args: tuple[Any, ...]
) -> Any:
    try:
        return await handler(session, args)
    except asyncio.CancelledError:
        raise
    except JsonRpcException:
        raise
    except Exception as exc:
        error = stated_failure(session, name, exc)
        if error is not None:
            raise error from None
        _log.exception("command %s failed", name)
        message = session.scrubber.scrub(f"{name} failed: {type(exc).__name__}: {exc}")
        raise JsonRpcInternalError(message=message) from None


def create_server(
    *,
    features: Sequence[str] = FEATURES,
    environ: Mapping[str, str] | None = None,
    log_setup: LogSetup | None = None,
    scrubber: SecretScrubber | None = None,
    cache_dir: Path | None = None,
) -> MiniMaxLanguageServer:
    """A server with every feature module in ``features`` set up (failures logged)."""
    server = MiniMaxLanguageServer(
        environ=environ, log_setup=log_setup, scrubber=scrubber, cache_dir=cache_dir
    )
    for name in features:
        try:
            module = importlib.import_module(name)
            module.setup(server)
        except Exception:
            _log.exception("feature %s could not be set up; continuing without it", name)
    return server
