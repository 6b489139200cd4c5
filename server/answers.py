"""Answers as documents, for editors that cannot display a command's result.

Explain and chat answers reach the VS Code, Neovim and Emacs shims as
``minimax/streamDelta`` notifications and as the command's result. Generic LSP clients
(Helix, Zed, Sublime Text, Kakoune, lsp-mode) show neither: the answer is billed and
lost. With the ``answersInDocument`` setting on, and a client that supports
``window/showDocument`` (LSP 3.16), each answer is also written as a Markdown file under
the cache directory (``answers/``; the newest `KEEP` are kept) and opened in the editor.

Nothing is written inside the workspace: answers are not project files.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Final

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from minimax_lsp.server.session import Session

__all__ = ["KEEP", "answer_path", "show_answer", "write_answer"]

_log = logging.getLogger("minimax_lsp.answers")

#: How many answer files stay in the folder (older ones are deleted).
KEEP: Final = 20


def answer_path(folder: Path, kind: str, request_id: str, now: float | None = None) -> Path:
    """Where one answer goes: sortable by time, named after the task and the request."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in request_id)[:40]
    return folder / f"{stamp}-{kind}-{safe}.md"


def write_answer(folder: Path, kind: str, request_id: str, title: str, markdown: str) -> Path:
    """Write the answer file (``# title`` then the answer) and prune old ones; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = answer_path(folder, kind, request_id)
    path.write_text(f"# {title}\n\n{markdown.rstrip()}\n", encoding="utf-8")
    for old in sorted(folder.glob("*.md"))[:-KEEP]:
        old.unlink(missing_ok=True)
    return path


async def show_answer(
    session: Session, *, kind: str, request_id: str, title: str, markdown: str
) -> str | None:
    """Open the answer as a document when the setting and the client allow; its URI.

    Failures (a cache folder that cannot be written, a client that refuses) are logged
    and give ``None``: the answer is still the command's result.
    """
    if not session.settings.answersInDocument or not session.client.show_document:
        return None
    try:
        path = write_answer(session.answers_dir, kind, request_id, title, markdown)
    except OSError as exc:
        _log.warning("cannot write the answer document: %s", exc)
        return None
    uri = path.as_uri()
    try:
        result = await session.server.window_show_document_async(
            types.ShowDocumentParams(uri=uri, take_focus=True)
        )
    except JsonRpcException as exc:
        _log.info("window/showDocument failed: %s", exc)
        return None
    if not result.success:
        _log.info("the editor did not open %s", uri)
        return None
    return uri
