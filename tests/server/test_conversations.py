"""The chat conversation store: verbatim replay, LRU eviction, turn and size bounds."""

from __future__ import annotations

import itertools

import pytest

from minimax_lsp.indexer.context import Manifest
from minimax_lsp.server.conversations import ConversationStore, valid_conversation_id
from minimax_lsp.server.model import Message, ModelResult, ThinkingBlock, Usage
from minimax_lsp.server.prompts.chat import build_chat_request


def _answer(text: str, thinking: str = "") -> Message:
    blocks = (ThinkingBlock(thinking, signature="sig-" + thinking),) if thinking else ()
    result = ModelResult(
        text=text,
        thinking=thinking,
        usage=Usage(),
        stop_reason="end_turn",
        model="m",
        thinking_blocks=blocks,
    )
    return result.assistant_message()


def _store(**kwargs: int) -> ConversationStore:
    ids = (f"c{n}" for n in itertools.count(1))
    return ConversationStore(new_id=lambda: next(ids), **kwargs)


def test_history_replays_turns_verbatim_in_order() -> None:
    store = _store()
    cid = store.new_id()
    assert cid == "c1"
    assert store.history(cid) == ()
    store.append(cid, Message.user("what is x?"), _answer("x is 1", thinking="look at x"))
    store.append(cid, Message.user("and y?"), _answer("y is 2"))
    history = store.history(cid)
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[0].text == "what is x?"
    # The thinking block and its signature survive for replay (minimax-api.md §6.2).
    assert history[1].content[0] == ThinkingBlock("look at x", "sig-look at x")
    assert history[3].text == "y is 2"
    # It is a valid history for the chat prompt builder.
    empty = Manifest("chat", 100, 0, (), 0)
    request = build_chat_request(empty, "and z?", history=history)
    assert [m.role for m in request.messages] == ["user", "assistant", "user", "assistant", "user"]


def test_least_recently_used_conversation_is_evicted() -> None:
    store = _store(max_conversations=2)
    store.append("a", Message.user("1"), _answer("1"))
    store.append("b", Message.user("2"), _answer("2"))
    assert store.history("a")  # touching "a" makes "b" the oldest
    store.append("c", Message.user("3"), _answer("3"))
    assert len(store) == 2
    assert "a" in store and "c" in store and "b" not in store
    assert store.history("b") == ()


def test_turn_bound_drops_the_oldest_pairs() -> None:
    store = _store(max_turns=2)
    for n in range(5):
        store.append("a", Message.user(f"q{n}"), _answer(f"a{n}"))
    assert [m.text for m in store.history("a")] == ["q3", "a3", "q4", "a4"]


def test_size_bound_drops_the_oldest_pairs_and_oversized_ones() -> None:
    store = _store(max_tokens=100)
    store.append("a", Message.user("q0"), _answer("x" * 120))  # ~40 tokens + framing
    store.append("a", Message.user("q1"), _answer("y" * 120))
    store.append("a", Message.user("q2"), _answer("z" * 120))
    assert [m.text for m in store.history("a") if m.role == "user"] == ["q1", "q2"]
    assert store.tokens("a") <= 100
    store.append("a", Message.user("huge"), _answer("w" * 3000))
    assert store.history("a") == ()  # a pair larger than the bound is not kept


def test_new_ids_are_fresh_and_forget() -> None:
    ids = iter(["dup", "dup", "other"])
    store = ConversationStore(new_id=lambda: next(ids))
    assert store.new_id() == "dup"
    store.append("dup", Message.user("q"), _answer("a"))
    assert store.new_id() == "other"  # "dup" is taken
    assert store.forget("dup") is True
    assert store.forget("dup") is False
    assert len(ConversationStore().new_id()) == 32


@pytest.mark.parametrize("bad", ["", " padded ", "x" * 129, "tab\there", 7, None])
def test_invalid_ids_are_refused(bad: object) -> None:
    assert not valid_conversation_id(bad)
    with pytest.raises(ValueError, match="conversation id"):
        ConversationStore().append(bad, Message.user("q"), _answer("a"))  # type: ignore[arg-type]


def test_pairs_must_be_user_then_assistant() -> None:
    with pytest.raises(ValueError, match="user turn then an assistant"):
        ConversationStore().append("a", _answer("a"), Message.user("q"))


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ConversationStore(max_turns=0)
