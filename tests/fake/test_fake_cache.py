"""Prompt-prefix cache accounting of the fake server (spec §7)."""

from __future__ import annotations

from typing import Any

from tests.fake._helpers import anthropic_client, openai_client, post
from tests.fake_minimax import FakeMiniMax, count_text
from tests.fake_minimax.cache import PrefixCache
from tests.fake_minimax.tokens import PromptBlock

EPHEMERAL = {"type": "ephemeral"}
LONG_SYSTEM = "You are a careful code assistant. " * 100  # 3,400 chars: 972 tokens


class FakeClock:
    """A settable clock for TTL tests."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _usage(fake: FakeMiniMax, body: dict[str, Any]) -> dict[str, int]:
    response = post(fake, "/anthropic/v1/messages", body)
    assert response.status_code == 200, response.text
    usage: dict[str, int] = response.json()["usage"]
    return usage


def _body(question: str = "What does utils.py export?", **extra: Any) -> dict[str, Any]:
    return {
        "model": "MiniMax-M3",
        "max_tokens": 100,
        "system": [{"type": "text", "text": LONG_SYSTEM, "cache_control": EPHEMERAL}],
        "messages": [{"role": "user", "content": question}],
        **extra,
    }


def test_two_identical_requests_read_the_cached_system(fake_minimax: FakeMiniMax) -> None:
    system_tokens = count_text(LONG_SYSTEM)
    tail = 4 + count_text("What does utils.py export?")
    first = _usage(fake_minimax, _body())
    assert first == {
        "input_tokens": tail,
        "output_tokens": first["output_tokens"],
        "cache_creation_input_tokens": system_tokens,
        "cache_read_input_tokens": 0,
    }
    second = _usage(fake_minimax, _body())
    assert second["cache_read_input_tokens"] == system_tokens
    assert second["cache_creation_input_tokens"] == 0
    assert second["input_tokens"] == tail
    totals = fake_minimax.usage_totals
    assert totals.requests == 2
    assert totals.cache_read_input_tokens == system_tokens
    assert totals.cache_hit_share == system_tokens / (2 * (system_tokens + tail))


def test_sdk_stream_reports_cache_usage(fake_minimax: FakeMiniMax) -> None:
    client = anthropic_client(fake_minimax)
    kwargs: dict[str, Any] = {
        "model": "MiniMax-M3",
        "max_tokens": 100,
        "system": [{"type": "text", "text": LONG_SYSTEM, "cache_control": EPHEMERAL}],
        "messages": [{"role": "user", "content": "hi"}],
    }
    client.messages.create(**kwargs)
    with client.messages.stream(**kwargs) as stream:
        final = stream.get_final_message()
    assert final.usage.cache_read_input_tokens == count_text(LONG_SYSTEM)
    assert final.usage.input_tokens == 4 + count_text("hi")


def test_no_breakpoint_means_no_cache_by_default(fake_minimax: FakeMiniMax) -> None:
    body = _body()
    body["system"] = LONG_SYSTEM
    _usage(fake_minimax, body)
    second = _usage(fake_minimax, body)
    assert second["cache_read_input_tokens"] == 0
    assert second["cache_creation_input_tokens"] == 0


def test_prefix_under_512_tokens_is_not_cached(fake_minimax: FakeMiniMax) -> None:
    body = _body()
    body["system"][0]["text"] = "short system prompt"
    _usage(fake_minimax, body)
    second = _usage(fake_minimax, body)
    assert second["cache_read_input_tokens"] == 0
    assert second["cache_creation_input_tokens"] == 0


def test_growing_conversation_reads_the_previous_breakpoint(fake_minimax: FakeMiniMax) -> None:
    turn1 = [
        {
            "role": "user",
            "content": [{"type": "text", "text": LONG_SYSTEM, "cache_control": EPHEMERAL}],
        }
    ]
    first = _usage(fake_minimax, {"model": "MiniMax-M3", "max_tokens": 50, "messages": turn1})
    first_total = 4 + count_text(LONG_SYSTEM)
    assert first["cache_creation_input_tokens"] == first_total
    assert first["input_tokens"] == 0
    turn2 = [
        {"role": "user", "content": [{"type": "text", "text": LONG_SYSTEM}]},
        {"role": "assistant", "content": "Noted."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Next question?", "cache_control": EPHEMERAL}],
        },
    ]
    second = _usage(fake_minimax, {"model": "MiniMax-M3", "max_tokens": 50, "messages": turn2})
    assert second["cache_read_input_tokens"] == first_total
    grown = 4 + count_text("Noted.") + 4 + count_text("Next question?")
    assert second["cache_creation_input_tokens"] == grown
    assert second["input_tokens"] == 0


def test_ttl_expires_after_five_minutes_and_hits_refresh_it(fake_minimax_factory: Any) -> None:
    clock = FakeClock()
    fake: FakeMiniMax = fake_minimax_factory(clock=clock)
    assert _usage(fake, _body())["cache_creation_input_tokens"] > 0
    clock.now += 299
    assert _usage(fake, _body())["cache_read_input_tokens"] > 0  # refreshed to +300 from here
    clock.now += 299
    assert _usage(fake, _body())["cache_read_input_tokens"] > 0
    clock.now += 301
    expired = _usage(fake, _body())
    assert expired["cache_read_input_tokens"] == 0
    assert expired["cache_creation_input_tokens"] == count_text(LONG_SYSTEM)


def test_automatic_mode_reads_without_breakpoints(fake_minimax_factory: Any) -> None:
    fake: FakeMiniMax = fake_minimax_factory(automatic_cache=True)
    body = {
        "model": "MiniMax-M3",
        "max_tokens": 50,
        "system": LONG_SYSTEM,
        "messages": [{"role": "user", "content": "first question"}],
    }
    first = _usage(fake, body)
    assert first["cache_read_input_tokens"] == 0
    assert first["cache_creation_input_tokens"] == 0  # passive writes are free
    again = _usage(fake, body)
    assert again["cache_read_input_tokens"] == count_text(LONG_SYSTEM) + 4 + count_text(
        "first question"
    )
    assert again["input_tokens"] == 0
    other = {**body, "messages": [{"role": "user", "content": "another question"}]}
    shared = _usage(fake, other)
    assert shared["cache_read_input_tokens"] == count_text(LONG_SYSTEM)
    assert shared["input_tokens"] == 4 + count_text("another question")


def test_openai_endpoint_reports_cached_tokens_in_automatic_mode(fake_minimax_factory: Any) -> None:
    fake: FakeMiniMax = fake_minimax_factory(automatic_cache=True)
    client = openai_client(fake)
    messages: Any = [
        {"role": "system", "content": LONG_SYSTEM},
        {"role": "user", "content": "q"},
    ]
    client.chat.completions.create(model="MiniMax-M3", messages=messages)
    completion = client.chat.completions.create(model="MiniMax-M3", messages=messages)
    usage = completion.usage
    assert usage is not None
    total = 4 + count_text(LONG_SYSTEM) + 4 + count_text("q")
    assert usage.prompt_tokens == total
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == total


def _blocks(*spec: tuple[str, int, bool]) -> list[PromptBlock]:
    return [PromptBlock(material, tokens, bp) for material, tokens, bp in spec]


def test_only_the_last_four_breakpoints_are_used() -> None:
    cache = PrefixCache(FakeClock())
    five = [(f"b{i}", 600, True) for i in range(5)]
    cache.account("ns", _blocks(*five))
    # Same first block, different second: only a prefix ending at b0 could match, and b0 was
    # the fifth-from-last breakpoint, so it was never written.
    changed = [five[0], ("other", 600, True), *five[2:]]
    usage = cache.account("ns", _blocks(*changed))
    assert usage.cache_read_input_tokens == 0
    four = [(f"c{i}", 600, True) for i in range(4)]
    cache.account("ns", _blocks(*four))
    usage = cache.account("ns", _blocks(four[0], ("different", 600, True)))
    assert usage.cache_read_input_tokens == 600


def test_lookback_is_twenty_blocks() -> None:
    cache = PrefixCache(FakeClock())
    head = [("head", 600, True)]
    cache.account("ns", _blocks(*head))
    near = [("head", 600, False)] + [(f"x{i}", 10, False) for i in range(18)] + [("end", 10, True)]
    assert cache.account("ns", _blocks(*near)).cache_read_input_tokens == 600
    far = [("head", 600, False)] + [(f"y{i}", 10, False) for i in range(19)] + [("end", 10, True)]
    assert cache.account("ns", _blocks(*far)).cache_read_input_tokens == 0


def test_namespaces_do_not_share_entries() -> None:
    cache = PrefixCache(FakeClock())
    blocks = _blocks(("same", 700, True))
    cache.account("anthropic|MiniMax-M3", blocks)
    assert cache.account("anthropic|MiniMax-M2.7", blocks).cache_read_input_tokens == 0
    assert cache.account("anthropic|MiniMax-M3", blocks).cache_read_input_tokens == 700
