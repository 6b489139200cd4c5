"""Stated failures of a request map to one JSON-RPC error each, for commands and resolve."""

from __future__ import annotations

import asyncio

from pygls.exceptions import JsonRpcInvalidParams

from minimax_lsp.indexer.scan import SkipReason
from minimax_lsp.server.model import AuthError
from minimax_lsp.server.request_errors import REQUEST_FAILED, stated_failure
from minimax_lsp.server.session import CommandError, DocumentDenied
from tests.server.test_session import shown, wired


async def test_each_stated_failure_has_its_code_and_message() -> None:
    server, wire = wired()
    session = server.session
    session.outbox.bind(asyncio.get_running_loop())

    bad = stated_failure(session, "minimax.explain", CommandError("`range` is missing"))
    assert isinstance(bad, JsonRpcInvalidParams)
    assert bad.message == "minimax.explain: `range` is missing"

    secret = DocumentDenied("file:///ws/.env", SkipReason.SECRET)
    denied = stated_failure(session, "minimax.explain", secret)
    assert denied is not None and (denied.code, denied.message) == (REQUEST_FAILED, str(secret))
    assert shown(wire) == []  # neither is the user's problem to be told about twice

    model = stated_failure(session, "MiniMax: Refactor", AuthError("invalid API key"))
    assert model is not None and model.code == REQUEST_FAILED
    assert model.message == "MiniMax: Refactor: invalid API key"
    assert len(shown(wire)) == 1  # the model failure is also reported, once


def test_anything_else_is_not_a_stated_failure() -> None:
    server, _ = wired()
    assert stated_failure(server.session, "minimax.status", KeyError("x")) is None
