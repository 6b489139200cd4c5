"""TokenCounter: exact o200k counts, cache, threads, fallback, budgets, calibration."""

from __future__ import annotations

import logging
import math
import sys
import threading
from pathlib import Path

import bpe_openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimax_lsp.indexer import tokens
from minimax_lsp.indexer.tokens import (
    CALIBRATION_HEADROOM,
    DEFAULT_SAFETY_MARGIN,
    ESTIMATE_SLACK,
    MAX_MARGIN,
    MIN_CALIBRATION_SAMPLES,
    MIN_CALIBRATION_TOKENS,
    MIN_MARGIN,
    PIECE_CHARS,
    TokenCounter,
    estimate,
)

REPO = Path(__file__).resolve().parents[2]
O200K = bpe_openai.get_encoding("o200k_base")


def o200k(text: str) -> int:
    return len(O200K.encode_ordinary(text))


def source_texts() -> list[str]:
    """Real code: a few of this repository's own sources (stable, always present)."""
    names = ("records.py", "tokens.py", "redact.py")
    return [(REPO / "indexer" / name).read_text(encoding="utf-8") for name in names]


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter()


# -- exactness -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x",
        "def f(x):\n    return x + 1\n",
        "    \n\n\t\tindented\r\nwindows line\r\n",
        "<|endoftext|> is plain text here",
        "中文字符测试，日本語のテキスト、한국어 텍스트",  # noqa: RUF001
        "emoji 😀🚀 and accents: naïve façade",
        "0x1F2E3D4C 123456789 3.14159",
    ],
)
def test_count_equals_o200k(counter: TokenCounter, text: str) -> None:
    assert counter.count(text) == o200k(text)


def test_count_equals_o200k_on_real_sources(counter: TokenCounter) -> None:
    texts = [t for t in source_texts() if len(t) <= PIECE_CHARS]
    assert texts
    assert counter.count_many(texts) == [o200k(t) for t in texts]


def test_long_text_is_counted_in_pieces_within_one_token_per_cut(counter: TokenCounter) -> None:
    text = ("\n".join(source_texts()) * 3)[: 6 * PIECE_CHARS]
    assert len(text) > 2 * PIECE_CHARS
    exact = o200k(text)
    pieces = math.ceil(len(text) / PIECE_CHARS) + 1
    assert exact <= counter.count(text) <= exact + pieces


