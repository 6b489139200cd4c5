"""The automatic-request hold: "401 told once, quota stops automatic requests".

After MiniMax rejects the key (401, 1004, 2049) or reports the quota used up (2056), the
server sends no automatic request (inline completion, the ``textDocument/completion``
fallback) until something changes: the settings (a new key file), a user-invoked command
that succeeds, or the server's ``retry-after`` for the quota. User-invoked requests (a
command, an explicitly invoked inline completion) are never held: they try and report.
Everything is checked at the fake MiniMax: the requests it received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.conftest import (
    MiniMaxTestClient,
    ServerFactory,
    execute,
    wait_for_status,
)
from tests.e2e.test_inline_completion import (
    COLUMN,
    LINE,
    complete,
    edit,
    files_with,
    model_requests,
    start,
)
from tests.fake_minimax import FakeMiniMax, Fault, Reply

MakeWorkspace = Callable[..., Path]

SUGGESTION = "<completion>helper(x)</completion>"
#: ``minimax.explain`` of `double` (the last function of `MAIN`).
EXPLAIN_RANGE = {"start": {"line": 8, "character": 0}, "end": {"line": 10, "character": 0}}
#: Keystrokes typed while a hold stands.
KEYS = 6


class Typing:
    """Types ``x`` at the end of the ``    return`` line, one version per key."""

    def __init__(self, client: MiniMaxTestClient, uri: str) -> None:
        self.client = client
        self.uri = uri
        self.version = 1
        self.column = COLUMN

    def key(self) -> None:
        self.version += 1
        edit(self.client, self.uri, self.version, LINE, self.column, "x")
        self.column += 1

    async def inline(self) -> list[types.InlineCompletionItem]:
        """Type a key, then ask for an automatic inline completion there."""
        self.key()
        return await complete(self.client, self.uri, LINE, self.column)

    async def invoked(self) -> list[types.InlineCompletionItem]:
        """An explicitly invoked inline completion (the user asked) at the cursor."""
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked
            ),
            text_document=types.TextDocumentIdentifier(uri=self.uri),
            position=types.Position(line=LINE, character=self.column),
        )
        result = await asyncio.wait_for(
            self.client.text_document_inline_completion_async(params), 30
        )
        return list(result.items if isinstance(result, types.InlineCompletionList) else result)

    async def fallback(self) -> list[types.CompletionItem]:
        """Type a key, then ask ``textDocument/completion`` (the fallback) there."""
        self.key()
        params = types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri),
            position=types.Position(line=LINE, character=self.column),
        )
        result = await asyncio.wait_for(self.client.text_document_completion_async(params), 30)
        return list(result.items if isinstance(result, types.CompletionList) else result or [])


async def explain(client: MiniMaxTestClient, uri: str) -> str | None:
    """Run ``minimax.explain``; the JSON-RPC error text, or None when it succeeded."""
    try:
        await execute(client, "minimax.explain", {"uri": uri, "range": EXPLAIN_RANGE})
    except Exception as exc:  # the request-failed error of a failed model call
        return str(exc)
    return None


@pytest.mark.slow
async def test_rejected_key_holds_completions_until_the_settings_change(
    start_server: ServerFactory,
    make_workspace: MakeWorkspace,
    fake_minimax: FakeMiniMax,
    fake_minimax_factory: Callable[..., FakeMiniMax],
) -> None:
    """The key belongs to the other region (the classic 401): held until the user points
    ``baseUrl`` at the right one through ``didChangeConfiguration``."""
    other_region = fake_minimax_factory(api_key="other-region-key")
    root = make_workspace(files=files_with())
    env = {"MINIMAX_BASE_URL": other_region.anthropic_base_url}
    client, uri = await start(start_server, root, env=env)
    fake_minimax.set_default(lambda _request: Reply(text=SUGGESTION))
    typing = Typing(client, uri)

    assert await typing.inline() == []  # 401: the key is not this region's
    assert len(model_requests(other_region)) == 1
    for _ in range(KEYS):
        assert await typing.inline() == []
    assert len(model_requests(other_region)) == 1  # held: nothing more was sent
    await wait_for_status(client, "error")
    [shown] = [m.message for m in client.messages if "API key" in m.message]
    assert "paused until the API key or the settings change" in shown
    assert "test-key" not in shown

    # The user asking is never held: an invoked completion and a command still try.
    assert await typing.invoked() == []
    assert len(model_requests(other_region)) == 2
    failure = await explain(client, uri)
    assert failure is not None and "API key" in failure
    assert len(model_requests(other_region)) == 3
    assert len([m for m in client.messages if "API key" in m.message]) == 1  # told once

    # The right region, through the settings: completions resume there.
    client.set_configuration({"baseUrl": fake_minimax.anthropic_base_url}, section="minimax")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    deadline = asyncio.get_running_loop().time() + 10
    while not await typing.inline():
        assert asyncio.get_running_loop().time() < deadline, "completions never resumed"
        await asyncio.sleep(0.05)
    assert len(model_requests(fake_minimax)) == 1  # the first request there answered
    assert len(model_requests(other_region)) == 3
    await wait_for_status(client, "ready", after=len(client.statuses) - 1)


@pytest.mark.slow
async def test_used_up_quota_holds_completions_until_a_command_succeeds_or_it_resets(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=files_with())
    # The fallback too (for clients without inline completion): both are automatic.
    options = {"inlineCompletion": {"fallback": "on"}}
    client, uri = await start(start_server, root, init_options=options)
    fake_minimax.set_default(lambda _request: Reply(text=SUGGESTION))
    typing = Typing(client, uri)

    fake_minimax.set_sticky(Fault.http(429, code=2056))
    assert await typing.inline() == []
    assert len(model_requests(fake_minimax)) == 1
    for _ in range(KEYS // 2):
        assert await typing.inline() == []
        assert await typing.fallback() == []
    assert len(model_requests(fake_minimax)) == 1  # held: inline and fallback alike
    await wait_for_status(client, "error")
    [shown] = [m.message for m in client.messages if "quota" in m.message]
    assert "paused for about 5 min" in shown

    # A command still tries (and fails while the quota is used up).
    failure = await explain(client, uri)
    assert failure is not None and "quota" in failure
    assert len(model_requests(fake_minimax)) == 2
    # The quota is back, but nothing automatic found out: still held ...
    fake_minimax.set_sticky(None)
    assert await typing.inline() == []
    assert len(model_requests(fake_minimax)) == 2
    # ... until a command succeeds.
    assert await explain(client, uri) is None
    assert await typing.inline()
    assert len(model_requests(fake_minimax)) == 4
    await wait_for_status(client, "ready", after=len(client.statuses) - 1)

    # A ``retry-after`` on the 2056 answer is the quota window's reset: after it the
    # next keystroke probes again (and re-arms the hold while the quota is used up).
    fake_minimax.set_sticky(Fault.http(429, code=2056, retry_after=1))
    assert await typing.inline() == []
    assert await typing.inline() == []
    assert len(model_requests(fake_minimax)) == 5
    await asyncio.sleep(1.1)
    assert await typing.inline() == []  # the probe: still used up, held again
    assert await typing.inline() == []
    assert len(model_requests(fake_minimax)) == 6
    fake_minimax.set_sticky(None)
    await asyncio.sleep(1.1)
    assert await typing.inline()
    assert len(model_requests(fake_minimax)) == 7
