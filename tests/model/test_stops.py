"""Client-side stop sequences: cut across chunk boundaries, HTTP stream closed at once."""

from __future__ import annotations

import pytest

from minimax_lsp.server.model import ModelRequest, StreamDone, TextDelta
from minimax_lsp.server.model.stops import StopSequenceFilter

from .support import ChunkStream, make_client, sse, sse_response

STOPS = ("\nSTOP", "```")
CONTENT = "def f():\n    return 1\nSTOP and the model kept going ``` more"


def _filter_all(chunks: list[str], stops: tuple[str, ...]) -> tuple[str, str | None]:
    flt = StopSequenceFilter(stops)
    out = "".join(flt.feed(c) for c in chunks) + flt.finish()
    return out, flt.matched


@pytest.mark.parametrize("cut", range(1, len(CONTENT)))
def test_stop_found_at_every_two_way_cut(cut: int) -> None:
    assert _filter_all([CONTENT[:cut], CONTENT[cut:]], STOPS) == (
        "def f():\n    return 1",
        "\nSTOP",
    )


def test_stop_found_one_char_at_a_time_and_earliest_wins() -> None:
    assert _filter_all(list(CONTENT), STOPS) == ("def f():\n    return 1", "\nSTOP")
    assert _filter_all(["a ``` b \nSTOP"], STOPS) == ("a ", "```")


def test_partial_stop_at_end_is_released() -> None:
    flt = StopSequenceFilter(("\nSTOP",))
    assert flt.feed("abc\nST") == "abc"
    assert flt.finish() == "\nST"
    assert flt.matched is None


def test_no_stops_passes_through() -> None:
    assert _filter_all(["a", "b"], ()) == ("ab", None)


def _text_stream(parts: list[str]) -> list[bytes]:
    start = sse(
        "message_start",
        {
            "type": "message_start",
            "message": {"id": "m1", "model": "MiniMax-M3", "usage": {"input_tokens": 0}},
        },
    )
    block = sse(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    )
    deltas = [
        sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
        for p in parts
    ]
    end = sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 9},
        },
    )
    return [
        (start + block).encode(),
        *[d.encode() for d in deltas],
        end.encode(),
        sse("message_stop", {"type": "message_stop"}).encode(),
    ]


async def test_client_cuts_text_and_closes_stream_before_reading_on() -> None:
    parts = [
        "def f():\n    return 1\nST",
        "OP and the model kept going",
        " and going",
        " and going",
    ]
    stream = ChunkStream(_text_stream(parts))
    client = make_client(lambda request: sse_response([], stream))
    request = ModelRequest.simple("complete", stop_sequences=("\nSTOP",), input_tokens_hint=40)
    events = [event async for event in client.stream(request)]
    await client.aclose()
    done = events[-1]
    assert isinstance(done, StreamDone)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "def f():\n    return 1"
    assert done.result.text == "def f():\n    return 1"
    assert done.result.stop_reason == "stop_sequence"
    assert done.result.stop_sequence == "\nSTOP"
    # The body was abandoned right after the chunk with the stop sequence.
    assert stream.closed
    assert stream.sent == 3
    # Final usage never arrived: it is estimated (input from the hint, output from chars).
    assert done.result.usage.estimated
    assert done.result.usage.input_tokens == 40
    assert done.result.usage.output_tokens > 0
