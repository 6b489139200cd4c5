"""The typing-through cache: remainders, invalidation, bounds."""

from __future__ import annotations

import pytest

from minimax_lsp.server.completion.cache import CompletionCache

URI = "file:///w/app.py"
PREFIX = "def area(w, h):\n    return "
SUFFIX = "\n\nprint(area(2, 3))\n"
TEXT = "w * h"


def test_same_position_returns_the_whole_suggestion() -> None:
    cache = CompletionCache()
    cache.put(URI, PREFIX, SUFFIX, TEXT)
    assert cache.get(URI, PREFIX, SUFFIX) == TEXT
    assert len(cache) == 1


def test_typing_through_serves_the_remainder() -> None:
    cache = CompletionCache()
    cache.put(URI, PREFIX, SUFFIX, TEXT)
    assert cache.get(URI, PREFIX + "w", SUFFIX) == " * h"
    assert cache.get(URI, PREFIX + "w *", SUFFIX) == " h"
    assert cache.get(URI, PREFIX + "w * ", SUFFIX) == "h"


def test_fully_typed_or_whitespace_remainder_is_a_miss() -> None:
    cache = CompletionCache()
    cache.put(URI, PREFIX, SUFFIX, "w * h  ")
    assert cache.get(URI, PREFIX + "w * h", SUFFIX) is None  # only spaces left
    assert cache.get(URI, PREFIX + "w * h  ", SUFFIX) is None  # nothing left


@pytest.mark.parametrize(
    ("prefix", "suffix"),
    [
        (PREFIX + "x", SUFFIX),  # typed something else
        (PREFIX[:-1], SUFFIX),  # deleted a character
        ("# edit\n" + PREFIX, SUFFIX),  # edited above: the lengths differ
        (PREFIX.replace("area", "size"), SUFFIX),  # same length, different text
        (PREFIX, "\n\nprint(area(4, 5))\n"),  # the text after the cursor changed
    ],
)
def test_misses(prefix: str, suffix: str) -> None:
    cache = CompletionCache()
    cache.put(URI, PREFIX, SUFFIX, TEXT)
    assert cache.get(URI, prefix, suffix) is None
    assert cache.get("file:///w/other.py", PREFIX, SUFFIX) is None


def test_multi_line_suggestion_typed_through_its_first_line() -> None:
    cache = CompletionCache()
    text = "if w < 0:\n        raise ValueError(w)"
    cache.put(URI, PREFIX, SUFFIX, text)
    assert cache.get(URI, PREFIX + "if w < 0:\n", SUFFIX) == "        raise ValueError(w)"


def test_newest_entry_wins_and_bounds_hold() -> None:
    cache = CompletionCache(documents=2, per_document=2)
    cache.put(URI, PREFIX, SUFFIX, "w * h")
    cache.put(URI, PREFIX, SUFFIX, "h * w")
    assert cache.get(URI, PREFIX, SUFFIX) == "h * w"
    cache.put(URI, PREFIX, SUFFIX, "w + h")  # the first entry falls out
    assert cache.get(URI, PREFIX + "w *", SUFFIX) is None
    assert len(cache) == 2
    cache.put("file:///b", PREFIX, SUFFIX, TEXT)
    cache.get(URI, PREFIX, SUFFIX)  # URI is now the most recently used document
    cache.put("file:///c", PREFIX, SUFFIX, TEXT)  # evicts file:///b
    assert cache.get("file:///b", PREFIX, SUFFIX) is None
    assert cache.get(URI, PREFIX, SUFFIX) == "w + h"


def test_forget_clear_and_blank_texts() -> None:
    cache = CompletionCache()
    cache.put(URI, PREFIX, SUFFIX, "   ")
    assert len(cache) == 0
    cache.put(URI, PREFIX, SUFFIX, TEXT)
    cache.forget(URI)
    assert cache.get(URI, PREFIX, SUFFIX) is None
    cache.put(URI, PREFIX, SUFFIX, TEXT)
    cache.clear()
    assert len(cache) == 0


def test_only_the_tail_of_a_long_prefix_is_kept() -> None:
    cache = CompletionCache(prefix_chars=16, suffix_chars=4)
    long_prefix = "x" * 10_000 + PREFIX
    cache.put(URI, long_prefix, SUFFIX, TEXT)
    entry = cache._entries[URI][0]
    assert len(entry.prefix_tail) == 16
    assert entry.prefix_length == len(long_prefix)
    assert entry.suffix_head == SUFFIX[:4]
    assert cache.get(URI, long_prefix + "w", SUFFIX[:4] + "anything") == " * h"


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        CompletionCache(documents=0)