def test_line_longer_than_a_piece_is_not_undercounted(counter: TokenCounter) -> None:
    text = "ab1" * (PIECE_CHARS // 2)  # one line, cut hard
    assert counter.count(text) >= o200k(text)


def test_lone_surrogates_are_counted(counter: TokenCounter) -> None:
    assert counter.count("abc\ud800def") >= 2


def test_count_rejects_non_text(counter: TokenCounter) -> None:
    with pytest.raises(TypeError):
        counter.count(b"bytes")  # type: ignore[arg-type]


# -- cache -----------------------------------------------------------------------------


def test_second_count_is_a_cache_hit() -> None:
    counter = TokenCounter()
    text = "cache me: " + "value " * 50
    first = counter.count(text)
    assert counter.cache_info().misses == 1
    assert counter.count(text) == first
    info = counter.cache_info()
    assert (info.hits, info.misses, info.size) == (1, 1, 1)


def test_cache_is_a_bounded_lru() -> None:
    counter = TokenCounter(cache_size=2)
    counter.count("alpha text")
    counter.count("beta text")
    counter.count("alpha text")  # alpha is now the most recent
    counter.count("gamma text")  # evicts beta
    assert counter.cache_info().size == 2
    counter.count("alpha text")
    counter.count("beta text")
    info = counter.cache_info()
    assert (info.hits, info.misses) == (2, 4)


def test_cache_can_be_disabled() -> None:
    counter = TokenCounter(cache_size=0)
    counter.count("same")
    counter.count("same")
    assert counter.cache_info().size == 0
    assert counter.cache_info().hits == 0


def test_threads_share_one_counter_safely() -> None:
    counter = TokenCounter(cache_size=8)  # small: evictions race with lookups
    texts = [f"def f{i}(x):\n    return x * {i}  # {'pad ' * i}\n" for i in range(40)]
    expected = [o200k(t) for t in texts]
    results: list[list[int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            got = [counter.count(t) for t in texts * 5]
            with lock:
                results.append(got)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(got == expected * 5 for got in results)
    info = counter.cache_info()
    assert info.size <= 8
    assert info.hits + info.misses == 8 * 5 * len(texts)


# -- estimator and fallback ------------------------------------------------------------


def test_estimate_basics() -> None:
    assert estimate("") == 0
    assert estimate("x") >= 1
    with pytest.raises(TypeError):
        estimate(None)  # type: ignore[arg-type]


def test_estimate_tracks_o200k_on_real_code() -> None:
    texts = source_texts()
    total_estimate = sum(estimate(t) for t in texts)
    total_exact = sum(o200k(t) for t in texts)
    assert 0.85 <= total_estimate / total_exact <= 1.15
    for text in texts:
        # Per file, the conservative stand-in should not fall far below o200k.
        assert math.ceil(estimate(text) * ESTIMATE_SLACK) >= 0.9 * o200k(text)


def test_estimate_cjk_is_near_o200k() -> None:
    text = "这是一个用于测试的中文句子，包含标点符号。" * 20  # noqa: RUF001
    assert 0.6 <= estimate(text) / o200k(text) <= 1.6


def test_falls_back_to_the_estimator_without_bpe_openai(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "bpe_openai", None)  # import now raises ImportError
    caplog.set_level(logging.WARNING, logger="minimax_lsp.indexer.tokens")
    counter = TokenCounter()
    text = "def main() -> None:\n    print('hello')\n"
    assert counter.count(text) == math.ceil(estimate(text) * ESTIMATE_SLACK)
    assert counter.count("another text") > 0
    assert not counter.exact
    assert counter.backend == "estimate"
    warnings = [r for r in caplog.records if "falls back to the estimator" in r.getMessage()]
    assert len(warnings) == 1


def test_use_bpe_false_forces_the_estimator() -> None:
    counter = TokenCounter(use_bpe=False)
    assert counter.backend == "estimate"
    assert counter.count("some text here") == math.ceil(estimate("some text here") * ESTIMATE_SLACK)


def test_texts_over_the_exact_limit_are_estimated() -> None:
    counter = TokenCounter(exact_limit_chars=100)
    short, long = "x = 1\n", "value = compute(1, 2)\n" * 20
    assert counter.count(short) == o200k(short)
    assert counter.count(long) == math.ceil(estimate(long) * ESTIMATE_SLACK)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="safety_margin"):
        TokenCounter(safety_margin=0.9)
    with pytest.raises(ValueError, match="safety_margin"):
        TokenCounter(safety_margin=MAX_MARGIN + 0.1)
    with pytest.raises(ValueError, match="cache_size"):
        TokenCounter(cache_size=-1)
    with pytest.raises(ValueError, match="exact_limit_chars"):
        TokenCounter(exact_limit_chars=0)


# -- budgets ---------------------------------------------------------------------------


def test_margin_defaults_and_budget_count() -> None:
    counter = TokenCounter()
    assert counter.margin == DEFAULT_SAFETY_MARGIN
    text = "print('hello, world')\n" * 10
    assert counter.budget_count(text) == math.ceil(o200k(text) * DEFAULT_SAFETY_MARGIN)
    assert counter.with_margin(0) == 0
    with pytest.raises(ValueError):
        counter.with_margin(-1)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=300),
    budget=st.integers(min_value=-5, max_value=400),
    margin=st.floats(min_value=MIN_MARGIN, max_value=MAX_MARGIN),
)
def test_fits_never_allows_over_budget(text: str, budget: int, margin: float) -> None:
    counter = TokenCounter(safety_margin=margin, use_bpe=False)
    if counter.fits(text, budget):
        assert counter.count(text) * counter.margin <= budget


