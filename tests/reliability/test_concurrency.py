"""Cancellation and concurrency: overlapping requests, ``$/cancelRequest``, shutdown.

The real server gets bursts of overlapping inline-completion (and fallback completion)
requests on several documents, with random ``$/cancelRequest``s and edits in between,
against a fake whose answers start late and stream slowly. Checked: every request gets
exactly one answer (a result or *request cancelled*), none is lost or hangs; answers
never cross documents; superseded HTTP streams are closed (the fake counts the hang-ups,
and never sees more simultaneous streams than documents x endpoints); afterwards nothing
is left open (streams, connections) and a second burst leaves threads, descriptors and
memory where the first left them. The server exposes no task count (``minimax.status``
has none), so leaked tasks are checked indirectly: the process figures above and the
server log (no "Task was destroyed but it is pending", no unretrieved exceptions).

Numbers and commands: ``docs/reliability.md`` (section *Cancellation and concurrency*).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import MiniMaxTestClient, plain
from tests.fake_minimax import FakeMiniMax, Fault, RecordedRequest, Reply
from tests.reliability._r2_harness import (
    NO_CAPS,
    REQUEST_CANCELLED,
    Document,
    ProcSample,
    cancel,
    generate_tree,
    inline_items,
    launch,
    model_requests,
    poll,
    sample_process,
    send_inline,
)
from tests.reliability.soak import Typist

#: Documents typed into at once.
DOCUMENTS = 4
#: Requests per burst (two bursts).
BURST = 200
#: Idle connections to the model endpoint tolerated after the bursts (see below).
MAX_IDLE_CONNECTIONS = 12
_CURRENT_FILE = re.compile(r'<current_file path="([^"]+)"')

Responder = Callable[[RecordedRequest], "Reply | Fault"]


def _prompt_text(request: RecordedRequest) -> str:
    body: Any = request.body or {}
    parts = [b.get("text", "") for b in body.get("system", []) if isinstance(b, dict)]
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts += [b.get("text", "") for b in content or [] if isinstance(b, dict)]
    return "\n".join(parts)


def marker(path: str) -> str:
    """The completion the fake gives for the document at ``path`` (``m003`` ->)."""
    return f"mark_{Path(path).stem}()"


def slow_per_document(seed: int) -> Responder:
    """Answers naming the request's current file, after 0-300 ms, streamed in 4 pieces."""
    rng = random.Random(seed)

    def respond(request: RecordedRequest) -> Reply | Fault:
        found = _CURRENT_FILE.findall(_prompt_text(request))
        text = f"<completion>{marker(found[-1]) if found else 'unknown()'}</completion>"
        return Fault.slow_first_byte(
            rng.uniform(0.0, 0.3), then=Reply(text=text, chunks=4, tps=300)
        )

    return respond


@dataclass
class Burst:
    """Requests of one burst: id -> (document, lane), the futures, the cancels sent."""

    sent: dict[str, tuple[Document, str]] = field(default_factory=dict)
    futures: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    max_open_streams: int = 0


def _send_fallback(client: MiniMaxTestClient, typist: Typist, msg_id: str) -> asyncio.Future[Any]:
    params = types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=typist.document.uri),
        position=types.Position(line=typist.line, character=typist.column),
    )
    return asyncio.ensure_future(
        client.protocol.send_request_async(types.TEXT_DOCUMENT_COMPLETION, params, msg_id=msg_id)
    )


async def run_burst(
    client: MiniMaxTestClient, fake: FakeMiniMax, typists: list[Typist], tag: str, seed: int
) -> Burst:
    """`BURST` overlapping requests: edits 40 %, fallback lane 10 %, cancels 25 %."""
    rng = random.Random(seed)
    burst = Burst()
    watching = True

    async def watch() -> None:
        while watching:
            burst.max_open_streams = max(burst.max_open_streams, fake.open_streams)
            await asyncio.sleep(0.005)

    watcher = asyncio.ensure_future(watch())
    for n in range(BURST):
        typist = typists[rng.randrange(len(typists))]
        if rng.random() < 0.4:
            typist.key(rng.choice("abcxyz_("))
        msg_id = f"{tag}-{n}"
        if rng.random() < 0.1:
            burst.futures[msg_id] = _send_fallback(client, typist, msg_id)
            burst.sent[msg_id] = (typist.document, "completion")
        else:
            burst.futures[msg_id] = send_inline(
                client, typist.document.uri, typist.line, typist.column, msg_id
            )
            burst.sent[msg_id] = (typist.document, "inline")
        if rng.random() < 0.25:
            # Mostly one of the last few (likely still pending), sometimes any.
            recent = list(burst.futures)[-5:] if rng.random() < 0.8 else list(burst.futures)
            victim = rng.choice(recent)
            cancel(client, victim)
            burst.cancelled.add(victim)
        await asyncio.sleep(rng.uniform(0.0, 0.015))
    await asyncio.wait_for(
        asyncio.gather(*burst.futures.values(), return_exceptions=True), timeout=30
    )
    watching = False
    await watcher
    return burst


