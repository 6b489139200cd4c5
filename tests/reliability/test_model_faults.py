"""Model faults through the fake MiniMax: the retry table (minimax-api.md §13) end to end.

Every row of the table is injected into the real server, through ``minimax.explain``
(streamed; retries only while nothing was shown), code-action resolve and
``minimax.refactor`` (edits; nothing is shown until the end), and inline completions
(one attempt per keystroke). Checked per row: the number of HTTP attempts, the wait
between them (the backoff family, the server's ``retry-after`` within 60 s), a bounded
total time, the error sentence, one message per persistent problem, statuses; across
rows: no retry storm (the circuit breaker), no CPU spin while offline, and recovery.

Numbers and commands: ``docs/reliability.md`` (section *Model faults*).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.conftest import MiniMaxTestClient, wait_for_status
from tests.fake_minimax import FakeMiniMax, Fault, Reply
from tests.reliability._r2_harness import (
    NO_CAPS,
    CommandOutcome,
    Document,
    generate_tree,
    inline_items,
    launch,
    model_requests,
    poll,
    run_command,
    status_states,
)
from tests.reliability.soak import ANSWER, Typist, run_offline

#: JSON-RPC "request failed" (LSP RequestFailed): what a failed model call answers.
REQUEST_FAILED = -32803
#: The answer after a fault.
RECOVERED = "Recovered answer."
#: Settings of these runs: no spend caps, a short read timeout (the timeout row), a log
#: level that keeps the captured output readable.
OPTIONS = {**NO_CAPS, "requestTimeoutSeconds": 1.0, "logLevel": "warning"}
#: Backoff of the ordinary family (RetryPolicy): 0.5 s * 2**n, jitter down to 75 %.
BASE = 0.5
#: Slack for I/O and scheduling on a loaded 2-core machine.
SLACK = 0.6


@pytest.fixture
def tree(tmp_path: Path) -> list[Path]:
    """A small generated workspace (12 modules)."""
    return generate_tree(tmp_path / "workspace", 12)


@pytest.fixture
async def server(
    tmp_path: Path, tree: list[Path], fake_minimax: FakeMiniMax
) -> AsyncIterator[tuple[MiniMaxTestClient, Document]]:
    """A server on `tree` with one generated module open (VS Code's capabilities)."""
    async with launch(fake_minimax, tmp_path, tmp_path / "workspace", init_options=OPTIONS) as c:
        document = Document(c, tree[3])
        document.open()
        yield c, document


def compute_range(document: Document) -> dict[str, Any]:
    """The ``compute_…`` function of a generated module (whole lines)."""
    first = next(i for i, t in enumerate(document.lines) if t.startswith("def compute_"))
    return {"start": {"line": first, "character": 0}, "end": {"line": first + 8, "character": 0}}


async def explain(
    client: MiniMaxTestClient, fake: FakeMiniMax, document: Document
) -> CommandOutcome:
    return await run_command(
        client, fake, "minimax.explain", {"uri": document.uri, "range": compute_range(document)}
    )


def assert_recovered(outcome: CommandOutcome, *, min_gap: float, max_gap: float) -> None:
    """Two attempts, the answer (streamed once, no duplicate), no message."""
    assert outcome.error is None, outcome.error
    assert len(outcome.attempts) == 2
    assert outcome.result["markdown"] == RECOVERED
    assert outcome.streamed == RECOVERED  # nothing from the failed attempt was shown
    assert outcome.messages == ()
    [gap] = outcome.gaps
    assert min_gap <= gap <= max_gap, gap


def assert_failed_once(outcome: CommandOutcome, *fragments: str) -> None:
    """One attempt, then a request-failed error with one sentence naming the problem."""
    assert len(outcome.attempts) == 1, [a.received_at for a in outcome.attempts]
    assert outcome.error is not None and outcome.error.code == REQUEST_FAILED
    text = str(outcome.error)
    assert "\n" not in text and "test-key" not in text
    for fragment in fragments:
        assert fragment in text, text


# --------------------------------------------------------------------------- retried rows


#: Rows retried after one failure, with the server's retry hint (so the test is quick):
#: the hint is obeyed, the second attempt answers.
HINTED_ROWS: list[tuple[str, Fault]] = [
    ("408", Fault.http(408, retry_after_ms=30)),
    ("409", Fault.http(409, retry_after_ms=30)),
    ("500-1000", Fault.http(500, retry_after_ms=30)),
    ("502", Fault.http(502, retry_after_ms=30)),
    ("503", Fault.http(503, retry_after_ms=30)),
    ("504-1001", Fault.http(504, retry_after_ms=30)),
    ("1013", Fault.http(500, code=1013, retry_after_ms=30)),
    ("1024", Fault.http(500, code=1024, retry_after_ms=30)),
    ("1033", Fault.http(500, code=1033, retry_after_ms=30)),
    ("api_error", Fault.http(400, code=1000, error_type="api_error", retry_after_ms=30)),
    ("429-1002", Fault.http(429, code=1002, retry_after_ms=30)),
    ("429-1041", Fault.http(429, code=1041, retry_after=0.03)),
    ("429-2045", Fault.http(429, code=2045, retry_after_ms=30)),
    ("429", Fault.http(429, code=None, message="rate limit", retry_after_ms=30)),
    ("529-2064", Fault.http(529, retry_after_ms=30)),
]

#: Rows without any hint: the ordinary backoff (0.5 s, jittered) applies; the number is
#: the time the failure itself takes (the read timeout).
UNHINTED_ROWS: list[tuple[str, Fault, float]] = [
    ("connection-reset", Fault.disconnect(), 0.0),
    ("stream-cut", Fault.abrupt_close(), 0.0),
    ("no-message-stop", Fault.abrupt_close(clean_eof=True), 0.0),
    ("midstream-api_error", Fault.midstream_error("api_error", 1000), 0.0),
    # A first byte later than requestTimeoutSeconds (1 s): a read timeout, retried.
    ("timeout", Fault.slow_first_byte(3.0, then=Reply(text="late")), 1.0),
]


async def test_retried_rows_recover_on_the_second_attempt(
    server: tuple[MiniMaxTestClient, Document], fake_minimax: FakeMiniMax
) -> None:
    """Every retryable row: exactly one retry, after the hint or the 0.5 s backoff."""
    client, document = server
    for name, fault in HINTED_ROWS:
        fake_minimax.enqueue(fault, Reply(text=RECOVERED))
        outcome = await explain(client, fake_minimax, document)
        try:
            assert_recovered(outcome, min_gap=0.03, max_gap=0.03 + SLACK)
        except AssertionError as exc:
            raise AssertionError(f"row {name}: {exc}") from None
    for name, fault, timeout in UNHINTED_ROWS:
        fake_minimax.enqueue(fault, Reply(text=RECOVERED))
        outcome = await explain(client, fake_minimax, document)
        try:
            low = timeout + 0.75 * BASE
            assert_recovered(outcome, min_gap=low, max_gap=timeout + BASE + SLACK)
        except AssertionError as exc:
            raise AssertionError(f"row {name}: {exc}") from None
    assert fake_minimax.pending == 0
    assert status_states(client)[-1] == "ready"


@pytest.mark.slow
async def test_backoff_families_and_retry_after_bounds(
    server: tuple[MiniMaxTestClient, Document], fake_minimax: FakeMiniMax
) -> None:
    """No hint: 429 waits >= 2 s (jittered), 529 >= 3 s; a hint over 60 s is ignored;
    a persistent failure stops after 4 attempts with growing waits, in bounded time."""
    client, document = server

    fake_minimax.enqueue(Fault.http(429, code=1041), Reply(text=RECOVERED))
    assert_recovered(await explain(client, fake_minimax, document), min_gap=1.5, max_gap=2.6)
    # retry-after: 120 s is beyond the 60 s the client honours: its own backoff instead.
    fake_minimax.enqueue(Fault.http(429, code=1002, retry_after=120), Reply(text=RECOVERED))
    assert_recovered(await explain(client, fake_minimax, document), min_gap=1.5, max_gap=2.6)
    fake_minimax.enqueue(Fault.http(529), Reply(text=RECOVERED))
    assert_recovered(await explain(client, fake_minimax, document), min_gap=2.25, max_gap=3.6)

    # Persistent 500: 4 attempts, waits ~0.5 / 1 / 2 s (each >= 75 %), then one error.
    fake_minimax.set_sticky(Fault.http(500))
    outcome = await explain(client, fake_minimax, document)
    fake_minimax.set_sticky(None)
    assert len(outcome.attempts) == 4
    for n, gap in enumerate(outcome.gaps):
        assert 0.75 * BASE * 2**n <= gap <= BASE * 2**n + SLACK, outcome.gaps
    assert outcome.seconds <= BASE * (1 + 2 + 4) + 2 * SLACK
    assert outcome.error is not None and outcome.error.code == REQUEST_FAILED
    assert "temporary server error" in str(outcome.error)
    assert outcome.messages == ()  # transient: no popup
    assert "error" not in status_states(client)

    # Persistent 429 with a hint: still 4 attempts at most, then the error.
    fake_minimax.set_sticky(Fault.http(429, code=1002, retry_after_ms=50))
    outcome = await explain(client, fake_minimax, document)
    fake_minimax.set_sticky(None)
    assert len(outcome.attempts) == 4
    assert outcome.error is not None and "rate limit" in str(outcome.error).lower()
    assert outcome.messages == ()


# --------------------------------------------------------------------------- not retried


#: Rows never retried: (fault, words of the error sentence, message kind or None).
NOT_RETRIED = [
    (Fault.http(400, code=1026), "content filter", None),
    (Fault.http(400, code=1027), "content filter", None),
    (Fault.http(400, code=2013, message="invalid params, messages.0: empty"), "rejected", None),
    (Fault.http(413, code=None, message="request too large"), "413", None),
    (Fault.http(401), "rejected the API key", "API key"),
    (Fault.http(401, code=2049), "rejected the API key", "API key"),
    (Fault.http(403, code=None, message="forbidden"), "no access", "API key"),
    (Fault.http(404, code=None, message="model not found"), "does not know", "does not know"),
    (Fault.http(402), "balance", "quota-or-balance"),
    (Fault.http(429, code=2056), "quota", "quota-or-balance"),
    (Fault.http(429, code=1028), "quota", "quota-or-balance"),
    (Fault.http(429, code=1030), "quota", "quota-or-balance"),
]


async def test_rows_that_are_never_retried_and_one_message_per_problem(
    server: tuple[MiniMaxTestClient, Document], fake_minimax: FakeMiniMax
) -> None:
    client, document = server
    messages_before = len(client.messages)
    for fault, words, _kind in NOT_RETRIED:
        fake_minimax.set_sticky(fault)
        for _ in range(2):  # asked twice: still one attempt each, one message per kind
            outcome = await explain(client, fake_minimax, document)
            try:
                assert_failed_once(outcome, words)
            except AssertionError as exc:
                raise AssertionError(f"{fault.status} ({fault.code}): {exc}") from None
    fake_minimax.set_sticky(None)
    shown = [m.message for m in client.messages[messages_before:]]
    # One message per persistent kind: key (401/2049/403 share it), model, quota/balance.
    assert len(shown) == 3, shown
    assert sum("API key" in m for m in shown) == 1
    assert sum("does not know" in m for m in shown) == 1
    assert sum("quota" in m or "balance" in m for m in shown) == 1
    assert all("test-key" not in m for m in shown)
    assert status_states(client)[-1] == "error"
    # The next success clears the problem.
    fake_minimax.enqueue(Reply(text=RECOVERED))
    assert (await explain(client, fake_minimax, document)).error is None
    await wait_for_status(client, "ready", after=len(client.statuses) - 1)


async def test_context_overflow_compacts_and_resends_once(
    server: tuple[MiniMaxTestClient, Document], fake_minimax: FakeMiniMax
) -> None:
    client, document = server
    for code in (2013, 1039):
        fake_minimax.enqueue(Fault.http(400, code=code), Reply(text=RECOVERED))
        outcome = await explain(client, fake_minimax, document)
        assert outcome.error is None and outcome.result["markdown"] == RECOVERED
        first, second = outcome.attempts
        assert len(second.raw_body) < len(first.raw_body)  # compacted, not the same request
    # Still too long after compacting: the error, after exactly two attempts.
    fake_minimax.enqueue(Fault.http(400, code=2013), Fault.http(400, code=2013))
    outcome = await explain(client, fake_minimax, document)
    assert len(outcome.attempts) == 2
    assert outcome.error is not None and "context window" in str(outcome.error)
    assert outcome.messages == ()


async def test_stream_failures_after_text_was_shown_are_not_retried(
    server: tuple[MiniMaxTestClient, Document], fake_minimax: FakeMiniMax
) -> None:
    """A mid-stream error or cut after deltas reached the user: one attempt, an error.
    Resolve (nothing shown until the end) restarts the turn instead."""
    client, document = server
    shown = "word " * 3000  # beyond the think-tag hold-back: streamed to the client at once
    fake_minimax.enqueue(Fault.midstream_error(after_text=shown), Reply(text=RECOVERED))
    outcome = await explain(client, fake_minimax, document)
    assert_failed_once(outcome, "overloaded")
    assert outcome.streamed.startswith("word word")
    fake_minimax.reset()
    fake_minimax.enqueue(Fault.abrupt_close(after_text=shown), Reply(text=RECOVERED))
    outcome = await explain(client, fake_minimax, document)
    assert_failed_once(outcome, "broke off")
    fake_minimax.reset()
    # A mid-stream authentication error is classified as such: not retried, one message.
    fake_minimax.enqueue(Fault.midstream_error("authentication_error", 1004), Reply(text="x"))
    outcome = await explain(client, fake_minimax, document)
    assert_failed_once(outcome, "API key")
    assert len(outcome.messages) == 1
    fake_minimax.reset()

    # codeAction/resolve: the whole turn is restarted after a cut (nothing was shown).
    action = types.CodeAction(
        title="MiniMax: Refactor…",
        data={
            "uri": document.uri,
            "version": document.version,
            "range": compute_range(document),
            "kind": "refactor",
        },
    )
    code = "def compute_x(values, default=0):\n    return sum(values) * 2 or default"
    fake_minimax.enqueue(
        Fault.abrupt_close(after_text="<replacement>\n" + shown),
        Reply(text=f"<replacement>\n{code}\n</replacement>"),
    )
    resolved = await asyncio.wait_for(client.code_action_resolve_async(action), 20)
    assert len(model_requests(fake_minimax)) == 2
    assert resolved.edit is not None


async def test_refactor_command_restarts_a_cut_stream_like_resolve(
    server: tuple[MiniMaxTestClient, Document], fake_minimax: FakeMiniMax
) -> None:
    client, document = server

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(
        ls: MiniMaxTestClient, params: types.ApplyWorkspaceEditParams
    ) -> types.ApplyWorkspaceEditResult:
        return types.ApplyWorkspaceEditResult(applied=True)

    code = "def compute_x(values, default=0):\n    return sum(values) * 2 or default"
    fake_minimax.enqueue(
        Fault.abrupt_close(after_text="<replacement>\n" + "word " * 3000),
        Reply(text=f"<replacement>\n{code}\n</replacement>"),
    )
    outcome = await run_command(
        client,
        fake_minimax,
        "minimax.refactor",
        {"uri": document.uri, "range": compute_range(document)},
    )
    assert outcome.error is None, outcome.error
    assert outcome.result == {"applied": True}


# --------------------------------------------------------------------------- no storms


async def test_no_retry_storm_under_persistent_overload(
    server: tuple[MiniMaxTestClient, Document], fake_minimax: FakeMiniMax
) -> None:
    """Eight explains at once against a persistent 529: the circuit breaker stops the
    retries after 5 consecutive failures (not 8 x 4 = 32 attempts); then calls fail fast
    without any HTTP request."""
    client, document = server
    fake_minimax.set_sticky(Fault.http(529, retry_after_ms=50))
    outcomes = await asyncio.gather(*(explain(client, fake_minimax, document) for _ in range(8)))
    attempts = len(model_requests(fake_minimax))
    assert all(o.error is not None and o.error.code == REQUEST_FAILED for o in outcomes)
    assert 8 <= attempts <= 12, attempts  # every call tried once; few retries before it opened
    fast = await explain(client, fake_minimax, document)
    assert fast.attempts == ()  # the breaker answers without touching the network
    assert fast.error is not None and "not trying again" in str(fast.error)
    assert fast.seconds < 0.5


async def test_completions_make_one_attempt_per_keystroke(
    server: tuple[MiniMaxTestClient, Document], fake_minimax: FakeMiniMax
) -> None:
    """Inline completion never retries (the next keystroke is the retry), never shows a
    popup for a transient fault, and shows one message for a persistent one. A rejected
    key or a used-up quota holds automatic requests: one request, then none at all until
    a user-invoked command succeeds (or the settings change)."""
    client, document = server
    fake_minimax.set_default(lambda _request: Reply(text=ANSWER))
    typist = Typist(client, document)
    typist.new_line()

    async def keystroke() -> list[types.InlineCompletionItem]:
        typist.key("x")
        return inline_items(await asyncio.wait_for(typist.request("fault"), 15))

    assert await keystroke()  # the path works
    transient = [
        Fault.http(500),
        Fault.http(529),  # no hint: a retry would wait >= 2.25 s; none happens
        Fault.http(429, code=1002),
        Fault.midstream_error(after_text=""),
        Fault.abrupt_close(after_text="zz_"),  # cut after some text: StreamInterrupted
    ]
    messages_before = len(client.messages)
    for fault in transient:
        fake_minimax.set_sticky(fault)
        before = len(model_requests(fake_minimax))
        for _ in range(3):
            assert await keystroke() == []
        assert len(model_requests(fake_minimax)) - before == 3, fault
        fake_minimax.set_sticky(None)
        assert await keystroke()  # the next keystroke recovers (and resets the breaker)
    assert client.messages[messages_before:] == []
    assert "error" not in status_states(client)

    for fault, words in ((Fault.http(401), "API key"), (Fault.http(429, code=2056), "quota")):
        fake_minimax.set_sticky(fault)
        before = len(model_requests(fake_minimax))
        for _ in range(5):
            assert await keystroke() == []
        assert len(model_requests(fake_minimax)) - before == 1  # then held: nothing sent
        shown = [m.message for m in client.messages[messages_before:] if words in m.message]
        assert len(shown) == 1, shown
        assert "paused" in shown[0]
        await wait_for_status(client, "error")
        fake_minimax.set_sticky(None)
        assert await keystroke() == []  # the fault is gone, but the hold stands
        assert len(model_requests(fake_minimax)) - before == 1
        # A user-invoked command is never held; its success lifts the hold.
        assert (await explain(client, fake_minimax, document)).error is None
        assert await keystroke()
        await poll(lambda: status_states(client)[-1] == "ready")


async def test_one_dropped_connection_raises_no_popup(
    server: tuple[MiniMaxTestClient, Document], fake_minimax: FakeMiniMax
) -> None:
    """One connection reset (the same for a stream cut before any text) is a blip."""
    client, document = server
    fake_minimax.set_default(lambda _request: Reply(text=ANSWER))
    typist = Typist(client, document)
    typist.new_line()
    fake_minimax.enqueue(Fault.disconnect())
    typist.key("x")
    assert inline_items(await asyncio.wait_for(typist.request("blip"), 15)) == []
    typist.key("x")
    assert inline_items(await asyncio.wait_for(typist.request("blip"), 15))
    await asyncio.sleep(0.2)
    assert client.messages == []
    assert "offline" not in status_states(client)


async def test_openai_wire_base_resp_errors(
    tmp_path: Path, tree: list[Path], fake_minimax: FakeMiniMax
) -> None:
    """The OpenAI endpoint's HTTP 200 + ``base_resp`` errors follow the same table."""
    env = {"MINIMAX_API": "openai", "MINIMAX_BASE_URL": fake_minimax.openai_base_url}
    root = tmp_path / "workspace"
    async with launch(fake_minimax, tmp_path, root, init_options=OPTIONS, env=env) as client:
        document = Document(client, tree[3])
        document.open()
        fake_minimax.enqueue(Fault.base_resp_error(1000), Reply(text=RECOVERED))
        outcome = await explain(client, fake_minimax, document)
        assert_recovered(outcome, min_gap=0.75 * BASE, max_gap=BASE + SLACK)
        assert outcome.attempts[0].path == "/v1/chat/completions"
        fake_minimax.set_sticky(Fault.base_resp_error(1008))
        for _ in range(2):
            assert_failed_once(await explain(client, fake_minimax, document), "balance")
        fake_minimax.set_sticky(None)
        assert sum("balance" in m.message for m in client.messages) == 1
        fake_minimax.enqueue(Fault.http(529, retry_after_ms=30), Reply(text=RECOVERED))
        assert_recovered(await explain(client, fake_minimax, document), min_gap=0.03, max_gap=1)


# --------------------------------------------------------------------------- offline


@pytest.mark.slow
async def test_offline_no_cpu_spin_one_message_and_short_outage_recovery(
    server: tuple[MiniMaxTestClient, Document], fake_minimax: FakeMiniMax
) -> None:
    """~15 s offline while typing at 10 keys/s: the server stays cheap (CPU), the
    breaker keeps HTTP attempts to a handful, requests fail fast, one message in all.
    A short outage (fewer failures than the breaker's threshold) recovers at once."""
    client, document = server
    fake_minimax.set_default(lambda _request: Reply(text=ANSWER))
    typist = Typist(client, document)
    typist.new_line()

    async def keystroke() -> list[types.InlineCompletionItem]:
        typist.key("y")
        return inline_items(await asyncio.wait_for(typist.request("short"), 15))

    assert await keystroke()
    # A short outage: two failed keystrokes, then the endpoint is back.
    fake_minimax.set_offline(True)
    assert await keystroke() == []
    assert await keystroke() == []
    fake_minimax.set_offline(False)
    assert await keystroke()  # the very next completion succeeds
    await poll(lambda: status_states(client)[-1] == "ready")
    typist.erase_line()

    seconds = 15.0
    report = await run_offline(client, fake_minimax, document, seconds, recovery_limit=0)
    assert report.requests >= 0.8 * seconds / 0.1
    assert report.suggestions == 0
    # The breaker: 5 failures open it; then one trial per 2 s cool-down (a connection
    # failure opened it) -- 150 keystrokes must never mean 150 connection attempts.
    assert report.http_attempts <= 5 + math.ceil(seconds / 2) + 1, report
    # No spin: the measured figure is ~6 % of one core; a spinning loop would be ~100 %.
    assert report.cpu_share < 0.3, report
    assert report.latency["p95_ms"] < 300, report  # failing fast, not hanging
    assert set(report.states) == {"offline"}, report
    # One message in all: not for the short outage (two failures are a blip), but once
    # the long one is three failures old; then rate limited.
    unreachable = [m.message for m in client.messages if "unreachable" in m.message]
    assert len(unreachable) == 1, unreachable


async def test_completions_recover_soon_after_a_long_outage(
    server: tuple[MiniMaxTestClient, Document], fake_minimax: FakeMiniMax
) -> None:
    client, document = server
    fake_minimax.set_default(lambda _request: Reply(text=ANSWER))
    typist = Typist(client, document)
    typist.new_line()
    fake_minimax.set_offline(True)
    n = 0
    while len(fake_minimax.requests) < 5 or n < 10:  # enough failures to open the breaker
        n += 1
        typist.key("z")
        assert inline_items(await asyncio.wait_for(typist.request("out"), 15)) == []
        await asyncio.sleep(0.1)
    fake_minimax.set_offline(False)
    # Back online: typing on at 10 keys/s, a suggestion must come within 3 s.
    found = False
    for _ in range(30):
        typist.key("z")
        if inline_items(await asyncio.wait_for(typist.request("back"), 15)):
            found = True
            break
        await asyncio.sleep(0.1)
    assert found, "no suggestion within 3 s after the endpoint came back"
    await poll(lambda: status_states(client)[-1] == "ready", limit=2)
