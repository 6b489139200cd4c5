"""``minimax.explain`` / ``minimax.chat`` / ``minimax.refactor``: streaming, turns, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from tests.e2e.conftest import (
    MiniMaxTestClient,
    ServerFactory,
    execute,
    initialize,
    open_document,
    wait_for_status,
    wait_until,
)
from tests.e2e.test_code_actions import FILES, PLANTED, TOTAL
from tests.fake_minimax import FakeMiniMax, Fault, Reply

MakeWorkspace = Callable[..., Path]

EXPLANATION = (
    "`Cart.total` adds up the prices in `self.items` with the builtin `sum`.\n\n"
    "- An empty cart totals `0`.\n- Non-numeric items raise `TypeError`.\n"
)
RANGE = {"start": {"line": 7, "character": 0}, "end": {"line": 9, "character": 0}}
_REQUEST_FAILED = -32803


async def _ready(client: MiniMaxTestClient, root: Path) -> str:
    await initialize(client, root)
    await wait_for_status(client, "ready")
    return open_document(client, root / "pkg/cart.py")


def _sent(fake: FakeMiniMax) -> str:
    return "\n".join(json.dumps(r.body) for r in fake.requests)


def _user_texts(body: dict[str, Any]) -> list[str]:
    return [
        "".join(b.get("text", "") for b in m["content"] if isinstance(b, dict))
        if isinstance(m["content"], list)
        else m["content"]
        for m in body["messages"]
    ]


async def test_explain_streams_deltas_and_progress(
    client: MiniMaxTestClient, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=FILES)
    uri = await _ready(client, root)
    fake_minimax.enqueue(Reply(text=EXPLANATION, thinking="Look at sum.", chunks=6))
    progress_before = set(client.progress_reports)
    result = await execute(
        client, "minimax.explain", {"uri": uri, "range": RANGE, "requestId": "ex-1"}
    )
    assert result["markdown"] == EXPLANATION
    assert result["requestId"] == "ex-1"
    assert result["model"] == "MiniMax-M3"
    assert result["usage"]["outputTokens"] > 0
    # The text deltas, in order, are the answer; thinking comes apart, never as text.
    await wait_until(lambda: sum(1 for d in client.deltas if d.get("kind") is None) >= 6)
    texts = [d["text"] for d in client.deltas if d["requestId"] == "ex-1" and "kind" not in d]
    assert "".join(texts) == result["markdown"]
    assert len(texts) == 6
    thoughts = [d["text"] for d in client.deltas if d.get("kind") == "thinking"]
    assert "".join(thoughts) == "Look at sum."
    # One work-done progress: begin ... end.
    [token] = set(client.progress_reports) - progress_before
    reports = client.progress_reports[token]
    await wait_until(lambda: isinstance(reports[-1], types.WorkDoneProgressEnd))
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert reports[0].title == "MiniMax: explaining…"
    assert reports[0].cancellable is True
    assert reports[-1].message == "Done"
    # What was asked: the selection of pkg/cart.py, lines 8-9, the util module packed.
    body = fake_minimax.requests[0].body
    question = _user_texts(body)[-1]
    assert '<selection path="pkg/cart.py" lines="8-9">' in question
    assert "Explain the selected code (`pkg/cart.py`, lines 8-9)" in question
    assert body["thinking"] == {"type": "adaptive"}

    # Without a range, a cursor inside `total` explains the method; a generated id.
    fake_minimax.enqueue(Reply(text="It sums."))
    cursor = {"line": 8, "character": 12}
    second = await execute(
        client, "minimax.explain", {"uri": uri, "range": {"start": cursor, "end": cursor}}
    )
    assert second["markdown"] == "It sums."
    assert len(second["requestId"]) == 32
    assert (
        '<selection path="pkg/cart.py" lines="8-9">'
        in _user_texts(fake_minimax.requests[1].body)[-1]
    )
    assert PLANTED not in _sent(fake_minimax)
    with pytest.raises(JsonRpcInvalidParams, match="range"):
        await execute(client, "minimax.explain", {"uri": uri, "range": {"start": 3}})


async def test_chat_keeps_the_conversation(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=FILES)
    client = await start_server("visual-studio-code")
    uri = await _ready(client, root)
    fake_minimax.enqueue(
        Reply(text="`helper` doubles its argument.", thinking="Read util.py."),
        Reply(text="`Cart.total` does not call it."),
        Reply(text="Fresh start."),
    )
    first = await execute(client, "minimax.chat", {"prompt": "What does helper do?"})
    conversation = first["conversationId"]
    assert first["markdown"] == "`helper` doubles its argument."
    # No uri: the whole (small) repository is packed, secrets redacted, .env left out.
    sent = _sent(fake_minimax)
    assert "<repository>" in sent and "pkg/util.py" in sent and "pkg/settings.py" in sent
    assert PLANTED not in sent and "sk-cp-envfile" not in sent

    second = await execute(
        client,
        "minimax.chat",
        {
            "prompt": "Does total use it?",
            "uri": uri,
            "range": RANGE,
            "conversationId": conversation,
        },
    )
    assert second["conversationId"] == conversation
    assert second["markdown"] == "`Cart.total` does not call it."
    body = fake_minimax.requests[1].body
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "user"]
    texts = _user_texts(body)
    assert texts[0].endswith("What does helper do?")
    # The first answer is replayed verbatim: its thinking block, signature included.
    answer = body["messages"][1]["content"]
    assert answer[0]["type"] == "thinking" and answer[0]["thinking"] == "Read util.py."
    assert answer[0]["signature"]
    assert answer[-1]["text"].endswith("`helper` doubles its argument.")
    assert '<selection path="pkg/cart.py" lines="8-9">' in texts[-1]
    assert texts[-1].endswith("Does total use it?")

    third = await execute(client, "minimax.chat", {"prompt": "Hello again"})
    assert third["conversationId"] != conversation
    assert [m["role"] for m in fake_minimax.requests[2].body["messages"]] == ["user"]
    with pytest.raises(JsonRpcInvalidParams, match="prompt"):
        await execute(client, "minimax.chat", {"prompt": "  "})
    with pytest.raises(JsonRpcInvalidParams, match="conversationId"):
        await execute(client, "minimax.chat", {"prompt": "x", "conversationId": 5})


async def test_refactor_applies_through_apply_edit(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=FILES)
    client = await start_server("visual-studio-code")
    applied: list[types.ApplyWorkspaceEditParams] = []
    answers = [True, False]

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(
        ls: MiniMaxTestClient, params: types.ApplyWorkspaceEditParams
    ) -> types.ApplyWorkspaceEditResult:
        applied.append(params)
        ok = answers.pop(0)
        return types.ApplyWorkspaceEditResult(
            applied=ok, failure_reason=None if ok else "buffer is read-only"
        )

    uri = await _ready(client, root)
    fake_minimax.enqueue(
        Reply(text="<replacement>\ndef total(self) -> int:\n    return sum(self.items)\n"),
        Reply(text="<replacement>\ndef total(self):\n    return 0\n</replacement>"),
        Reply(text="I cannot improve this code."),
    )
    arguments = {"uri": uri, "range": RANGE, "instruction": "add a return type"}
    assert await execute(client, "minimax.refactor", arguments) == {"applied": True}
    [params] = applied
    assert params.label == "MiniMax: Refactor"
    [change] = params.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == uri and change.text_document.version == 1
    assert change.edits[0].range == TOTAL
    assert (
        change.edits[0].new_text == "    def total(self) -> int:\n        return sum(self.items)\n"
    )
    assert "Instruction: add a return type" in _user_texts(fake_minimax.requests[0].body)[-1]

    # The editor refuses: not applied, with its reason.
    refused = await execute(client, "minimax.refactor", {"uri": uri, "range": RANGE})
    assert refused == {"applied": False, "reason": "buffer is read-only"}
    # Prose without code: no edit is sent at all.
    prose = await execute(client, "minimax.refactor", {"uri": uri, "range": RANGE})
    assert prose["applied"] is False
    assert "no code" in prose["reason"]
    warning = await wait_until(lambda: next(iter(client.messages), None))
    assert warning.type == types.MessageType.Warning and "no code" in warning.message
    assert len(applied) == 2
    with pytest.raises(JsonRpcInvalidParams, match="kind"):
        await execute(client, "minimax.refactor", {"uri": uri, "range": RANGE, "kind": "x"})
    # A file outside every workspace folder is never edited.
    outside = root.parent / "outside.py"
    outside.write_text("x = 1\n")
    result = await execute(client, "minimax.refactor", {"uri": outside.as_uri(), "range": RANGE})
    assert result == {
        "applied": False,
        "reason": "MiniMax only edits files inside a workspace folder.",
    }
    assert len(fake_minimax.requests) == 3


async def test_model_errors_and_denied_files(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=FILES)
    client = await start_server("neovim")
    uri = await _ready(client, root)
    # 529 is retried (retry-after 0), then answered.
    fake_minimax.enqueue(Fault.http(529, retry_after=0), Reply(text="Recovered."))
    result = await execute(client, "minimax.explain", {"uri": uri, "range": RANGE})
    assert result["markdown"] == "Recovered."
    assert len(fake_minimax.requests) == 2
    assert client.messages == []

    # A context overflow repacks smaller and retries once.
    fake_minimax.enqueue(Fault.http(400, code=2013), Reply(text="Fits now."))
    result = await execute(client, "minimax.explain", {"uri": uri, "range": RANGE})
    assert result["markdown"] == "Fits now."
    overflowed, retried = fake_minimax.requests[2:4]
    assert len(retried.raw_body) < len(overflowed.raw_body)

    # 401: a request-failed error with the one-sentence reason, and one message only.
    fake_minimax.set_sticky(Fault.http(401))
    for _ in range(2):
        with pytest.raises(JsonRpcException) as failure:
            await execute(client, "minimax.chat", {"prompt": "hi"})
        assert failure.value.code == _REQUEST_FAILED
        assert "rejected the API key" in str(failure.value)
    await wait_until(lambda: client.messages)
    await asyncio.sleep(0.1)
    assert len(client.messages) == 1
    assert "rejected the API key" in client.messages[0].message
    assert "test-key" not in json.dumps([m.message for m in client.messages])
    fake_minimax.set_sticky(None)

    # Denied documents: commands refuse, nothing is sent.
    count = len(fake_minimax.requests)
    env = open_document(client, root / ".env", language_id="dotenv")
    zero = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 5}}
    for command, arguments in (
        ("minimax.explain", {"uri": env, "range": zero}),
        ("minimax.chat", {"prompt": "what is in it?", "uri": env}),
        ("minimax.refactor", {"uri": env, "range": zero}),
    ):
        with pytest.raises(JsonRpcException, match="off for this file") as denied:
            await execute(client, command, arguments)
        assert denied.value.code == _REQUEST_FAILED
    assert len(fake_minimax.requests) == count
    assert "sk-cp-envfile" not in _sent(fake_minimax)


async def test_cancelling_closes_the_model_stream(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=FILES)
    client = await start_server("visual-studio-code")
    uri = await _ready(client, root)
    slow = "word " * 400  # ~400 tokens at 50 tokens/s: 8 s if nobody hangs up

    # $/cancelRequest of the command request.
    fake_minimax.enqueue(Reply(text=slow, tps=50, chunks=40))
    params = types.ExecuteCommandParams(
        command="minimax.explain", arguments=[{"uri": uri, "range": RANGE, "requestId": "c1"}]
    )
    pending = asyncio.ensure_future(
        client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, "cx-1")
    )
    await wait_until(lambda: any(d["requestId"] == "c1" for d in client.deltas))
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cx-1"))
    with pytest.raises(JsonRpcException):
        await asyncio.wait_for(pending, 5)
    await wait_until(lambda: fake_minimax.client_disconnects >= 1, limit=3)

    # The progress's cancel button.
    fake_minimax.enqueue(Reply(text=slow, tps=50, chunks=40))
    before = set(client.progress_reports)
    chat = asyncio.ensure_future(
        execute(client, "minimax.chat", {"prompt": "long", "requestId": "c2"})
    )
    await wait_until(lambda: any(d["requestId"] == "c2" for d in client.deltas))
    [token] = set(client.progress_reports) - before
    client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
    )
    with pytest.raises(JsonRpcException):
        await chat
    await wait_until(lambda: fake_minimax.client_disconnects >= 2, limit=3)
    ended = client.progress_reports[token][-1]
    assert isinstance(ended, types.WorkDoneProgressEnd) and ended.message == "Cancelled"
