"""The API key never shows up: not in logs (any logger, DEBUG), exception text, reprs or
tracebacks, over failing and succeeding exchanges in both wire formats. Prompts never
appear in INFO-level logs."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator

import httpx
import pytest

from minimax_lsp.server.model import (
    AuthError,
    ClientConfig,
    ConnectionFailed,
    ModelClient,
    ModelError,
    ModelRequest,
    RetryPolicy,
    Secret,
    SpendCaps,
    StreamInterrupted,
)
from tests.fake_minimax import FakeMiniMax, Fault, Reply

from .support import RecordingSleep

GOOD_KEY = "sk-SECRET-good-7f3a9c1e2d"
BAD_KEY = "sk-SECRET-wrong-5e6d7c8b9a"
PROMPT = "PROMPT-MARKER-please-keep-this-out-of-info-logs"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        stack.extend(e for e in (cur.__cause__, cur.__context__) if e is not None)


def _assert_clean(exc: ModelError) -> None:
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(vars(exc))]
    for text in texts:
        assert GOOD_KEY not in text and BAD_KEY not in text
    # Nothing in the chain holds an httpx exception (which would hold the request headers).
    assert not any(isinstance(e, httpx.HTTPError) for e in _chain(exc))


def _client(fake: FakeMiniMax, key: str, api: str) -> ModelClient:
    base = fake.anthropic_base_url if api == "anthropic" else fake.openai_base_url
    config = ClientConfig(
        base_url=base,
        api=api,  # type: ignore[arg-type]
        api_key=Secret(key),
        retry=RetryPolicy(max_attempts=2),
        spend=SpendCaps(automatic_requests_per_minute=None),
    )
    return ModelClient(config, sleep=RecordingSleep(), rng=lambda: 0.0)


@pytest.mark.parametrize("api", ["anthropic", "openai"])
async def test_key_never_leaks(
    fake_minimax_factory: Callable[..., FakeMiniMax], caplog: pytest.LogCaptureFixture, api: str
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx, httpcore, asyncio
    fake = fake_minimax_factory(api_key=GOOD_KEY)
    request = ModelRequest.simple(PROMPT, max_tokens=256)
    errors: list[ModelError] = []

    bad = _client(fake, BAD_KEY, api)
    with pytest.raises(AuthError) as info:
        await bad.complete(request)
    errors.append(info.value)
    await bad.aclose()

    good = _client(fake, GOOD_KEY, api)
    fake.enqueue(Fault.http(500), Reply(text="fine"))
    assert (await good.complete(request)).text == "fine"
    fake.enqueue(Fault.abrupt_close(after_text="half"))
    with pytest.raises(StreamInterrupted) as interrupted:
        async for _ in good.stream(request):
            pass
    errors.append(interrupted.value)
    fake.set_offline(True)
    with pytest.raises(ConnectionFailed) as offline:
        await good.complete(request)
    errors.append(offline.value)
    fake.set_offline(False)
    assert GOOD_KEY not in repr(good.config) and GOOD_KEY not in repr(good)
    await good.aclose()

    for error in errors:
        _assert_clean(error)
    assert caplog.records, "the exchange should have produced debug logs"
    for record in caplog.records:
        rendered = record.getMessage() + repr(record.args) + (record.exc_text or "")
        assert GOOD_KEY not in rendered and BAD_KEY not in rendered, record.name
        if record.levelno >= logging.INFO:
            assert PROMPT not in rendered, record.name
    assert any("model call done" in r.getMessage() for r in caplog.records)
    assert GOOD_KEY not in caplog.text and BAD_KEY not in caplog.text
