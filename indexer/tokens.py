"""Token counting for the context packer: exact o200k counts, a safety margin, calibration.

Contract
--------
* `TokenCounter.count` returns the number of tokens of ``text`` under OpenAI's
  ``o200k_base`` encoding, computed offline by ``bpe-openai`` (its ranks ship in the
  wheel). MiniMax's own tokenizer (a ~200k byte-level BPE) cannot be loaded here, and
  o200k is the closest encoding we can run; docs/tokens.md gives the measurements.
* The packer must never exceed a budget even though o200k is not MiniMax's tokenizer, so
  it compares *budget counts* against budgets: ``ceil(count * margin)``
  (`TokenCounter.budget_count`, `TokenCounter.with_margin`, `TokenCounter.fits`,
  `TokenCounter.usable`). The margin starts at `DEFAULT_SAFETY_MARGIN` and moves with
  `TokenCounter.calibrate`, which feeds back the ``input_tokens`` the model reported;
  it always stays within [`MIN_MARGIN`, `MAX_MARGIN`].
* If ``bpe-openai`` cannot be imported or loaded, the counter logs one warning and
  counts with `estimate` (a character-class model fitted to o200k) multiplied by
  `ESTIMATE_SLACK`, so that its counts stay conservative. The same stand-in is used
  for texts longer than ``exact_limit_chars``.
* Counts are cached per text in a bounded, thread-safe LRU keyed by a BLAKE2b digest
  of the text, so a chunk that does not change is tokenized once.
* Long texts are tokenized in line-aligned pieces of at most `PIECE_CHARS` characters:
  the Rust tokenizer holds the GIL while it runs, and pieces let other threads (the
  LSP event loop) run in between. Cutting at line ends never lowered a count in our
  measurements; a cut inside a line adds one token of slack.
* Every method is safe to call from several threads at once.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_ENCODING",
    "DEFAULT_EXACT_LIMIT_CHARS",
    "DEFAULT_SAFETY_MARGIN",
    "ESTIMATE_SLACK",
    "MAX_MARGIN",
    "MIN_MARGIN",
    "PIECE_CHARS",
    "CacheInfo",
    "Calibration",
    "TokenCounter",
    "estimate",
]

_log = logging.getLogger("minimax_lsp.indexer.tokens")

#: The encoding we count with: the closest offline proxy for MiniMax's tokenizer.
DEFAULT_ENCODING = "o200k_base"
#: Budget multiplier before any calibration. o200k and MiniMax's vocabulary are both
#: ~200k byte-level BPEs; two such encodings (cl100k vs o200k) agree on code within 2 %
#: in total and 5 % per file (docs/tokens.md), so 10 % covers the unknown gap with room
#: to spare.
DEFAULT_SAFETY_MARGIN = 1.10
#: The margin never goes below this (counts are never shrunk) ...
MIN_MARGIN = 1.0
#: ... nor above this, whatever the calibration samples say (a bad sample must not
#: halve every budget).
MAX_MARGIN = 1.5
#: Multiplier applied to `estimate` when it stands in for an exact count. With it the
#: estimate is >= the o200k count for 96-100 % of code files, and for every 40-file
#: pack we measured except those holding a large base64 blob (docs/tokens.md).
ESTIMATE_SLACK = 1.2
#: Calibration: weight of the newest sample in the running ratio (an EMA).
CALIBRATION_ALPHA = 0.25
#: Calibration: the margin is the running ratio times this headroom (sample noise).
CALIBRATION_HEADROOM = 1.03
#: Calibration: below this many reported tokens a sample is mostly per-message
#: overhead and says nothing about the tokenizer, so it is ignored.
MIN_CALIBRATION_TOKENS = 256
#: Calibration: before this many samples the margin may only grow above the default.
MIN_CALIBRATION_SAMPLES = 3
#: Calibration: a sample whose ratio falls outside this range is garbage (a count of
#: the wrong text, a server-side bug) and is ignored.
_PLAUSIBLE_RATIO = (0.25, 4.0)
#: When nothing has been counted yet, assume §14's conservative 3 chars per token.
_DEFAULT_TOKENS_PER_CHAR = 1 / 3.0
#: Entries in the per-text count cache (a key and an int each, ~150 bytes).
DEFAULT_CACHE_SIZE = 65_536
#: Longest piece handed to the tokenizer at once (~1 ms of work, see module docstring).
PIECE_CHARS = 32_768
#: Texts longer than this are estimated, never tokenized (~1 s of exact counting).
DEFAULT_EXACT_LIMIT_CHARS = 32 * 1024 * 1024

# ---------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------


def _class_table() -> bytes:
    """Map each UTF-8 byte to a class letter.

    ``l``/``u`` lower/upper ASCII letter, ``d`` digit, ``s`` space, ``n`` newline,
    ``t`` tab, ``p`` other printable ASCII (``_`` included: o200k starts a new piece at
    it), ``x`` control, ``c`` UTF-8 continuation byte, ``2``/``3``/``4`` lead byte of a
    2/3/4-byte character (3-byte characters are mostly CJK, 4-byte mostly emoji).
    """
    table = bytearray(256)
    for byte in range(256):
        char = chr(byte)
        if byte >= 0xF0:
            cls = "4"
        elif byte >= 0xE0:
            cls = "3"
        elif byte >= 0xC0:
            cls = "2"
        elif byte >= 0x80:
            cls = "c"
        elif char.islower():
            cls = "l"
        elif char.isupper():
            cls = "u"
        elif char.isdigit():
            cls = "d"
        elif char == " ":
            cls = "s"
        elif char in "\n\r":
            cls = "n"
        elif char == "\t":
            cls = "t"
        elif byte < 32 or byte == 127:
            cls = "x"
        else:
            cls = "p"
        table[byte] = ord(cls)
    return bytes(table)


_CLASSES = _class_table()
# Second view of the classes: letters "a", spaces "s", everything else ".", so that
# two-byte counts find the starts of letter runs (words) and of space runs.
_RUNS = bytes.maketrans(b"lusdntpx234c", b"aas.........")

# Weights of the estimator, fitted by least squares on relative error over half of a
# corpus of Python, JavaScript, C, Markdown and CJK files (equal weight per language)
# against o200k counts; tests/bench/bench_tokens.py measures it on the whole corpus.
# The negative pair weights make runs ("----", "0000") cheaper than isolated chars,
# as BPE merges them; p >= 2*pp and d >= 2*dd keep every term's sum positive.
_W_WORDS = 0.738  # starts of ASCII letter runs, plus lower->upper (camelCase) humps
_W_SPACE_RUNS = 0.31
_W_SPACES = 0.058
_W_NEWLINES = 0.836
_W_PUNCT = 0.725
_W_PUNCT_PAIRS = -0.968
_W_DIGITS = 1.463
_W_DIGIT_PAIRS = -1.427
_W_CHAR2 = 0.494  # Latin accents, Greek, Cyrillic, Hebrew, Arabic
_W_CHAR3 = 0.755  # CJK and the rest of the BMP (MiniMax quotes 0.625 per Chinese char)
_W_CHAR4 = 2.0  # emoji and rare CJK: o200k spends 1-3 tokens on each


def _utf8(text: str) -> bytes:
    """UTF-8 bytes of ``text``; lone surrogates (possible in editor buffers) pass through."""
    if text.isascii():  # O(1): CPython caches the flag, and ASCII encodes as a memcpy
        return text.encode("ascii")
    return text.encode("utf-8", "surrogatepass")


def estimate(text: str) -> int:
    """Estimate the o200k token count of ``text`` from character classes.

    The model is linear in counts that C-level ``bytes`` methods compute in a few
    passes (no regex, no Python loop over characters): ~55 MB/s, about twice the
    exact tokenizer. It is unbiased on code (mean error within ±1.2 % per language)
    but a single file can be off by 8-16 % (p95), and a base64 blob by 60 %;
    `TokenCounter` multiplies it by `ESTIMATE_SLACK` when it has to rely on it. Empty
    text is 0, other text >= 1.

    Parameters
    ----------
    text:
        Any string.
    """
    if not isinstance(text, str):
        raise TypeError(f"estimate() needs a str, not {type(text).__name__}")
    if not text:
        return 0
    classes = _utf8(text).translate(_CLASSES)
    runs = classes.translate(_RUNS)
    words = runs.count(b".a") + runs.count(b"sa") + classes.count(b"lu") + (runs[0] == 0x61)
    space_runs = runs.count(b".s") + runs.count(b"as") + (runs[0] == 0x73)
    value = (
        _W_WORDS * words
        + _W_SPACE_RUNS * space_runs
        + _W_SPACES * classes.count(b"s")
        + _W_NEWLINES * classes.count(b"n")
        + _W_PUNCT * classes.count(b"p")
        + _W_PUNCT_PAIRS * classes.count(b"pp")
        + _W_DIGITS * classes.count(b"d")
        + _W_DIGIT_PAIRS * classes.count(b"dd")
    )
    if not text.isascii():
        value += (
            _W_CHAR2 * classes.count(b"2")
            + _W_CHAR3 * classes.count(b"3")
            + _W_CHAR4 * classes.count(b"4")
        )
    return max(1, math.ceil(value))


def _conservative_estimate(text: str) -> int:
    """`estimate` scaled by `ESTIMATE_SLACK`: the stand-in for an exact count."""
    if not text:
        return 0
    return math.ceil(estimate(text) * ESTIMATE_SLACK)


# ---------------------------------------------------------------------------
# The exact counter
# ---------------------------------------------------------------------------

_PieceCounter = Callable[[str], int]


def _load_bpe(encoding: str) -> _PieceCounter | None:
    """Return a function counting tokens of one piece, or None if bpe-openai is unusable."""
    try:
        import bpe_openai

        enc = bpe_openai.get_encoding(encoding)
    except Exception as exc:  # ImportError, a missing rank file, an unknown encoding
        _log.warning(
            "token counting falls back to the estimator: bpe-openai unavailable (%s: %s)",
            type(exc).__name__,
            exc,
        )
        return None
    # The Rust backend's count() beats len(encode_ordinary()) by 1.2-2x (no list of
    # ints, no Python wrapper), but it is not part of the tiktoken-style API, so use it
    # only if present.
    backend = getattr(enc, "_backend", None)
    backend_count = getattr(backend, "count", None)
    if callable(backend_count):

        def count_backend(piece: str) -> int:
            return int(backend_count(piece))

        return count_backend

    def count_public(piece: str) -> int:
        return len(enc.encode_ordinary(piece))

    return count_public


def _pieces(text: str, limit: int) -> Iterable[tuple[str, bool]]:
    """Split ``text`` into pieces of <= ``limit`` chars, cut after a newline when possible.

    Yields ``(piece, hard_cut)``; ``hard_cut`` is True when the piece had to be cut
    inside a line (no newline in the window).
    """
    start, end = 0, len(text)
    while end - start > limit:
        cut = text.rfind("\n", start, start + limit)
        if cut < start:
            yield text[start : start + limit], True
            start += limit
        else:
            yield text[start : cut + 1], False
            start = cut + 1
    if start < end:
        yield text[start:], False


def _sanitize(text: str) -> str:
    """Replace lone surrogates, which the tokenizer cannot encode, by U+FFFD."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """Counters of the per-text cache."""

    hits: int
    misses: int
    size: int
    maxsize: int


@dataclass(frozen=True, slots=True)
class Calibration:
    """Where the safety margin stands.

    ``ratio`` is the running (EMA) ratio of model-reported tokens to our counts, None
    before the first usable sample; ``margin`` is the multiplier budgets use now.
    """

    samples: int
    ratio: float | None
    margin: float


# ---------------------------------------------------------------------------
# TokenCounter
# ---------------------------------------------------------------------------


class TokenCounter:
    """Counts tokens of text chunks, with a cache, a safety margin and calibration.

    Parameters
    ----------
    safety_margin:
        Budget multiplier until calibration says otherwise, in [`MIN_MARGIN`,
        `MAX_MARGIN`].
    cache_size:
        Most texts whose counts are kept (LRU). 0 disables the cache.
    exact_limit_chars:
        Texts longer than this are estimated instead of tokenized.
    encoding:
        bpe-openai encoding name; ``o200k_base`` unless you know better.
    use_bpe:
        False forces the estimator (tests, or a user who wants the fastest start).
    """

    def __init__(
        self,
        *,
        safety_margin: float = DEFAULT_SAFETY_MARGIN,
        cache_size: int = DEFAULT_CACHE_SIZE,
        exact_limit_chars: int = DEFAULT_EXACT_LIMIT_CHARS,
        encoding: str = DEFAULT_ENCODING,
        use_bpe: bool = True,
    ) -> None:
        if not MIN_MARGIN <= safety_margin <= MAX_MARGIN:
            raise ValueError(
                f"safety_margin must be in [{MIN_MARGIN}, {MAX_MARGIN}], not {safety_margin!r}"
            )
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, not {cache_size!r}")
        if exact_limit_chars < 1:
            raise ValueError(f"exact_limit_chars must be >= 1, not {exact_limit_chars!r}")
        self._base_margin = float(safety_margin)
        self._cache_size = cache_size
        self._exact_limit = exact_limit_chars
        self._encoding = encoding
        self._use_bpe = use_bpe
        # One lock for the cache, the statistics and the calibration: each critical
        # section is a few dict operations, never a tokenizer call.
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._loaded = False
        self._piece_counter: _PieceCounter | None = None
        self._cache: OrderedDict[bytes, int] = OrderedDict()
        self._hits = 0
        self._misses = 0
        self._chars_seen = 0
        self._tokens_seen = 0
        self._samples = 0
        self._ratio: float | None = None
        self._margin = self._base_margin

    # -- backend ------------------------------------------------------------

    def _counter(self) -> _PieceCounter | None:
        """The exact piece counter, loaded on first use (importing bpe-openai takes ~0.6 s)."""
        if not self._loaded:
            with self._load_lock:
                if not self._loaded:
                    self._piece_counter = _load_bpe(self._encoding) if self._use_bpe else None
                    self._loaded = True
        return self._piece_counter

    @property
    def exact(self) -> bool:
        """True when counts come from the BPE tokenizer, False when they are estimates."""
        return self._counter() is not None

    @property
    def backend(self) -> str:
        """``"o200k_base"`` (or the configured encoding), or ``"estimate"``."""
        return self._encoding if self.exact else "estimate"

    # -- counting -----------------------------------------------------------

    def count(self, text: str) -> int:
        """Tokens of ``text`` (o200k, or the conservative estimate if we cannot tokenize).

        Parameters
        ----------
        text:
            Any string; lone surrogates are counted as U+FFFD.
        """
        if not isinstance(text, str):
            raise TypeError(f"count() needs a str, not {type(text).__name__}")
        if not text:
            return 0
        key = self._key(text) if self._cache_size else None
        if key is not None:
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
                    self._hits += 1
                    self._chars_seen += len(text)
                    self._tokens_seen += cached
                    return cached
        tokens = self._count_uncached(text)
        with self._lock:
            self._misses += 1
            self._chars_seen += len(text)
            self._tokens_seen += tokens
            if key is not None:
                self._cache[key] = tokens
                self._cache.move_to_end(key)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return tokens

    def count_many(self, texts: Iterable[str]) -> list[int]:
        """`count` of each text, in order."""
        return [self.count(text) for text in texts]

    @staticmethod
    def estimate(text: str) -> int:
        """The raw character-class estimate (see the module function `estimate`)."""
        return estimate(text)

    @staticmethod
    def _key(text: str) -> bytes:
        # A 128-bit digest: collisions are out of the question at cache sizes, and the
        # key is 16 bytes whatever the text's size.
        return hashlib.blake2b(_utf8(text), digest_size=16).digest()

    def _count_uncached(self, text: str) -> int:
        counter = self._counter()
        if counter is None or len(text) > self._exact_limit:
            return _conservative_estimate(text)
        total = 0
        for piece, hard_cut in _pieces(text, PIECE_CHARS):
            total += self._count_piece(counter, piece) + hard_cut
        return total

    @staticmethod
    def _count_piece(counter: _PieceCounter, piece: str) -> int:
        try:
            return counter(piece)
        except UnicodeEncodeError:
            return counter(_sanitize(piece))
        except Exception as exc:  # a tokenizer bug must not take the packer down
            _log.warning("tokenizer failed on a %d-char piece, estimating: %s", len(piece), exc)
            return _conservative_estimate(piece)

    # -- budgets ------------------------------------------------------------

    @property
    def margin(self) -> float:
        """The multiplier budgets use now (`DEFAULT_SAFETY_MARGIN` until calibrated)."""
        with self._lock:
            return self._margin

    def with_margin(self, tokens: int) -> int:
        """``ceil(tokens * margin)``: what ``tokens`` counted tokens may cost the model."""
        if tokens < 0:
            raise ValueError(f"tokens must be >= 0, not {tokens!r}")
        return math.ceil(tokens * self.margin)

    def budget_count(self, text: str) -> int:
        """`count` with the margin applied: the figure to add up against a budget."""
        return self.with_margin(self.count(text))

    def fits(self, tokens_or_text: int | str, budget: int) -> bool:
        """True if ``tokens_or_text`` (a raw count, or a text) fits ``budget`` after the margin."""
        tokens = self.count(tokens_or_text) if isinstance(tokens_or_text, str) else tokens_or_text
        return self.with_margin(tokens) <= budget

    def usable(self, budget: int) -> int:
        """The largest raw count that `fits` ``budget`` (what a packer may fill up to)."""
        if budget <= 0:
            return 0
        margin = self.margin
        raw = math.floor(budget / margin)
        # Float rounding can put floor(budget/margin) one off either way; settle it
        # against the exact test `fits` uses.
        while raw > 0 and math.ceil(raw * margin) > budget:
            raw -= 1
        while math.ceil((raw + 1) * margin) <= budget:
            raw += 1
        return raw

    # -- calibration --------------------------------------------------------

    def calibrate(
        self, chars_sent: int, tokens_reported: int, *, tokens_counted: int | None = None
    ) -> float:
        """Feed back what the model reported for a request; returns the new margin.

        The sample's ratio is ``tokens_reported / tokens_counted``. Without
        ``tokens_counted`` our count is inferred from ``chars_sent`` and the chars per
        token of everything this counter has counted so far (§14's 3 chars/token before
        that). Samples under `MIN_CALIBRATION_TOKENS` or with an implausible ratio are
        ignored. The running ratio is an EMA (`CALIBRATION_ALPHA`); the margin is that
        ratio times `CALIBRATION_HEADROOM`, clamped to [`MIN_MARGIN`, `MAX_MARGIN`], and
        before `MIN_CALIBRATION_SAMPLES` samples it may only grow above the default.

        Parameters
        ----------
        chars_sent:
            Characters of input text sent in the request.
        tokens_reported:
            The model's total input tokens for it (``input_tokens`` plus the cache
            fields).
        tokens_counted:
            Our `count` of the same input, when the caller has it (more precise).
        """
        if chars_sent < 0 or tokens_reported < 0:
            raise ValueError("chars_sent and tokens_reported must be >= 0")
        if tokens_counted is not None and tokens_counted < 0:
            raise ValueError("tokens_counted must be >= 0")
        with self._lock:
            if tokens_reported < MIN_CALIBRATION_TOKENS:
                return self._margin
            expected = (
                float(tokens_counted)
                if tokens_counted is not None
                else chars_sent * self._tokens_per_char()
            )
            if expected <= 0:
                return self._margin
            ratio = tokens_reported / expected
            if not _PLAUSIBLE_RATIO[0] <= ratio <= _PLAUSIBLE_RATIO[1]:
                _log.debug("calibration sample ignored: implausible ratio %.3f", ratio)
                return self._margin
            self._samples += 1
            if self._ratio is None:
                self._ratio = ratio
            else:
                self._ratio += CALIBRATION_ALPHA * (ratio - self._ratio)
            self._margin = self._margin_for(self._ratio, self._samples)
            return self._margin

    def calibration(self) -> Calibration:
        """A snapshot of the calibration state."""
        with self._lock:
            return Calibration(self._samples, self._ratio, self._margin)

    def reset_calibration(self) -> None:
        """Forget all samples (e.g. when the user switches model): back to the default margin."""
        with self._lock:
            self._samples = 0
            self._ratio = None
            self._margin = self._base_margin

    def _tokens_per_char(self) -> float:
        if self._chars_seen == 0 or self._tokens_seen == 0:
            return _DEFAULT_TOKENS_PER_CHAR
        return self._tokens_seen / self._chars_seen

    def _margin_for(self, ratio: float, samples: int) -> float:
        margin = ratio * CALIBRATION_HEADROOM
        if samples < MIN_CALIBRATION_SAMPLES:
            margin = max(margin, self._base_margin)
        return min(MAX_MARGIN, max(MIN_MARGIN, margin))

    # -- cache --------------------------------------------------------------

    def cache_info(self) -> CacheInfo:
        """Hit/miss counters and size of the per-text cache."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._cache), self._cache_size)

    def clear_cache(self) -> None:
        """Drop every cached count (statistics are kept)."""
        with self._lock:
            self._cache.clear()
