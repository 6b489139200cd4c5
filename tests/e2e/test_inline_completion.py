"""``textDocument/inlineCompletion`` against the real server and the fake MiniMax.

Covers: the capability, a completion with cross-file context post-processed at the
cursor, typing through a suggestion (no new model call), latest-wins cancellation (the
older HTTP stream closes), ``$/cancelRequest``, dropping a result computed for an older
version, the spend guard, one message for a rejected key, denied files (nothing sent)
and secrets redacted from imported modules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import (
    PROFILES,
    MiniMaxTestClient,
    ServerFactory,
    initialize,
    open_document,
    wait_for_status,
    wait_until,
)
from tests.fake_minimax import FakeMiniMax, Fault, RecordedRequest, Reply

MakeWorkspace = Callable[..., Path]

#: The module being edited: it imports `helper` from pkg/util.py.
MAIN = (
    "from pkg.util import helper\n"
    "\n"
    "\n"
    "def run():\n"
    "    total = helper(21)\n"
    "    return total\n"
    "\n"
    "\n"
    "def double(x):\n"
    "    return \n"
)
#: The cursor: end of `    return ` (line 9, 0-based).
LINE, COLUMN = 9, 11


def params(uri: str, line: int = LINE, character: int = COLUMN) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
    )


async def complete(
    client: MiniMaxTestClient, uri: str, line: int = LINE, character: int = COLUMN
) -> list[types.InlineCompletionItem]:
    result = await asyncio.wait_for(
        client.text_document_inline_completion_async(params(uri, line, character)), 30
    )
    if isinstance(result, types.InlineCompletionList):
        return list(result.items)
    return list(result or [])


def edit(client: MiniMaxTestClient, uri: str, version: int, line: int, col: int, text: str) -> None:
    """Insert ``text`` at (line, col) as an incremental change."""
    at = types.Position(line=line, character=col)
    change = types.TextDocumentContentChangePartial(range=types.Range(at, at), text=text)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[change],
        )
    )


def user_text(request: RecordedRequest) -> str:
    """All text the model saw in one request (system + messages)."""
    body: dict[str, Any] = request.body
    parts = [block["text"] for block in body.get("system", [])]
    for message in body["messages"]:
        parts += [block["text"] for block in message["content"]]
    return "\n".join(parts)


def model_requests(fake: FakeMiniMax) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.path.endswith("/messages")]


async def indexed(client: MiniMaxTestClient) -> None:
    """Wait until the workspace index is ready (so cross-file context is available)."""

    def ready() -> bool:
        return any(s.get("state") == "ready" and s.get("files") for s in client.statuses)

    await wait_until(ready, limit=60)


async def warm(client: MiniMaxTestClient, uri: str) -> None:
    """Pack once (``minimax.showContext``) so the context engine is warm.

    The first pack builds the engine's derived structures (seconds on a loaded machine);
    the timing-sensitive steps of the tests must not include it.
    """
    params = types.ExecuteCommandParams(
        command="minimax.showContext",
        arguments=[{"uri": uri, "position": {"line": 0, "character": 0}}],
    )
    await asyncio.wait_for(client.workspace_execute_command_async(params), 120)


async def start(
    start_server: ServerFactory,
    root: Path,
    profile: str = "neovim",
    *,
    init_options: Any = None,
    env: dict[str, str] | None = None,
    inline: bool = True,
) -> tuple[MiniMaxTestClient, str]:
    client = await start_server(profile, env=env)
    await initialize(client, root, init_options=init_options, inline_completion=inline)
    await indexed(client)
    uri = open_document(client, root / "pkg/main.py")  # the text on disk
    await warm(client, uri)
    return client, uri


def files_with(main: str = MAIN, **extra: str) -> dict[str, str]:
    return {
        "pkg/__init__.py": "",
        "pkg/util.py": "def helper(value):\n    return value * 2\n",
        "pkg/main.py": main,
        ".env": "API_TOKEN=sk-cp-envfile-value-1234567890\n",
        **extra,
    }


# --------------------------------------------------------------------------- the main path


@pytest.mark.parametrize("profile", PROFILES)
async def test_completion_with_cross_file_context_and_typing_through(
    profile: str,
    start_server: ServerFactory,
    make_workspace: MakeWorkspace,
    fake_minimax: FakeMiniMax,
) -> None:
    root = make_workspace(files=files_with())
    client = await start_server(profile)
    init = await initialize(client, root, inline_completion=True)
    # Advertised (pygls only does so when given the options), with the fallback.
    assert init.capabilities.inline_completion_provider is not None
    assert init.capabilities.completion_provider is not None
    assert init.capabilities.completion_provider.trigger_characters
    await indexed(client)
    uri = open_document(client, root / "pkg/main.py")
    await warm(client, uri)

    # The model echoes the indentation and a fence; the server cleans it.
    fake_minimax.enqueue(Reply(text="<completion>```python\nhelper(x) + 1\n```</completion>"))
    items = await complete(client, uri)
    assert len(items) == 1
    assert items[0].insert_text == "helper(x) + 1"
    assert items[0].range == types.Range(
        types.Position(line=LINE, character=COLUMN), types.Position(line=LINE, character=COLUMN)
    )
    (request,) = model_requests(fake_minimax)
    body = request.body
    assert body["thinking"] == {"type": "disabled"}
    assert body["max_tokens"] == 256
    assert body["stream"] is True
    seen = user_text(request)
    assert "def helper(value):\n    return value * 2" in seen  # cross-file context
    assert "    return <|hole|>" in seen
    assert seen.index("def helper(value)") < seen.index("    return <|hole|>")

    # Typing the first characters of the suggestion: served from the cache.
    edit(client, uri, 2, LINE, COLUMN, "hel")
    items = await complete(client, uri, LINE, COLUMN + 3)
    assert [i.insert_text for i in items] == ["per(x) + 1"]
    assert items[0].range.start == types.Position(line=LINE, character=COLUMN + 3)
    assert len(model_requests(fake_minimax)) == 1

    # A client that shows ghost text gets no completion-list duplicate (fallback "auto").
    completion = await asyncio.wait_for(
        client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=LINE, character=COLUMN + 3),
            )
        ),
        10,
    )
    assert completion == []
    assert len(model_requests(fake_minimax)) == 1


async def test_no_request_where_completion_makes_no_sense(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    main = MAIN + "\n# a comment\nname = helper(1)\n"
    root = make_workspace(files=files_with(main))
    client, uri = await start(start_server, root)
    assert await complete(client, uri, 11, 11) == []  # inside the comment
    assert await complete(client, uri, 12, 3) == []  # mid-word
    # An explicit request (the user asked) completes even there.
    fake_minimax.enqueue(Reply(text="<completion>_x</completion>"))
    invoked = params(uri, 12, 4)
    invoked.context.trigger_kind = types.InlineCompletionTriggerKind.Invoked
    result = await asyncio.wait_for(client.text_document_inline_completion_async(invoked), 30)
    assert [i.insert_text for i in result or []] == ["_x"]  # type: ignore[union-attr]
    assert len(model_requests(fake_minimax)) == 1


# --------------------------------------------------------------------------- cancellation


async def test_latest_wins_cancel_request_and_stale_results(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=files_with())
    client, uri = await start(start_server, root)

    # 1. A newer request for the document cancels the older one: its stream closes.
    fake_minimax.enqueue(
        Fault.slow_first_byte(10, then=Reply(text="<completion>old</completion>")),
        Reply(text="<completion>helper(x)</completion>"),
    )
    first = asyncio.ensure_future(complete(client, uri))
    await wait_until(lambda: len(model_requests(fake_minimax)) == 1)
    edit(client, uri, 2, LINE, COLUMN, "h")
    second = await complete(client, uri, LINE, COLUMN + 1)
    assert [i.insert_text for i in second] == ["elper(x)"]
    assert await asyncio.wait_for(first, 5) == []  # superseded: no suggestion
    await wait_until(lambda: fake_minimax.client_disconnects >= 1)
    assert len(model_requests(fake_minimax)) == 2

    # 2. $/cancelRequest cancels the work and closes the HTTP stream. (The text typed
    # differs from the cached suggestion, so the model is asked.)
    fake_minimax.enqueue(Fault.slow_first_byte(10, then=Reply(text="<completion>x</completion>")))
    edit(client, uri, 3, LINE, COLUMN + 1, "elper(3")
    pending = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params(uri, LINE, COLUMN + 8), msg_id="cancel-me"
        )
    )
    await wait_until(lambda: len(model_requests(fake_minimax)) == 3)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcException):
        await asyncio.wait_for(pending, 5)
    await wait_until(lambda: fake_minimax.client_disconnects >= 2)

    # 3. The document changes while the model is slow: the result is dropped.
    fake_minimax.enqueue(
        Fault.slow_first_byte(1.0, then=Reply(text="<completion>, 4)</completion>"))
    )
    slow = asyncio.ensure_future(complete(client, uri, LINE, COLUMN + 8))
    await wait_until(lambda: len(model_requests(fake_minimax)) == 4)
    edit(client, uri, 4, LINE, COLUMN + 8, "2")
    assert await asyncio.wait_for(slow, 10) == []
    assert fake_minimax.client_disconnects == 2  # the stale answer was read to its end


# --------------------------------------------------------------------------- spend and errors


async def test_spend_limit_stops_automatic_requests(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=files_with())
    options = {"spend": {"automaticRequestsPerMinute": 1}}
    client, uri = await start(start_server, root, init_options=options)
    fake_minimax.enqueue(Reply(text="<completion>helper(x)</completion>"))
    assert [i.insert_text for i in await complete(client, uri)] == ["helper(x)"]
    edit(client, uri, 2, LINE, COLUMN, "x")
    assert await complete(client, uri, LINE, COLUMN + 1) == []
    assert len(model_requests(fake_minimax)) == 1  # refused before anything was sent
    status = await wait_for_status(client, "spend-limit")
    assert "automatic requests per minute" in status["message"]
    edit(client, uri, 3, LINE, COLUMN + 1, " ")
    assert await complete(client, uri, LINE, COLUMN + 2) == []
    shown = [m for m in client.messages if "per minute" in m.message]
    assert len(shown) == 1  # told once


async def test_rejected_key_is_reported_once(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=files_with())
    client, uri = await start(start_server, root, env={"MINIMAX_API_KEY": "wrong-key"})
    for n in range(3):
        edit(client, uri, 2 + n, LINE, COLUMN + n, "x")
        assert await complete(client, uri, LINE, COLUMN + n + 1) == []
    # One attempt, no retries; then the automatic-request hold keeps the others home.
    assert len(model_requests(fake_minimax)) == 1
    await wait_for_status(client, "error")
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1
    assert "API key" in errors[0].message
    assert "wrong-key" not in str([m.message for m in client.messages])


# --------------------------------------------------------------------------- privacy


async def test_denied_files_send_nothing_and_secrets_are_redacted(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    secret = "sk-cp-" + "q7Zr2LmX9vTb4NcW8yKd3HfJ6pSa1Ue5"
    util = f'MINIMAX_TOKEN = "{secret}"\n\n\ndef helper(value):\n    return value * 2\n'
    root = make_workspace(files=files_with(**{"pkg/util.py": util}))
    client, uri = await start(start_server, root)

    env_uri = open_document(client, root / ".env", language_id="dotenv")
    await wait_for_status(client, "inactive", uri=env_uri)
    assert await complete(client, env_uri, 0, 10) == []
    assert model_requests(fake_minimax) == []  # nothing of it was sent

    fake_minimax.enqueue(Reply(text="<completion>helper(x)</completion>"))
    assert [i.insert_text for i in await complete(client, uri)] == ["helper(x)"]
    (request,) = model_requests(fake_minimax)
    assert secret not in request.raw_body.decode()
    seen = user_text(request)
    assert "MINIMAX_TOKEN = " in seen and "[REDACTED" in seen
