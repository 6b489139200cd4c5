"""Prompt-prefix cache accounting (spec §7).

The fake keeps hashes of prompt prefixes (block order tools → system → messages, see
:mod:`.tokens`) and reports, per request, how the input splits into

* ``cache_read_input_tokens``: the longest cached prefix found,
* ``cache_creation_input_tokens``: what explicit breakpoints newly wrote past that,
* ``input_tokens``: the uncached rest (``total = input + creation + read``).

Explicit caching: blocks with ``cache_control`` are breakpoints; only the last 4 count. Each
breakpoint's prefix is written when it holds ≥ 512 tokens. A lookup walks back at most 20
blocks from each breakpoint for a cached prefix. Entries live 5 minutes, refreshed on a hit.

Automatic mode (off by default; MiniMax's passive caching): for requests of ≥ 512 tokens every
block boundary at ≥ 512 tokens is stored for free (no creation tokens reported), and any
cached boundary may be read, breakpoints or not.

The clock is injected so tests can expire entries without sleeping.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .tokens import PromptBlock

TTL_SECONDS = 300.0
MIN_CACHEABLE_TOKENS = 512
MAX_BREAKPOINTS = 4
LOOKBACK_BLOCKS = 20


@dataclass(frozen=True)
class CacheUsage:
    """How one request's input tokens split; the three fields sum to the total input."""

    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int

    @property
    def total_input_tokens(self) -> int:
        """All input tokens, cached or not."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


class PrefixCache:
    """Thread-safe prefix-hash cache with TTL.

    Parameters
    ----------
    clock:
        Returns seconds (monotonic); injected so TTL tests need not sleep.
    automatic:
        Enable the passive mode described in the module docstring.
    ttl, min_tokens:
        Entry lifetime and minimum cacheable prefix.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        automatic: bool = False,
        ttl: float = TTL_SECONDS,
        min_tokens: int = MIN_CACHEABLE_TOKENS,
    ) -> None:
        self._clock = clock
        self.automatic = automatic
        self._ttl = ttl
        self._min_tokens = min_tokens
        self._entries: dict[str, float] = {}  # prefix hash -> expiry time
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def account(self, namespace: str, blocks: Sequence[PromptBlock]) -> CacheUsage:
        """Look the prompt up, store its prefixes, and return the usage split.

        Parameters
        ----------
        namespace:
            Separates caches (endpoint and model): prefixes never match across namespaces.
        blocks:
            The prompt, in cache order.
        """
        hashes, cumulative = _prefix_chain(namespace, blocks)
        total = cumulative[-1] if cumulative else 0
        breakpoints = [i for i, block in enumerate(blocks) if block.breakpoint][-MAX_BREAKPOINTS:]
        with self._lock:
            now = self._clock()
            self._purge(now)
            hit = self._lookup(hashes, breakpoints, total, now)
            read = cumulative[hit] if hit >= 0 else 0
            if hit >= 0:
                self._entries[hashes[hit]] = now + self._ttl
            creation = self._write_breakpoints(hashes, cumulative, breakpoints, hit, now)
            if self.automatic and total >= self._min_tokens:
                for i, tokens in enumerate(cumulative):
                    if tokens >= self._min_tokens:
                        self._entries[hashes[i]] = now + self._ttl
        return CacheUsage(total - read - creation, creation, read)

    def _valid(self, key: str, now: float) -> bool:
        expiry = self._entries.get(key)
        return expiry is not None and expiry > now

    def _lookup(self, hashes: list[str], breakpoints: list[int], total: int, now: float) -> int:
        """Index of the last block of the longest cached prefix, or -1."""
        hit = -1
        for bp in breakpoints:
            for j in range(bp, max(-1, bp - LOOKBACK_BLOCKS), -1):
                if self._valid(hashes[j], now):
                    hit = max(hit, j)
                    break
        if self.automatic and total >= self._min_tokens:
            for j in range(len(hashes) - 1, hit, -1):
                if self._valid(hashes[j], now):
                    hit = j
                    break
        return hit

    def _write_breakpoints(
        self,
        hashes: list[str],
        cumulative: list[int],
        breakpoints: list[int],
        hit: int,
        now: float,
    ) -> int:
        """Store breakpoint prefixes; return the creation tokens past the read point."""
        written_to = -1
        for bp in breakpoints:
            if cumulative[bp] >= self._min_tokens:
                self._entries[hashes[bp]] = now + self._ttl
                written_to = bp
        if written_to <= hit:
            return 0
        read = cumulative[hit] if hit >= 0 else 0
        return cumulative[written_to] - read

    def _purge(self, now: float) -> None:
        # Lazy eviction keeps the dict bounded in long benchmark runs.
        if len(self._entries) > 4096:
            for key in [k for k, expiry in self._entries.items() if expiry <= now]:
                del self._entries[key]


def _prefix_chain(namespace: str, blocks: Sequence[PromptBlock]) -> tuple[list[str], list[int]]:
    """Chained hashes and running token sums: entry i covers blocks[0..i]."""
    hashes: list[str] = []
    cumulative: list[int] = []
    digest = hashlib.sha256(namespace.encode()).hexdigest()
    running = 0
    for block in blocks:
        material = (digest + "\x00" + block.material).encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(material).hexdigest()
        running += block.tokens
        hashes.append(digest)
        cumulative.append(running)
    return hashes, cumulative
