"""docs/protocol.md lists every LSP method, command and notification the server has.

The server is built in-process with every feature module (`create_server`); what pygls
registered from our ``setup`` functions -- the features and the commands -- and the
custom notifications we send must each be named in the document, in backticks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from minimax_lsp.server.app import MiniMaxLanguageServer, create_server
from minimax_lsp.server.status import STATUS_METHOD, STREAM_DELTA_METHOD

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
#: pygls built-ins that reach our code or that a client must know about.
BUILT_IN = ("workspace/executeCommand", "$/cancelRequest", "window/workDoneProgress/cancel")


@pytest.fixture(scope="module")
def server() -> MiniMaxLanguageServer:
    return create_server(environ={})


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _named(doc: str, name: str) -> bool:
    """Whether ``name`` stands in backticks (alone, or leading a signature: `x [{…}]`)."""
    return re.search(rf"`{re.escape(name)}[` ]", doc) is not None


def test_every_handled_method_is_documented(server: MiniMaxLanguageServer, doc: str) -> None:
    handled = set(server.protocol.fm.features)
    # The set is read from the real server: make sure it is not vacuously small.
    assert {"textDocument/inlineCompletion", "textDocument/completion"} <= handled
    missing = sorted(m for m in handled | set(BUILT_IN) if not _named(doc, m))
    assert missing == [], f"docs/protocol.md does not list: {missing}"


def test_every_command_is_documented(server: MiniMaxLanguageServer, doc: str) -> None:
    commands = set(server.protocol.fm.commands)
    assert "minimax.refactor" in commands
    missing = sorted(c for c in commands if not _named(doc, c))
    assert missing == [], f"docs/protocol.md does not document: {missing}"
    # Each command also has its own heading.
    headings = re.findall(r"^###+ .*$", doc, flags=re.MULTILINE)
    for command in commands:
        assert any(f"`{command}" in h for h in headings), f"no heading for {command}"


def test_custom_notifications_are_documented(doc: str) -> None:
    for method in (STATUS_METHOD, STREAM_DELTA_METHOD):
        assert re.search(rf"^## `{re.escape(method)}`", doc, flags=re.MULTILINE), method


def test_the_check_catches_a_missing_method(doc: str) -> None:
    # The matcher must not be fooled by a longer name holding the one looked for.
    assert _named(doc, "textDocument/completion")
    without = doc.replace("`textDocument/completion`", "completion")
    assert not _named(without, "textDocument/completion")
    assert not _named(doc, "textDocument/hover")
