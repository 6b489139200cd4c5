"""Code actions: listing without the model, resolve into a clean versioned edit."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import (
    DEFAULT_FILES,
    MiniMaxTestClient,
    ServerFactory,
    capabilities,
    folder,
    initialize,
    open_document,
    wait_for_status,
    wait_until,
)
from tests.fake_minimax import FakeMiniMax, Fault, Reply

MakeWorkspace = Callable[..., Path]

CART = (
    "from pkg.util import helper\n"
    "\n"
    "\n"
    "class Cart:\n"
    "    def __init__(self):\n"
    "        self.items = []\n"
    "\n"
    "    def total(self):\n"
    "        return sum(self.items)\n"
)
#: A secret planted in an ordinary source file: redacted, never sent.
PLANTED = "sk-proj-Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1Ji0Hg9Fe8Dc7"
FILES = {
    **DEFAULT_FILES,
    "pkg/cart.py": CART,
    "pkg/settings.py": f'OPENAI_KEY = "{PLANTED}"\nTIMEOUT = 3\n',
}
#: The model's answer for `total`: prose, tags, a fence, and the body dedented.
ANSWER = (
    "Here is a clearer version:\n\n<replacement>\n```python\n"
    "def total(self):\n    result = 0\n    for item in self.items:\n        result += item\n"
    "    return result\n```\n</replacement>\n\nThe loop makes the summation explicit."
)
NEW_TOTAL = (
    "    def total(self):\n"
    "        result = 0\n"
    "        for item in self.items:\n"
    "            result += item\n"
    "        return result\n"
)
#: `total`'s lines (7-8, 0-based), selected as an editor does: to column 0 of line 9.
TOTAL = types.Range(
    start=types.Position(line=7, character=0), end=types.Position(line=9, character=0)
)


def _params(
    uri: str,
    rng: types.Range,
    diagnostics: list[types.Diagnostic] | None = None,
    only: list[str] | None = None,
) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=rng,
        context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
    )


async def _actions(client: MiniMaxTestClient, params: types.CodeActionParams) -> list[Any]:
    """The actions as sent (lsprotocol's client hook reads any action with a command as
    a bare ``Command``, so the raw response is structured here)."""
    msg_id = f"actions-{uuid.uuid4().hex}"
    await asyncio.wait_for(
        client.protocol.send_request_async(types.TEXT_DOCUMENT_CODE_ACTION, params, msg_id), 10
    )
    [response] = [m for m in client.raw if m.get("id") == msg_id]
    converter = client.protocol._converter
    return [
        converter.structure(
            item, types.Command if isinstance(item.get("command"), str) else types.CodeAction
        )
        for item in response["result"] or []
    ]


async def _resolve(client: MiniMaxTestClient, action: types.CodeAction) -> types.CodeAction:
    return await asyncio.wait_for(client.code_action_resolve_async(action), 15)


async def _ready(client: MiniMaxTestClient, root: Path) -> str:
    await initialize(client, root)
    await wait_for_status(client, "ready")
    return open_document(client, root / "pkg/cart.py")


def _sent(fake: FakeMiniMax) -> str:
    return "\n".join(json.dumps(r.body) for r in fake.requests)


async def test_listing_and_resolve(
    client: MiniMaxTestClient, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=FILES)
    result = await initialize(client, root)
    provider = result.capabilities.code_action_provider
    assert isinstance(provider, types.CodeActionOptions)
    assert provider.resolve_provider is True  # feasibility.md §2, gotcha 2
    assert set(provider.code_action_kinds or []) == {
        "quickfix",
        "refactor.rewrite",
        "refactor.minimax.explain",
        "refactor.minimax.tests",
    }
    commands = result.capabilities.execute_command_provider
    assert commands is not None
    assert {"minimax.explain", "minimax.refactor", "minimax.chat"} <= set(commands.commands)
    await wait_for_status(client, "ready")
    uri = open_document(client, root / "pkg/cart.py")

    # Listing: four actions, no diagnostic so no fix, and no model request.
    actions = await _actions(client, _params(uri, TOTAL))
    assert [a.title for a in actions] == [
        "MiniMax: Explain",
        "MiniMax: Refactor…",
        "MiniMax: Add docstring",
        "MiniMax: Write tests",
    ]
    explain = actions[0]
    assert explain.kind == "refactor.minimax.explain"
    assert explain.command.command == "minimax.explain"
    assert explain.command.arguments[0]["uri"] == uri
    refactor = actions[1]
    assert refactor.kind == "refactor.rewrite"
    assert refactor.edit is None and refactor.command is None  # resolved lazily
    assert refactor.data["version"] == 1 and refactor.data["kind"] == "refactor"

    # A diagnostic on the selected lines adds the fix; one elsewhere does not.
    here = types.Diagnostic(
        range=types.Range(
            start=types.Position(line=8, character=15), end=types.Position(line=8, character=25)
        ),
        message="sum of list",
        severity=types.DiagnosticSeverity.Warning,
        source="lint",
    )
    there = types.Diagnostic(
        range=types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=4)
        ),
        message="unused import",
    )
    with_fix = await _actions(client, _params(uri, TOTAL, [here, there]))
    assert len(with_fix) == 5
    fix = next(a for a in with_fix if a.title == "MiniMax: Fix this diagnostic")
    assert fix.kind == "quickfix"
    assert [d.message for d in fix.diagnostics] == ["sum of list"]
    assert [a.title for a in await _actions(client, _params(uri, TOTAL, [there]))] == [
        a.title for a in actions
    ]
    # `context.only` filters by kind, hierarchically.
    only_fix = await _actions(client, _params(uri, TOTAL, [here], only=["quickfix"]))
    assert [a.title for a in only_fix] == ["MiniMax: Fix this diagnostic"]
    only_refactor = await _actions(client, _params(uri, TOTAL, [here], only=["refactor"]))
    assert len(only_refactor) == 4
    assert await _actions(client, _params(uri, TOTAL, only=["source"])) == []
    assert fake_minimax.requests == []  # listing never calls the model

    # A denied document (the secret .env) gets nothing.
    env = open_document(client, root / ".env", language_id="dotenv")
    start = types.Position(line=0, character=0)
    assert await _actions(client, _params(env, types.Range(start=start, end=start))) == []

    # Resolve: one model call, a clean versioned TextDocumentEdit of the whole lines.
    fake_minimax.enqueue(Reply(text=ANSWER, thinking="Use a loop."))
    resolved = await _resolve(client, refactor)
    assert resolved.title == "MiniMax: Refactor…"
    assert resolved.edit is not None
    [change] = resolved.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == uri
    assert change.text_document.version == 1
    [edit] = change.edits
    assert edit.range == TOTAL
    assert edit.new_text == NEW_TOTAL
    assert len(fake_minimax.requests) == 1
    body = fake_minimax.requests[0].body
    assert body["thinking"] == {"type": "adaptive"}
    assert "<replacement>" in json.dumps(body["system"])
    prompt = json.dumps(body["messages"])
    assert '<selection path=\\"pkg/cart.py\\" lines=\\"8-9\\">' in prompt
    assert "Use a loop." not in edit.new_text  # thinking never reaches the edit

    # Resolving data for the denied file is refused; no request for it.
    denied = types.CodeAction(title="x", data={**refactor.data, "uri": env})
    with pytest.raises(JsonRpcException, match="off for this file"):
        await _resolve(client, denied)
    assert len(fake_minimax.requests) == 1
    assert PLANTED not in _sent(fake_minimax)
    assert "sk-cp-envfile" not in _sent(fake_minimax)


async def test_edit_for_a_changed_document_is_not_applied(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=FILES)
    client = await start_server("visual-studio-code")
    uri = await _ready(client, root)
    refactor = (await _actions(client, _params(uri, TOTAL, only=["refactor.rewrite"])))[0]
    fake_minimax.enqueue(Fault.slow_first_byte(0.6, then=Reply(text=ANSWER)))
    pending = asyncio.ensure_future(_resolve(client, refactor))
    await wait_until(lambda: fake_minimax.requests)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=0, character=0),
                        end=types.Position(line=0, character=0),
                    ),
                    text="# edited\n",
                )
            ],
        )
    )
    resolved = await pending
    assert resolved.edit is None
    message = await wait_until(lambda: next(iter(client.messages), None))
    assert message.type == types.MessageType.Warning
    assert "changed while the model answered" in message.message
    # The action listed for version 1 is now stale before any model call.
    again = await _resolve(client, refactor)
    assert again.edit is None
    assert len(fake_minimax.requests) == 1


async def test_write_tests_creates_a_sibling_file(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=FILES)
    client = await start_server("neovim")
    uri = await _ready(client, root)
    cursor = types.Position(line=8, character=10)  # inside `total`: the method is the selection
    actions = await _actions(client, _params(uri, types.Range(start=cursor, end=cursor)))
    tests = next(a for a in actions if a.title == "MiniMax: Write tests")
    assert tests.kind == "refactor.minimax.tests"
    code = "from pkg.cart import Cart\n\n\ndef test_total():\n    assert Cart().total() == 0"
    fake_minimax.enqueue(Reply(text=f"<replacement>\n```python\n{code}\n```\n</replacement>"))
    resolved = await _resolve(client, tests)
    assert resolved.edit is not None
    create, insert = resolved.edit.document_changes
    target = (root / "pkg/test_cart.py").as_uri()
    assert isinstance(create, types.CreateFile)
    assert create.uri == target
    assert create.options.ignore_if_exists is True
    assert isinstance(insert, types.TextDocumentEdit)
    assert insert.text_document.uri == target
    assert insert.edits[0].new_text == code + "\n"
    prompt = json.dumps(fake_minimax.requests[0].body["messages"])
    assert '<selection path=\\"pkg/cart.py\\" lines=\\"8-9\\">' in prompt
    assert "pkg/test_cart.py" in prompt

    # Once the file exists, the next tests are appended at its end.
    (root / "pkg/test_cart.py").write_text(code + "\n")
    fake_minimax.enqueue(Reply(text="<replacement>\ndef test_more():\n    pass\n</replacement>"))
    appended = await _resolve(client, tests)
    [change] = appended.edit.document_changes
    assert change.text_document.version is None
    end = types.Position(line=5, character=0)
    assert change.edits[0].range == types.Range(start=end, end=end)
    assert change.edits[0].new_text == "\n\ndef test_more():\n    pass\n"


async def test_client_without_resolve_gets_a_command(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=FILES)
    client = await start_server("neovim")
    applied: list[types.ApplyWorkspaceEditParams] = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(
        ls: MiniMaxTestClient, params: types.ApplyWorkspaceEditParams
    ) -> types.ApplyWorkspaceEditResult:
        applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    caps = capabilities("neovim")
    assert caps.text_document is not None and caps.text_document.code_action is not None
    caps.text_document.code_action.resolve_support = None
    init = types.InitializeParams(capabilities=caps, workspace_folders=[folder(root)])
    await asyncio.wait_for(client.initialize_session(init), 10)
    await wait_for_status(client, "ready")
    uri = open_document(client, root / "pkg/cart.py")
    actions = await _actions(client, _params(uri, TOTAL, only=["refactor.rewrite"]))
    refactor = actions[0]
    assert refactor.data is None
    assert refactor.command.command == "minimax.refactor"
    fake_minimax.enqueue(Reply(text=ANSWER))
    result = await asyncio.wait_for(
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command=refactor.command.command, arguments=refactor.command.arguments
            )
        ),
        15,
    )
    assert result == {"applied": True}
    [params] = applied
    assert params.label == "MiniMax: Refactor"
    [change] = params.edit.document_changes
    assert change.text_document.version == 1
    assert change.edits[0].new_text == NEW_TOTAL
