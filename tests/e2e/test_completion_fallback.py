"""``textDocument/completion``: the inline engine as one item, for clients without ghost text."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.conftest import PROFILES, MiniMaxTestClient, ServerFactory, initialize, open_document
from tests.e2e.test_inline_completion import (
    COLUMN,
    LINE,
    complete,
    files_with,
    indexed,
    model_requests,
    warm,
)
from tests.fake_minimax import FakeMiniMax, Reply

MakeWorkspace = Callable[..., Path]


async def ask(
    client: MiniMaxTestClient, uri: str, line: int = LINE, character: int = COLUMN
) -> list[types.CompletionItem]:
    result = await asyncio.wait_for(
        client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
            )
        ),
        30,
    )
    if isinstance(result, types.CompletionList):
        assert result.is_incomplete  # the editor asks again while the user types
        return list(result.items)
    return list(result or [])


@pytest.mark.parametrize("profile", PROFILES)
async def test_fallback_item_for_a_client_without_inline_completion(
    profile: str,
    start_server: ServerFactory,
    make_workspace: MakeWorkspace,
    fake_minimax: FakeMiniMax,
) -> None:
    root = make_workspace(files=files_with())
    client = await start_server(profile)
    init = await initialize(client, root, inline_completion=False, configuration=False)
    assert init.capabilities.completion_provider is not None
    assert "." in (init.capabilities.completion_provider.trigger_characters or [])
    await indexed(client)
    uri = open_document(client, root / "pkg/main.py")
    await warm(client, uri)

    # The user typed `hel`: the item replaces that word, so the menu's filter keeps it.
    at = types.Position(line=LINE, character=COLUMN)
    change = types.TextDocumentContentChangePartial(range=types.Range(at, at), text="hel")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[change],
        )
    )
    fake_minimax.enqueue(Reply(text="<completion>per(x) * 3</completion>"))
    (item,) = await ask(client, uri, LINE, COLUMN + 3)
    assert item.label == "helper(x) * 3"
    assert item.filter_text == "helper(x) * 3"
    assert item.insert_text_format == types.InsertTextFormat.PlainText
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.new_text == "helper(x) * 3"
    assert item.text_edit.range == types.Range(
        types.Position(line=LINE, character=COLUMN),
        types.Position(line=LINE, character=COLUMN + 3),
    )
    assert len(model_requests(fake_minimax)) == 1
    # Asked again at the same place (an incomplete list): the cache answers.
    (again,) = await ask(client, uri, LINE, COLUMN + 3)
    assert again.label == item.label
    assert len(model_requests(fake_minimax)) == 1

    # `inlineCompletion.fallback: off` turns it off without a restart.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"minimax": {"inlineCompletion": {"fallback": "off"}}}
        )
    )
    deadline = asyncio.get_running_loop().time() + 10
    while await ask(client, uri, LINE, COLUMN + 3):
        assert asyncio.get_running_loop().time() < deadline, "fallback never turned off"
        await asyncio.sleep(0.05)
    assert len(model_requests(fake_minimax)) == 1


async def test_fallback_on_serves_clients_with_inline_completion_too(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=files_with())
    client = await start_server("visual-studio-code")
    options = {"inlineCompletion": {"fallback": "on"}}
    await initialize(client, root, inline_completion=True, init_options=options)
    await indexed(client)
    uri = open_document(client, root / "pkg/main.py")
    await warm(client, uri)
    fake_minimax.enqueue(
        Reply(text="<completion>helper(x)</completion>"),
        Reply(text="<completion>helper(x)</completion>"),
    )
    (item,) = await ask(client, uri)
    assert item.label == "helper(x)"
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.range.start == types.Position(line=LINE, character=COLUMN)
    # Inline completion still works alongside (its own in-flight slot and cache).
    assert [i.insert_text for i in await complete(client, uri)] == ["helper(x)"]