def check_answers(client: MiniMaxTestClient, burst: Burst) -> Counter[str]:
    """Exactly one well-formed answer per request, of an allowed kind, no crosstalk."""
    responses = Counter(
        str(m["id"])
        for m in client.raw
        if "id" in m and "method" not in m and str(m["id"]) in burst.sent
    )
    assert set(responses) == set(burst.sent), set(burst.sent) - set(responses)
    assert max(responses.values()) == 1, [k for k, v in responses.items() if v > 1]
    kinds: Counter[str] = Counter()
    for msg_id, future in burst.futures.items():
        document, lane = burst.sent[msg_id]
        exc = future.exception() if not future.cancelled() else None
        if exc is not None:
            assert isinstance(exc, JsonRpcException), repr(exc)
            assert exc.code == REQUEST_CANCELLED, (msg_id, exc)
            assert msg_id in burst.cancelled, msg_id  # only cancelled requests say so
            kinds["cancelled"] += 1
            continue
        result = future.result()
        if lane == "inline":
            texts = [item.insert_text for item in inline_items(result)]
        else:
            items = result.items if isinstance(result, types.CompletionList) else result or []
            texts = [item.label for item in items]
        for text in texts:
            assert isinstance(text, str) and text.endswith(marker(str(document.path))), (
                msg_id,
                text,
                document.path,
            )
        kinds[f"{lane}-{'suggestion' if texts else 'empty'}"] += 1
    return kinds


def _log_problems(log: Path) -> list[str]:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    bad = (
        "Task was destroyed but it is pending",
        "exception was never retrieved",
        "Traceback",
        " ERROR ",
        " CRITICAL ",
    )
    return [line for line in text.splitlines() if any(b in line for b in bad)]


@pytest.mark.slow
async def test_overlapping_completions_with_cancels_and_edits(
    tmp_path: Path, fake_minimax: FakeMiniMax
) -> None:
    paths = generate_tree(tmp_path / "workspace", 40)
    log = tmp_path / "server.log"
    options = {
        **NO_CAPS,
        "logLevel": "warning",
        "logFile": str(log),
        "inlineCompletion": {"fallback": "on"},
    }
    fake_minimax.set_default(slow_per_document(seed=5))
    samples: list[ProcSample] = []
    figures: dict[str, Any] = {}
    async with launch(fake_minimax, tmp_path, tmp_path / "workspace", init_options=options) as c:
        pid = c.process.pid
        typists = []
        for path in paths[:DOCUMENTS]:
            document = Document(c, path)
            document.open()
            typist = Typist(c, document)
            typist.new_line()
            typists.append(typist)
        for round_ in range(2):
            burst = await run_burst(c, fake_minimax, typists, f"b{round_}", seed=round_)
            kinds = check_answers(c, burst)
            # Latest wins per document and endpoint: never more live streams than that.
            assert burst.max_open_streams <= 2 * DOCUMENTS, burst.max_open_streams
            await poll(lambda: fake_minimax.open_streams == 0, limit=5)
            await asyncio.sleep(1.0)  # let closed sockets and worker threads settle
            samples.append(sample_process(pid, fake_minimax.port))
            figures[f"burst{round_}"] = {
                **kinds,
                "cancels_sent": len(burst.cancelled),
                "max_open_streams": burst.max_open_streams,
                "model_requests": len(model_requests(fake_minimax)),
                "client_disconnects": fake_minimax.client_disconnects,
                "rss_kib": samples[-1].rss_kib,
                "threads": samples[-1].threads,
                "fds": samples[-1].fds,
                "connections": dict(samples[-1].connections),
            }
        # Superseded and cancelled streams were hung up on (the fake saw it).
        assert fake_minimax.client_disconnects >= BURST // 4
        first, second = samples
        assert second.threads <= first.threads + 1, figures
        assert second.rss_kib <= first.rss_kib * 1.10, figures
        # Requests cancelled while their connection was being opened leave idle sockets
        # (never used, the fake waits for a request line) until they are collected: a
        # plateau of ~7 over 8 bursts was measured. Bounded, not zero.
        assert second.open_connections <= MAX_IDLE_CONNECTIONS, figures
        assert second.fds <= first.fds + MAX_IDLE_CONNECTIONS, figures
        # Still healthy: every document gets its own suggestion.
        fake_minimax.set_default(slow_per_document(seed=9))
        for typist in typists:
            typist.key(" ")
            result = await asyncio.wait_for(typist.request("after"), 15)
            assert [i.insert_text for i in inline_items(result)] == [
                marker(str(typist.document.path))
            ]
    print(json.dumps(figures))  # for docs/reliability.md (pytest -s)
    assert _log_problems(log) == []


