"""Pieces shared by the two wire formats: the output assembler and the parser protocol.

Contract
--------
* A wire format (`WireFormat`) builds the URL, headers and JSON body of a request and makes
  a `StreamParser` for its response.
* A `StreamParser` is pure (no I/O): it is fed SSE events (name + data) or a whole JSON
  body and returns `StreamEvent`s; `finish()` returns the last events and the
  `ModelResult`, or raises `StreamInterrupted` if the stream ended without its
  terminator. Errors reported inside the stream raise the classified `ModelError`.
* `OutputAssembler` is where answer text passes the think-tag splitter and then the
  stop-sequence filter, so thinking never reaches `TextDelta` and text is cut at the
  first stop sequence whatever the chunking.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import ErrorContext, ModelError, classify_error, fields_from_error_body
from .models import ModelInfo
from .records import (
    ModelRequest,
    ModelResult,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
    estimate_tokens,
)
from .secret import Secret
from .stops import StopSequenceFilter
from .thinktags import Piece, ThinkTagSplitter

__all__ = [
    "OutputAssembler",
    "ParserOptions",
    "StreamParser",
    "WireFormat",
    "as_int",
    "as_map",
    "error_from_payload",
    "parse_json",
]

_log = logging.getLogger("minimax_lsp.model")

Scrub = Callable[[str], str]


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class ParserOptions:
    """What a parser needs to know about the call it parses.

    Attributes
    ----------
    stop_sequences:
        Enforced on the answer text.
    hold_limit:
        Think-tag hold-back (see `thinktags.ThinkTagSplitter`); ``None`` = unbounded.
    may_think:
        Whether reasoning can appear at all (model and request); when false nothing is
        held back waiting for a stray ``</think>``.
    input_estimate:
        Client estimate of the input tokens, used when the server's usage never arrives.
    model:
        The requested model id (the result's ``model`` when the server names none).
    error_context:
        Makes error sentences concrete.
    scrub:
        Removes the key from server text.
    """

    stop_sequences: tuple[str, ...] = ()
    hold_limit: int | None = 0
    may_think: bool = True
    input_estimate: int = 0
    model: str = ""
    error_context: ErrorContext = field(default_factory=ErrorContext)
    scrub: Scrub = _identity


class StreamParser(Protocol):
    """Turns one response into events (see module docstring)."""

    @property
    def complete(self) -> bool:
        """The terminator (``message_stop``, ``[DONE]``, a finish reason) was seen."""
        ...

    @property
    def stopped(self) -> bool:
        """A client-side stop sequence matched: the caller closes the stream now."""
        ...

    def feed(self, event: str, data: str) -> list[StreamEvent]:
        """Consume one SSE event."""
        ...

    def feed_body(self, payload: object) -> list[StreamEvent]:
        """Consume a whole non-streamed JSON body."""
        ...

    def finish(self) -> tuple[list[StreamEvent], ModelResult]:
        """End of input: flush and build the result (raises `StreamInterrupted`)."""
        ...


class WireFormat(Protocol):
    """One API dialect."""

    name: str

    def url(self, base_url: str) -> str:
        """Endpoint URL for a base URL."""
        ...

    def headers(self, key: Secret) -> dict[str, str]:
        """Request headers (the only place the key is revealed)."""
        ...

    def body(self, request: ModelRequest, info: ModelInfo, max_tokens: int) -> dict[str, Any]:
        """JSON request body."""
        ...

    def parser(self, options: ParserOptions) -> StreamParser:
        """A fresh parser for one response."""
        ...


def parse_json(data: str) -> object | None:
    """Parse event data; ``None`` (and a debug log) when it is not JSON."""
    try:
        parsed: object = json.loads(data)
        return parsed
    except ValueError:
        _log.debug("ignoring a stream event whose data is not JSON (%d chars)", len(data))
        return None


def error_from_payload(payload: object, options: ParserOptions) -> ModelError:
    """Classify an error reported inside a 200 response (SSE ``error`` event or
    ``base_resp``)."""
    etype, code, message, rid = fields_from_error_body(payload)
    return classify_error(
        status=None,
        error_type=etype,
        code=code,
        message=options.scrub(message or "error inside the response stream"),
        request_id=rid,
        context=options.error_context,
    )


def as_int(value: object) -> int | None:
    """An int from JSON, or ``None`` (booleans are not counts)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def as_map(value: object) -> Mapping[str, Any]:
    """A JSON object, or an empty mapping for anything else (null, list, string)."""
    return value if isinstance(value, Mapping) else {}


class OutputAssembler:
    """Routes answer text through think-tag splitting and stop sequences.

    Parameters
    ----------
    options:
        Stop sequences and hold-back policy.
    anywhere:
        Whether think tags are honoured after the answer has started (OpenAI format).
    """

    def __init__(self, options: ParserOptions, *, anywhere: bool) -> None:
        hold = options.hold_limit if options.may_think else 0
        self._splitter = ThinkTagSplitter(hold_limit=hold, anywhere=anywhere)
        self._stops = StopSequenceFilter(options.stop_sequences)
        self._text: list[str] = []
        self._thinking: list[str] = []

    @property
    def stopped(self) -> bool:
        """Whether a stop sequence cut the text."""
        return self._stops.stopped

    @property
    def stop_sequence(self) -> str | None:
        """The stop sequence that matched."""
        return self._stops.matched

    @property
    def text(self) -> str:
        """All answer text emitted so far."""
        return "".join(self._text)

    @property
    def thinking(self) -> str:
        """All reasoning emitted so far."""
        return "".join(self._thinking)

    @property
    def has_output(self) -> bool:
        """Whether any text or thinking was produced."""
        return bool(self._text or self._thinking)

    def add_text(self, chunk: str) -> list[StreamEvent]:
        """Answer text as the server sent it (may contain leaked think tags)."""
        if self.stopped or not chunk:
            return []
        return self._route(self._splitter.feed(chunk))

    def add_thinking(self, chunk: str) -> list[StreamEvent]:
        """Reasoning from a separate channel (thinking block, ``reasoning_details``)."""
        if self.stopped or not chunk:
            return []
        events: list[StreamEvent] = [ThinkingDelta(chunk)]
        self._thinking.append(chunk)
        # Reasoning has its own channel, so text need not wait for a stray </think>.
        events.extend(self._route(self._splitter.release_hold()))
        return events

    def finish(self) -> list[StreamEvent]:
        """Flush held text at the end of the stream."""
        if self.stopped:
            return []
        events = self._route(self._splitter.finish())
        tail = self._stops.finish()
        if tail:
            self._text.append(tail)
            events.append(TextDelta(tail))
        return events

    def _route(self, pieces: list[Piece]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for kind, piece in pieces:
            if self.stopped:
                break
            if kind == "thinking":
                self._thinking.append(piece)
                events.append(ThinkingDelta(piece))
                continue
            out = self._stops.feed(piece)
            if out:
                self._text.append(out)
                events.append(TextDelta(out))
        return events

    def usage_fallback(self, reported: Usage, options: ParserOptions) -> Usage:
        """Usage when the server's final numbers never arrived: estimate the gaps."""
        output = max(reported.output_tokens, estimate_tokens(self.text + self.thinking))
        inp = reported.input_tokens
        if reported.total_input == 0:
            inp = options.input_estimate
        return Usage(
            inp,
            output,
            reported.cache_read_input_tokens,
            reported.cache_creation_input_tokens,
            estimated=True,
        )
