"""Hostile document inputs, without a client: URI spellings, special files, surrogates.

Covers `minimax_lsp.server.session.document_key` / `read_file_text` (what
``Session.snapshot`` reads for a document that is not open), the model client's body
encoding (lone UTF-16 surrogates), position bounds of the workspace commands, and
``Session.denial`` failing closed. The end-to-end side is
``tests/e2e/test_document_inputs.py``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from minimax_lsp.indexer.scan import SkipReason
from minimax_lsp.server.app import MiniMaxLanguageServer
from minimax_lsp.server.features.arguments import parse_position
from minimax_lsp.server.model.client import encode_body
from minimax_lsp.server.session import CommandError, document_key, read_file_text
from minimax_lsp.server.workspaces import Folder

# --------------------------------------------------------------------------- URI keys


def test_one_key_per_file_however_the_uri_is_spelled() -> None:
    assert document_key("file:///tmp/a%20b/x.py") == document_key("file:///tmp/a b/x.py")
    assert document_key("file:///tmp/gr%C3%BC%C3%9Fe.py") == document_key("file:///tmp/grüße.py")
    # VS Code on Windows vs. other clients: quoted colon, drive letter case.
    assert document_key("file:///c%3A/src/x.py") == document_key("file:///C:/src/x.py")
    assert document_key("file://localhost/tmp/x.py") == document_key("file:///tmp/x.py")
    # Different files stay different; other schemes are only unquoted (as pygls keys them).
    assert document_key("file:///tmp/a.py") != document_key("file:///tmp/b.py")
    assert document_key("untitled:Untitled%201") == "untitled:Untitled 1"


# --------------------------------------------------------------------------- disk reads


def test_read_file_text_reads_small_regular_files_only(tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    good.write_bytes(b"x = 1\r\ny = '\xc3\xbc'\r")
    assert read_file_text(good, 100) == "x = 1\ny = 'ü'\n"  # line breaks as read_text
    assert read_file_text(good, good.stat().st_size) != ""  # the limit is inclusive
    assert read_file_text(good, good.stat().st_size - 1) == ""  # over the limit
    # A limit far beyond memory is a limit, not a buffer size (no MemoryError).
    assert read_file_text(good, 10**12) == "x = 1\ny = 'ü'\n"
    assert read_file_text(good, 2**63) == "x = 1\ny = 'ü'\n"
    latin1 = tmp_path / "latin1.py"
    latin1.write_bytes(b"s = '\xfc'\n")
    assert read_file_text(latin1, 100) == ""
    assert read_file_text(tmp_path, 100) == ""  # a folder
    assert read_file_text(tmp_path / "missing.py", 100) == ""
    assert read_file_text(Path("/tmp/a\x00b.py"), 100) == ""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_read_file_text_never_blocks_on_a_fifo_or_reads_a_device(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)  # no writer: a plain open() would wait forever
    assert read_file_text(fifo, 1_000_000) == ""
    if Path("/dev/zero").exists():  # endless: a plain read() ends in MemoryError
        assert read_file_text(Path("/dev/zero"), 1_000_000) == ""
    link = tmp_path / "link.py"
    link.symlink_to(fifo)
    assert read_file_text(link, 1_000_000) == ""


# --------------------------------------------------------------------------- model body


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "messages": [{"role": "user", "content": "plain ascii"}]},
        {"text": "ü 😀 中文 \u2028 \x00", "n": [1, 2.5, None, True]},
    ],
)
def test_body_encoding_matches_httpx_for_valid_text(body: dict[str, Any]) -> None:
    assert encode_body(body) == httpx.Request("POST", "http://x", json=body).content


def test_body_encoding_survives_lone_surrogates() -> None:
    body = {"a": "x\ud800y", "b": "\udfff", "emoji": "\ud83d\ude00", "ok": "ü"}
    with pytest.raises(UnicodeEncodeError):
        httpx.Request("POST", "http://x", json=body)  # what the server used to do
    decoded = json.loads(encode_body(body).decode("utf-8"))
    # A lone half is replaced; two adjacent halves (an emoji split by an edit) rejoin.
    assert decoded == {"a": "x\ufffdy", "b": "\ufffd", "emoji": "😀", "ok": "ü"}


# --------------------------------------------------------------------------- positions


@pytest.mark.parametrize(
    "position",
    [
        {"line": 2**31, "character": 0},
        {"line": 0, "character": 2**31},
        {"line": 10**30, "character": 0},
        {"line": -1, "character": 0},
        {"line": True, "character": 0},
        {"line": 1.0, "character": 0},
        {"line": "1", "character": 0},
        {"line": 1},
        [1, 2],
    ],
)
def test_out_of_range_positions_are_bad_arguments(position: object) -> None:
    with pytest.raises(CommandError, match="position"):
        parse_position(position)


def test_the_largest_lsp_position_is_accepted() -> None:
    top = parse_position({"line": 2**31 - 1, "character": 2**31 - 1})
    assert (top.line, top.character) == (2**31 - 1, 2**31 - 1)


# --------------------------------------------------------------------------- privacy


async def test_denial_fails_closed_when_the_check_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A workspace whose root is a file (added directly: the session itself skips such
    # folders): the privacy check cannot build the folder's rules and raises.
    root = tmp_path / "not-a-folder.py"
    root.write_text("x = 1\n", encoding="utf-8")
    server = MiniMaxLanguageServer(environ={"MINIMAX_API_KEY": "sk-cp-unit-test"})
    session = server.session
    session.workspaces.add(Folder(root.as_uri(), root, "file"))
    uri = (root / "inside.py").as_uri()
    caplog.set_level(logging.WARNING, "minimax_lsp.session")
    assert await session.denial(uri, "x = 1\n") is SkipReason.UNREADABLE
    assert await session.denial(uri, "x = 1\n") is SkipReason.UNREADABLE  # cached
    assert session.is_allowed(uri) is False
    warnings = [r for r in caplog.records if "could not check" in r.getMessage()]
    assert len(warnings) == 1 and "treated as private" in warnings[0].getMessage()
    # A NUL in the path (%00 in the URI) is denied without a warning.
    nul = root.parent.as_uri() + "/a%00b.py"
    assert await session.denial(nul) is SkipReason.UNREADABLE
    assert len([r for r in caplog.records if "could not check" in r.getMessage()]) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
async def test_denial_is_cached_per_file_not_per_spelling(tmp_path: Path) -> None:
    server = MiniMaxLanguageServer(environ={"MINIMAX_API_KEY": "sk-cp-unit-test"})
    session = server.session
    root = tmp_path / "my ws"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n", encoding="utf-8")
    (root / ".env").write_text("TOKEN=1\n", encoding="utf-8")
    session.workspaces.add(Folder(root.as_uri(), root, "ws"))
    quoted = (root / "a.py").as_uri()
    assert "%20" in quoted
    assert await session.denial(quoted, "x = 1\n") is None
    assert session.is_allowed(quoted.replace("%20", " ")) is True
    env = (root / ".env").as_uri()
    assert await session.denial(env) is SkipReason.SECRET
    assert session.is_allowed(env.replace("%20", " ")) is False
    session.closed(env.replace("%20", " "))  # forgotten under any spelling
    assert session.is_allowed(env) is None
