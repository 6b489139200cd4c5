"""``answersInDocument``: explain and chat answers opened as documents (window/showDocument).

Generic LSP clients (Helix, Zed, Sublime Text, Kakoune, lsp-mode) drop a command's
result and ignore ``minimax/streamDelta``; with the setting on, the answer is written
under the cache directory and opened in the editor. Off by default (the shims show
answers themselves), and never written inside the workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from tests.e2e.conftest import (
    MiniMaxTestClient,
    execute,
    initialize,
    open_document,
    wait_for_status,
)
from tests.e2e.test_code_actions import FILES
from tests.e2e.test_commands import EXPLANATION, RANGE
from tests.fake_minimax import FakeMiniMax, Reply

MakeWorkspace = Callable[..., Path]


def _path(uri: str) -> Path:
    return Path(url2pathname(urlsplit(uri).path))


async def test_answers_open_as_documents_when_asked(
    client: MiniMaxTestClient,
    make_workspace: MakeWorkspace,
    fake_minimax: FakeMiniMax,
    tmp_path: Path,
) -> None:
    root = make_workspace(files=FILES)
    await initialize(client, root, init_options={"minimax": {"answersInDocument": True}})
    await wait_for_status(client, "ready")
    uri = open_document(client, root / "pkg/cart.py")

    fake_minimax.enqueue(Reply(text=EXPLANATION))
    result = await execute(
        client, "minimax.explain", {"uri": uri, "range": RANGE, "requestId": "doc-1"}
    )
    assert result["markdown"] == EXPLANATION
    [shown] = client.shown_documents
    assert shown.uri == result["document"] and shown.take_focus
    path = _path(shown.uri)
    # Under the cache directory (the server's MINIMAX_LSP_CACHE_DIR), never the workspace.
    assert path.is_relative_to(tmp_path / "cache") and not path.is_relative_to(root)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# MiniMax: Explain pkg/cart.py:8-")
    assert EXPLANATION.strip() in text

    fake_minimax.enqueue(Reply(text="It sums the prices."))
    chat = await execute(client, "minimax.chat", {"prompt": "What does total do?"})
    assert len(client.shown_documents) == 2
    chat_path = _path(chat["document"])
    assert chat_path.read_text(encoding="utf-8").startswith("# MiniMax: What does total do?")
    assert "It sums the prices." in chat_path.read_text(encoding="utf-8")


async def test_answers_stay_results_by_default(
    client: MiniMaxTestClient, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=FILES)
    await initialize(client, root)
    await wait_for_status(client, "ready")
    uri = open_document(client, root / "pkg/cart.py")
    fake_minimax.enqueue(Reply(text=EXPLANATION))
    result = await execute(client, "minimax.explain", {"uri": uri, "range": RANGE})
    assert result["markdown"] == EXPLANATION
    assert "document" not in result
    assert client.shown_documents == []