async def test_cancelled_streaming_commands_close_their_streams(
    tmp_path: Path, fake_minimax: FakeMiniMax
) -> None:
    """Twelve explain/chat answers streaming at once; six cancelled mid-stream, two from
    their progress: each cancelled one answers *request cancelled*, sends no delta after
    that, and its HTTP stream closes; the others finish with deltas == markdown."""
    paths = generate_tree(tmp_path / "workspace", 12)
    slow = "word " * 300  # 300 tokens at 100 tokens/s: 3 s unless someone hangs up
    fake_minimax.set_default(lambda _request: Reply(text=slow, tps=100, chunks=60))
    async with launch(fake_minimax, tmp_path, tmp_path / "workspace", init_options=NO_CAPS) as c:
        document = Document(c, paths[2])
        document.open()
        rng = {"start": {"line": 0, "character": 0}, "end": {"line": 20, "character": 0}}
        futures: dict[str, asyncio.Future[Any]] = {}
        for n in range(12):
            command = "minimax.chat" if n % 2 else "minimax.explain"
            arguments: dict[str, Any] = {"requestId": f"r{n}"}
            if command == "minimax.chat":
                arguments["prompt"] = f"question {n}"
            else:
                arguments.update(uri=document.uri, range=rng)
            params = types.ExecuteCommandParams(command=command, arguments=[arguments])
            futures[f"r{n}"] = asyncio.ensure_future(
                c.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, f"cmd{n}")
            )
        await poll(lambda: len({d["requestId"] for d in c.deltas}) == 12, limit=10)
        for n in range(0, 12, 2):  # six by $/cancelRequest
            cancel(c, f"cmd{n}")
        tokens = [t for t, reports in c.progress_reports.items() if len(reports) >= 1]
        progress_cancelled = 0
        for token in tokens[:2]:  # two from their progress (may hit a cancelled one)
            c.protocol.notify(
                types.WINDOW_WORK_DONE_PROGRESS_CANCEL,
                types.WorkDoneProgressCancelParams(token=token),
            )
            progress_cancelled += 1
        results = await asyncio.wait_for(
            asyncio.gather(*futures.values(), return_exceptions=True), 20
        )
        cancelled = finished = 0
        for (request_id, future), result in zip(futures.items(), results, strict=True):
            assert not future.cancelled()
            if isinstance(result, JsonRpcException):
                assert result.code == REQUEST_CANCELLED, result
                cancelled += 1
                answer_at = next(
                    i
                    for i, m in enumerate(c.raw)
                    if m.get("id") == f"cmd{request_id[1:]}" and "method" not in m
                )
                await asyncio.sleep(0)
                late = [
                    i
                    for i, m in enumerate(c.raw)
                    if m.get("method") == "minimax/streamDelta"
                    and plain(m["params"])["requestId"] == request_id
                    and i > answer_at
                ]
                assert late == [], (request_id, late)
            else:
                assert not isinstance(result, BaseException), result
                streamed = "".join(
                    d["text"]
                    for d in c.deltas
                    if d["requestId"] == request_id and d.get("kind") is None
                )
                assert result["markdown"] == streamed, request_id
                assert streamed.split() == slow.split(), request_id
                finished += 1
        assert cancelled >= 6 and cancelled + finished == 12
        await poll(lambda: fake_minimax.open_streams == 0, limit=5)
        assert fake_minimax.client_disconnects >= cancelled
        assert progress_cancelled == 2


async def _shutdown_with_in_flight(
    tmp_path: Path, fake: FakeMiniMax, *, completions: int, commands: int
) -> None:
    """Send requests that wait on a slow model, then ``shutdown`` + ``exit``: the shutdown
    is answered without error within 5 s, the process exits 0, every model request is
    hung up on."""
    paths = generate_tree(tmp_path / "workspace", 12)
    fake.set_default(
        lambda _request: Fault.slow_first_byte(20, then=Reply(text="<completion>x</completion>"))
    )
    async with launch(fake, tmp_path, tmp_path / "workspace", init_options=NO_CAPS) as c:
        pending = []
        for n, path in enumerate(paths[: max(completions, commands)]):
            document = Document(c, path)
            document.open()
            typist = Typist(c, document)
            typist.new_line()
            typist.key("v")
            if n < completions:
                pending.append(typist.request(f"slow{n}"))
            if n < commands:
                selection = {
                    "start": {"line": 0, "character": 0},
                    "end": {"line": 5, "character": 0},
                }
                params = types.ExecuteCommandParams(
                    command="minimax.explain", arguments=[{"uri": document.uri, "range": selection}]
                )
                pending.append(
                    asyncio.ensure_future(
                        c.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params)
                    )
                )
        await poll(lambda: len(model_requests(fake)) == completions + commands, limit=10)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await asyncio.wait_for(c.shutdown_session(), 10)  # shutdown, then exit
            await asyncio.wait_for(c.process.wait(), 10)
        finally:
            for future in pending:
                future.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        assert loop.time() - started < 5
        assert c.process.returncode == 0
        hung_up = completions + commands
        assert fake.wait_for(lambda: fake.client_disconnects == hung_up, timeout=5)


async def test_shutdown_with_completions_in_flight(
    tmp_path: Path, fake_minimax: FakeMiniMax
) -> None:
    await _shutdown_with_in_flight(tmp_path, fake_minimax, completions=8, commands=0)


async def test_shutdown_with_a_command_in_flight(tmp_path: Path, fake_minimax: FakeMiniMax) -> None:
    await _shutdown_with_in_flight(tmp_path, fake_minimax, completions=2, commands=2)
