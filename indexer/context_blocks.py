"""Token counts of a text by blocks of lines, and fitting line ranges to a token cap.

Contract
--------
- :class:`TokenBlocks` counts a :class:`~minimax_lsp.indexer.outline.SourceText` by
  aligned blocks of :data:`BLOCK_LINES` lines, through the counter's per-text cache: an
  edit recounts one block, any line range costs at most two counts plus additions, and
  a block count is computed at most once. Counts are *raw* (no safety margin).
- :func:`fit_window`, :func:`fit_head` and :func:`fit_around` find the largest line range
  of a given shape whose raw count is within a cap (exact counts decide; estimates only
  guide the search).
"""

from __future__ import annotations

import math
from typing import Final

from minimax_lsp.indexer.outline import SourceText
from minimax_lsp.indexer.tokens import TokenCounter

__all__ = ["BLOCK_LINES", "TokenBlocks", "fit_around", "fit_head", "fit_window"]

#: Lines per token-counting block.
BLOCK_LINES: Final = 32


class TokenBlocks:
    """Token counts of a text by aligned blocks of :data:`BLOCK_LINES` lines.

    Counting a text block by block (through the counter's per-text cache) makes an
    edit cost one block's recount, and any line range costs at most two counts (its
    partial first and last blocks) plus additions. Block boundaries are line breaks,
    where BPE merges never cross in practice, so a sum of parts is the count of the
    whole, or a token above it; the safety margin covers the rest.
    """

    __slots__ = ("_chars", "_counts", "_prefix", "counter", "source")

    def __init__(self, source: SourceText, counter: TokenCounter) -> None:
        self.source = source
        self.counter = counter
        n_blocks = -(-source.line_count // BLOCK_LINES)
        self._counts: list[int] = [-1] * n_blocks
        self._chars: list[int] = [-1] * n_blocks
        self._prefix: list[float] | None = None

    def block(self, k: int) -> int:
        """Raw count of block ``k`` (lines ``k*B+1 .. (k+1)*B``)."""
        count = self._counts[k]
        if count < 0:
            count = self.counter.count(
                self.source.lines(k * BLOCK_LINES + 1, (k + 1) * BLOCK_LINES)
            )
            self._counts[k] = count
        return count

    def total(self) -> int:
        """Raw count of the whole text."""
        return sum(self.block(k) for k in range(len(self._counts)))

    def range(self, start: int, end: int) -> int:
        """Raw count of lines ``start..end`` (clamped to the text)."""
        start, end = self.source.clamp(start, end)
        if end < start:
            return 0
        first, last = (start - 1) // BLOCK_LINES, (end - 1) // BLOCK_LINES
        if last - first <= 1:
            if start == first * BLOCK_LINES + 1 and end == self._block_end(last):
                return sum(self.block(k) for k in range(first, last + 1))
            return self.counter.count(self.source.lines(start, end))
        if start == first * BLOCK_LINES + 1:
            head = self.block(first)
        else:
            head = self.counter.count(self.source.lines(start, self._block_end(first)))
        if end == self._block_end(last):
            tail = self.block(last)
        else:
            tail = self.counter.count(self.source.lines(last * BLOCK_LINES + 1, end))
        return head + tail + sum(self.block(k) for k in range(first + 1, last))

    def _block_end(self, k: int) -> int:
        return min((k + 1) * BLOCK_LINES, self.source.line_count)

    def _block_chars(self, k: int) -> int:
        chars = self._chars[k]
        if chars < 0:
            chars = self._chars[k] = self.source.char_count(k * BLOCK_LINES + 1, self._block_end(k))
        return chars

    def estimate(self, start: int, end: int) -> float:
        """Estimated raw count of lines ``start..end``: whole blocks exactly, the partial
        first and last blocks by their share of the block's characters. The first call
        counts every block (the whole-file count does that anyway); then it is O(1)."""
        start, end = self.source.clamp(start, end)
        if end < start:
            return 0.0
        prefix = self._prefix
        if prefix is None:
            prefix = [0.0]
            for k in range(len(self._counts)):
                prefix.append(prefix[-1] + self.block(k))
            self._prefix = prefix
        first, last = (start - 1) // BLOCK_LINES, (end - 1) // BLOCK_LINES
        total = prefix[last + 1] - prefix[first]
        head = start - (first * BLOCK_LINES + 1)
        if head:
            total -= self._fraction(first, first * BLOCK_LINES + 1, start - 1)
        if end < self._block_end(last):
            total -= self._fraction(last, end + 1, self._block_end(last))
        return max(0.0, total)

    def _fraction(self, k: int, lo: int, hi: int) -> float:
        """Block ``k``'s count times the share of its characters in lines ``lo..hi``."""
        chars = self._block_chars(k)
        if chars <= 0:
            return 0.0
        return self.block(k) * self.source.char_count(lo, hi) / chars

    def line_estimate(self, line: int) -> float:
        """Estimated raw count of one line: its block's count spread by characters."""
        k = (line - 1) // BLOCK_LINES
        chars = self._block_chars(k)
        if chars <= 0:
            return 0.0
        return self.block(k) * self.source.line_length(line) / chars


def fit_window(
    blocks: TokenBlocks, anchor: tuple[int, int], raw_cap: int, before_share: float
) -> tuple[int, int]:
    """The largest line window around ``anchor`` whose raw count is within ``raw_cap``.

    ``before_share`` of the added lines go above the anchor (the rest below, and all to
    one side at a file edge). The number of added lines is found by a binary search on
    estimated counts (block counts spread by characters), then the window shrinks on
    exact counts until it fits. An anchor that does not fit is cut from its end;
    ``(0, 0)`` when not even its first line fits.
    """
    source = blocks.source
    n = source.line_count
    if n == 0:
        return 0, 0
    a, b = source.clamp(*anchor)
    if blocks.range(a, a) > raw_cap:
        return 0, 0
    if blocks.range(a, b) > raw_cap:
        return a, fit_head(blocks, a, b, raw_cap)

    def window(k: int) -> tuple[int, int]:
        up = min(a - 1, max(k - (n - b), math.ceil(before_share * k)))
        return a - up, b + (k - up)

    lo, hi = 0, (a - 1) + (n - b)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if blocks.estimate(*window(mid)) <= raw_cap:
            lo = mid
        else:
            hi = mid - 1
    start, end = window(lo)
    exact = blocks.range(start, end)
    while exact > raw_cap and (start < a or end > b):
        excess = exact - raw_cap
        removed = 0.0
        while removed < excess and (start < a or end > b):
            above, below = a - start, end - b
            if above and (not below or above > before_share * (above + below)):
                removed += max(1.0, blocks.line_estimate(start))
                start += 1
            else:
                removed += max(1.0, blocks.line_estimate(end))
                end -= 1
        exact = blocks.range(start, end)
    return start, end


def fit_head(blocks: TokenBlocks, start: int, end: int, raw_cap: int) -> int:
    """The last line ``l`` in ``start..end`` with lines ``start..l`` within ``raw_cap``.

    ``start - 1`` when not even line ``start`` fits. Binary search: counts grow with
    the range.
    """
    lo, hi = start - 1, end
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if blocks.range(start, mid) <= raw_cap:
            lo = mid
        else:
            hi = mid - 1
    return lo


def fit_around(
    blocks: TokenBlocks, line: int, start: int, end: int, raw_cap: int
) -> tuple[int, int]:
    """The widest range ``line - r .. line + r`` (within ``start..end``) fitting ``raw_cap``.

    ``(line, line - 1)`` (empty) when not even ``line`` fits.
    """
    lo, hi = -1, max(line - start, end - line)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if blocks.range(max(start, line - mid), min(end, line + mid)) <= raw_cap:
            lo = mid
        else:
            hi = mid - 1
    if lo < 0:
        return line, line - 1
    return max(start, line - lo), min(end, line + lo)
