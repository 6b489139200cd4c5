"""Chat conversations of one server session: bounded, least recently used evicted.

Contract
--------
* A conversation is a list of turns, oldest first: user, assistant, user, …, assistant
  (the shape `minimax_lsp.server.prompts.chat.build_chat_request` takes as ``history``).
  User turns hold the bare question; assistant turns are
  ``ModelResult.assistant_message()`` -- thinking blocks and their signatures kept
  verbatim, as MiniMax requires for replay (minimax-api.md §6.2).
* Bounds: at most ``max_conversations`` conversations (the least recently used one is
  dropped first), and per conversation at most ``max_turns`` question/answer pairs and
  about ``max_tokens`` tokens (estimated); the oldest pairs are dropped first. A pair
  alone larger than ``max_tokens`` is not kept.
* Ids are opaque strings (1-128 printable characters). An id the store does not know --
  a new one chosen by the client, or one from before a server restart -- names an empty
  conversation; `append` creates it.
* The store lives on the chat feature of one server (per session), never at module
  level. It is used from the event loop only.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from minimax_lsp.server.model import Message, TextBlock, ThinkingBlock, estimate_tokens

__all__ = ["MAX_ID_LENGTH", "ConversationStore", "valid_conversation_id"]

#: Longest accepted conversation id.
MAX_ID_LENGTH: Final = 128


def valid_conversation_id(value: object) -> bool:
    """Whether ``value`` is an acceptable conversation id (1-128 printable characters)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_ID_LENGTH
        and value.isprintable()
        and value.strip() == value
    )


def _tokens(message: Message) -> int:
    total = 4
    for block in message.content:
        if isinstance(block, TextBlock):
            total += estimate_tokens(block.text)
        elif isinstance(block, ThinkingBlock):
            total += estimate_tokens(block.thinking)
    return total


class ConversationStore:
    """Bounded chat histories (see the module docstring).

    Parameters
    ----------
    max_conversations:
        Conversations kept; the least recently used goes first.
    max_turns:
        Question/answer pairs kept per conversation.
    max_tokens:
        Estimated tokens kept per conversation (thinking included).
    new_id:
        Makes fresh ids (default: random hex).
    """

    def __init__(
        self,
        *,
        max_conversations: int = 32,
        max_turns: int = 50,
        max_tokens: int = 200_000,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        if max_conversations < 1 or max_turns < 1 or max_tokens < 1:
            raise ValueError("conversation store bounds must be positive")
        self.max_conversations = max_conversations
        self.max_turns = max_turns
        self.max_tokens = max_tokens
        self._new_id = new_id or (lambda: uuid.uuid4().hex)
        # id -> list of (question, answer, tokens) pairs, oldest first.
        self._conversations: OrderedDict[str, list[tuple[Message, Message, int]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._conversations)

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._conversations

    def new_id(self) -> str:
        """A fresh id no conversation has."""
        while True:
            candidate = self._new_id()
            if candidate not in self._conversations:
                return candidate

    def history(self, conversation_id: str) -> tuple[Message, ...]:
        """The turns of a conversation, oldest first (``()`` when unknown); marks it used."""
        pairs = self._conversations.get(conversation_id)
        if pairs is None:
            return ()
        self._conversations.move_to_end(conversation_id)
        return tuple(message for question, answer, _ in pairs for message in (question, answer))

    def tokens(self, conversation_id: str) -> int:
        """Estimated tokens of a conversation's history (0 when unknown)."""
        return sum(size for _, _, size in self._conversations.get(conversation_id, ()))

    def append(self, conversation_id: str, question: Message, answer: Message) -> None:
        """Add one question/answer pair, then enforce the bounds.

        Raises
        ------
        ValueError
            A malformed id, or turns of the wrong roles.
        """
        if not valid_conversation_id(conversation_id):
            raise ValueError("a conversation id is 1-128 printable characters")
        if question.role != "user" or answer.role != "assistant":
            raise ValueError("a conversation pair is a user turn then an assistant turn")
        pairs = self._conversations.setdefault(conversation_id, [])
        self._conversations.move_to_end(conversation_id)
        pairs.append((question, answer, _tokens(question) + _tokens(answer)))
        del pairs[: max(0, len(pairs) - self.max_turns)]
        total = sum(size for _, _, size in pairs)
        while pairs and total > self.max_tokens:
            total -= pairs.pop(0)[2]
        while len(self._conversations) > self.max_conversations:
            self._conversations.popitem(last=False)

    def forget(self, conversation_id: str) -> bool:
        """Drop a conversation; True if it existed."""
        return self._conversations.pop(conversation_id, None) is not None