@settings(max_examples=300, deadline=None)
@given(
    budget=st.integers(min_value=-10, max_value=2_000_000),
    margin=st.floats(min_value=MIN_MARGIN, max_value=MAX_MARGIN),
)
def test_usable_is_the_largest_count_that_fits(budget: int, margin: float) -> None:
    counter = TokenCounter(safety_margin=margin, use_bpe=False)
    usable = counter.usable(budget)
    assert usable >= 0
    if budget > 0:
        assert counter.fits(usable, budget)
        assert usable * counter.margin <= budget
    assert not counter.fits(usable + 1, budget)


# -- calibration -----------------------------------------------------------------------


def test_calibration_follows_the_reported_ratio() -> None:
    counter = TokenCounter()
    margin = DEFAULT_SAFETY_MARGIN
    for _ in range(MIN_CALIBRATION_SAMPLES + 10):
        margin = counter.calibrate(4000, 1200, tokens_counted=1000)  # model says +20 %
    assert margin == pytest.approx(1.2 * CALIBRATION_HEADROOM, rel=1e-3)
    state = counter.calibration()
    assert state.samples == MIN_CALIBRATION_SAMPLES + 10
    assert state.ratio == pytest.approx(1.2)


def test_first_samples_may_only_raise_the_margin() -> None:
    counter = TokenCounter()
    for _ in range(MIN_CALIBRATION_SAMPLES - 1):
        assert counter.calibrate(4000, 950, tokens_counted=1000) == DEFAULT_SAFETY_MARGIN
    # Enough samples: the measured ratio replaces the guess, even below it.
    assert counter.calibrate(4000, 950, tokens_counted=1000) < DEFAULT_SAFETY_MARGIN


def test_calibration_is_bounded() -> None:
    high = TokenCounter()
    for _ in range(50):
        high.calibrate(1000, 3900, tokens_counted=1000)  # ratio 3.9 (plausible, extreme)
    assert high.margin == MAX_MARGIN
    low = TokenCounter()
    for _ in range(50):
        low.calibrate(1000, 300, tokens_counted=1000)  # ratio 0.3
    assert low.margin == MIN_MARGIN
    low.reset_calibration()
    assert low.margin == DEFAULT_SAFETY_MARGIN
    assert low.calibration().samples == 0


def test_useless_calibration_samples_are_ignored() -> None:
    counter = TokenCounter()
    counter.calibrate(100, MIN_CALIBRATION_TOKENS - 1, tokens_counted=10)  # too small
    counter.calibrate(1000, 100_000, tokens_counted=1000)  # ratio 100: garbage
    counter.calibrate(1000, 1000, tokens_counted=0)  # nothing counted
    assert counter.calibration().samples == 0
    assert counter.margin == DEFAULT_SAFETY_MARGIN
    with pytest.raises(ValueError):
        counter.calibrate(-1, 1000)
    with pytest.raises(ValueError):
        counter.calibrate(10, 1000, tokens_counted=-5)


def test_calibration_from_chars_uses_the_counted_chars_per_token() -> None:
    counter = TokenCounter()
    text = "\n".join(source_texts())
    counted = counter.count(text)
    chars_per_token = len(text) / counted
    # The model reports 30 % more tokens than we would have counted for these chars.
    for _ in range(MIN_CALIBRATION_SAMPLES):
        counter.calibrate(len(text), round(counted * 1.3))
    assert counter.calibration().ratio == pytest.approx(1.3, rel=1e-3)
    fresh = TokenCounter()  # nothing counted yet: §14's 3 chars per token
    fresh.calibrate(30_000, 10_000)
    assert fresh.calibration().ratio == pytest.approx(1.0)
    assert chars_per_token > 3  # code under o200k: ~3.5-4 chars per token


def test_module_has_no_mutable_globals() -> None:
    mutable = (list, dict, set, bytearray)
    offenders = [
        name
        for name, value in vars(tokens).items()
        if not name.startswith("__") and isinstance(value, mutable)
    ]
    assert offenders == []
