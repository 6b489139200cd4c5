"""The fake's deterministic token formula (spec §14) and reply planning details."""

from __future__ import annotations

import pytest

from tests.fake_minimax import Fault, Reply, count_text
from tests.fake_minimax.generate import split_text
from tests.fake_minimax.tokens import anthropic_prompt_blocks, truncate_to_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("a", 1),
        ("abcdefg", 2),
        ("abcdefgh", 3),
        ("汉字", 2),
        ("汉字汉字汉字汉字", 5),
        ("ab汉", 2),
    ],
)
def test_count_text_formula(text: str, tokens: int) -> None:
    assert count_text(text) == tokens


def test_truncate_to_tokens_is_the_longest_fitting_prefix() -> None:
    text = "abc汉字def" * 10
    for budget in range(count_text(text) + 1):
        cut = truncate_to_tokens(text, budget)
        assert count_text(cut) <= budget
        assert cut == text or count_text(text[: len(cut) + 1]) > budget


def test_prompt_blocks_order_and_breakpoints() -> None:
    body = {
        "tools": [{"name": "t", "input_schema": {}, "cache_control": {"type": "ephemeral"}}],
        "system": [{"type": "text", "text": "sys"}],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
            {"role": "assistant", "content": "c"},
        ],
    }
    blocks = anthropic_prompt_blocks(body)
    assert [b.material.split("|")[0] for b in blocks] == ["tool", "system", "m0", "+", "m1"]
    assert [b.breakpoint for b in blocks] == [True, False, False, False, False]
    assert [b.tokens for b in blocks[2:]] == [5, 1, 5]
    # cache_control does not change a block's identity.
    plain = {**body, "tools": [{"name": "t", "input_schema": {}}]}
    assert anthropic_prompt_blocks(plain)[0].material == blocks[0].material


def test_split_text_never_yields_empty_pieces() -> None:
    assert split_text("", 3) == []
    assert split_text("ab", 5) == ["a", "b"]
    assert split_text("abcdefg", 3) == ["abc", "de", "fg"]
    assert len(split_text("x" * 100, None, target=20)) == 5


def test_scripting_records_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="chunks"):
        Reply(text="x", chunks=0)
    with pytest.raises(ValueError, match="stop_reason"):
        Reply(text="x", stop_reason="stop_sequence")
    with pytest.raises(ValueError, match="4xx or 5xx"):
        Fault.http(200)
    assert Fault.http(503).message == "service unavailable"
    assert Fault.http(429, code=1041).message == "connection limit (1041)"
    assert Fault.http(429, message="custom", code=2045).message == "custom (2045)"
