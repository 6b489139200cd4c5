"""``textDocument/completion`` fallback: the inline-completion engine as one list item.

For editors that cannot show ghost text (no ``inlineCompletion`` client capability), the
same suggestion (`minimax_lsp.server.features.inline_completion.CompletionService`) is
offered as one completion item. ``inlineCompletion.fallback`` decides when:
``auto`` (default) only for clients that do not advertise inline completion, ``on``
always, ``off`` never; otherwise the answer is an empty list at once.

The item replaces the identifier being typed (so the editor's filtering by that word
keeps it), shows the suggestion's first line as its label and the whole of it as
documentation, and is plain text. The list is marked incomplete, so the editor asks
again as the user types; the cache answers those re-requests while the user types
through the suggestion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from lsprotocol import types

from minimax_lsp.server.completion.decide import is_identifier_char
from minimax_lsp.server.features.inline_completion import CompletionService, Suggestion

if TYPE_CHECKING:
    from minimax_lsp.server.app import MiniMaxLanguageServer
    from minimax_lsp.server.session import Session

__all__ = ["TRIGGER_CHARACTERS", "completion_list", "serves_fallback", "setup"]

#: Characters after which editors ask for completions without a typed word.
TRIGGER_CHARACTERS: Final = [".", "(", "[", "{", ",", ":", "="]
#: Longest label shown in the menu (the documentation has the whole suggestion).
_LABEL_CHARS: Final = 80


def serves_fallback(session: Session) -> bool:
    """Whether ``textDocument/completion`` answers with suggestions (the setting)."""
    mode = session.settings.inlineCompletion.fallback
    if mode == "off":
        return False
    return mode == "on" or not session.client.inline_completion


def _word_before(line_before: str) -> str:
    start = len(line_before)
    while start > 0 and is_identifier_char(line_before[start - 1]):
        start -= 1
    return line_before[start:]


def completion_list(
    suggestion: Suggestion | None, position: types.Position, session: Session
) -> types.CompletionList:
    """The LSP answer: one item (or none) in an incomplete list."""
    if suggestion is None:
        return types.CompletionList(is_incomplete=True, items=[])
    word = _word_before(suggestion.line_before)
    units = session.server.workspace.position_codec.client_num_units(word)
    start = types.Position(line=position.line, character=max(0, position.character - units))
    end = types.Position(line=position.line, character=position.character)
    text = word + suggestion.text
    first = text.split("\n", 1)[0].strip() or text.strip().split("\n", 1)[0]
    label = first if len(first) <= _LABEL_CHARS else first[: _LABEL_CHARS - 1] + "…"
    if "\n" in text.strip():
        label += " …"
    item = types.CompletionItem(
        label=label,
        kind=types.CompletionItemKind.Snippet,
        detail="MiniMax",
        documentation=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=f"```\n{text}\n```"
        ),
        filter_text=text.split("\n", 1)[0],
        sort_text="0",
        preselect=True,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=types.Range(start, end), new_text=text),
    )
    return types.CompletionList(is_incomplete=True, items=[item])


def setup(server: MiniMaxLanguageServer) -> None:
    """Register ``textDocument/completion`` with trigger characters."""
    service = CompletionService(server.session, lane="completion")

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=TRIGGER_CHARACTERS),
    )
    async def completion(
        ls: MiniMaxLanguageServer, params: types.CompletionParams
    ) -> list[types.CompletionItem] | types.CompletionList:
        session = ls.session
        if not serves_fallback(session):
            return []
        # Always "automatic": editors report plain typing as ``Invoked`` too, so the
        # trigger kind cannot tell a deliberate request from a keystroke.
        suggestion = await service.suggest(params.text_document.uri, params.position)
        return completion_list(suggestion, params.position, session)
