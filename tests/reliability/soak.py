"""Soak and offline runs of the real ``minimax-lsp serve`` process (CI-sized and ``--long``).

Run standalone from the repository root with the project's venv::

    python tests/reliability/soak.py                 # CI-sized: 1,500 requests, 15 s offline
    python tests/reliability/soak.py --long          # 10,000 requests, 600 modules, 60 s offline
    python tests/reliability/soak.py --requests 3000 --offline-seconds 30 --json out.json
    python tests/reliability/soak.py --tree PATH   # a tree made by generate_tree, kept

``tests/reliability/test_soak.py`` runs `run_soak` CI-sized and
``tests/reliability/test_model_faults.py`` runs `run_offline` for 15 s; both assert on the
reports. The figures in ``docs/reliability.md`` come from this script.

What the soak does
    A generated workspace (`generate_tree`: ``--modules`` Python modules in packages of
    20 with an import graph) is indexed; the fake MiniMax answers every model request at
    once with a one-line completion that never matches what is typed, so every keystroke
    that the server finds worth completing reaches the model. Spend caps are lifted. An
    editor then works through the modules in a random order, keeping up to
    `OPEN_LIMIT` documents open (the oldest is closed): in each it opens a new line in a
    function body and types `TYPED` one character at a time, an inline completion after
    each character (awaited, as an editor shows ghost text before the next key); every
    `BURST_EVERY` characters it types three characters without waiting, so the first two
    requests are superseded by the third (latest wins); every ``--explain-every``
    requests it runs ``minimax.explain`` (and every third time ``minimax.chat`` in one
    growing conversation). After the line is typed it is deleted again, so documents keep
    their size. The run is cut into ``--segments`` equal segments; the first is the
    warm-up. At the end of each, the server process is sampled from ``/proc``: RSS, open
    file descriptors, threads, TCP connections to the fake.

What the offline run does
    While an editor keeps typing at `TYPING_INTERVAL` (10 keys/s) with a completion per
    key, the fake goes offline (every connection closed without an answer) for
    ``--offline-seconds``. Measured: the server's CPU time over that period (``/proc``,
    all threads) against an idle baseline, the HTTP attempts that reached the fake (the
    circuit breaker should stop them), the messages shown, the statuses, the latency of
    the failing requests. Then the fake comes back and the editor keeps typing until a
    suggestion arrives again (or ``recovery_limit`` seconds pass).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script: make `tests` importable
    sys.path.insert(0, str(REPO_ROOT))

from pygls.exceptions import JsonRpcException  # noqa: E402

from tests.e2e.conftest import MiniMaxTestClient  # noqa: E402
from tests.fake_minimax import FakeMiniMax, Reply  # noqa: E402
from tests.reliability._r2_harness import (  # noqa: E402
    NO_CAPS,
    REQUEST_CANCELLED,
    Document,
    ProcSample,
    generate_tree,
    inline_items,
    launch,
    model_requests,
    percentiles,
    poll,
    run_command,
    sample_process,
    send_inline,
)

#: What the editor types on each new line.
TYPED: Final = "result = compute_total(values, default=None)"
#: The fake's answer: one line no typed prefix matches (so the cache never serves it).
ANSWER: Final = "<completion>zz_soak_marker()</completion>"
#: Documents kept open at once.
OPEN_LIMIT: Final = 8
#: Every this many characters, three are typed without waiting for their completions.
BURST_EVERY: Final = 15
#: Seconds between keys in the offline run (10 keys per second).
TYPING_INTERVAL: Final = 0.1
#: Server settings of the runs: spend caps lifted, a quiet log.
OPTIONS: Final = {**NO_CAPS, "logLevel": "warning"}


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class SoakConfig:
    """Size of a soak run (defaults: the CI-sized run)."""

    requests: int = 1500
    modules: int = 300
    segments: int = 6
    explain_every: int = 150
    seed: int = 11


@dataclass(frozen=True)
class Segment:
    """One segment of the soak: latency of its awaited requests and the process after it."""

    index: int
    requests: int
    latency: dict[str, float]
    rss_kib: int
    fds: int
    threads: int
    connections: int
    open_streams: int
    cpu_seconds: float


@dataclass(frozen=True)
class SoakReport:
    """The outcome of `run_soak` (all counts over the whole run)."""

    config: SoakConfig
    index_seconds: float
    seconds: float
    requests: int
    model_requests: int
    suggestions: int
    superseded: int
    cancelled: int
    unexpected: list[str]
    commands: int
    command_failures: list[str]
    segments: list[Segment]
    final: dict[str, int]
    client_disconnects: int

    @property
    def warm(self) -> Segment:
        """The last warm-up segment (the baseline for growth)."""
        return self.segments[0]

    @property
    def rss_growth(self) -> float:
        """Relative RSS growth from the end of the warm-up to the end of the run."""
        return self.final["rss_kib"] / self.warm.rss_kib - 1.0


@dataclass(frozen=True)
class OfflineReport:
    """The outcome of `run_offline`."""

    seconds: float
    requests: int
    suggestions: int
    http_attempts: int
    cpu_seconds: float
    cpu_share: float
    idle_cpu_share: float
    messages: list[str]
    states: list[str]
    latency: dict[str, float]
    recovered_after: float | None
    states_after: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- typing


class Typist:
    """Types new lines into the ``compute_…`` function of a generated module."""

    def __init__(self, client: MiniMaxTestClient, document: Document) -> None:
        self.client = client
        self.document = document
        self.line = -1
        self.column = 0
        self.sent = 0

    def new_line(self) -> None:
        """Open an empty, indented line before ``    return result``."""
        lines = self.document.lines
        target = next(i for i, text in enumerate(lines) if text == "    return result")
        self.document.insert(target - 1, len(lines[target - 1]), "\n    ")
        self.line, self.column = target, 4

    def erase_line(self) -> None:
        """Delete the typed line (with its line break): the document is as before."""
        previous = self.line - 1
        end = len(self.document.lines[self.line])
        self.document.replace((previous, len(self.document.lines[previous])), (self.line, end), "")
        self.line = -1

    def key(self, char: str) -> None:
        """Type one character at the end of the line."""
        self.document.insert(self.line, self.column, char)
        self.column += 1

    def request(self, tag: str) -> asyncio.Future[Any]:
        """An inline completion at the cursor (id ``tag-N``)."""
        self.sent += 1
        return send_inline(
            self.client, self.document.uri, self.line, self.column, f"{tag}-{self.sent}"
        )


# --------------------------------------------------------------------------- the soak


class _Tally:
    """Counts of one soak run."""

    def __init__(self) -> None:
        self.requests = 0
        self.suggestions = 0
        self.superseded = 0
        self.cancelled = 0
        self.unexpected: list[str] = []
        self.latencies: list[float] = []
        self.commands = 0
        self.command_failures: list[str] = []

    def outcome(self, result: Any, *, burst: bool) -> None:
        self.requests += 1
        if isinstance(result, JsonRpcException):
            if result.code == REQUEST_CANCELLED:
                self.cancelled += 1
            else:
                self.unexpected.append(f"error {result.code}: {result}")
        elif isinstance(result, BaseException):
            self.unexpected.append(f"{type(result).__name__}: {result}")
        elif inline_items(result):
            self.suggestions += 1
        elif burst:
            self.superseded += 1


async def _awaited(tally: _Tally, typist: Typist, tag: str) -> None:
    started = time.monotonic()
    try:
        result: Any = await asyncio.wait_for(typist.request(tag), 30)
    except (JsonRpcException, TimeoutError) as exc:
        result = exc
    tally.latencies.append(time.monotonic() - started)
    tally.outcome(result, burst=False)


async def _burst(tally: _Tally, typist: Typist, text: str, tag: str) -> None:
    """Type ``text`` without waiting: every request but the last is superseded."""
    pending = []
    for char in text:
        typist.key(char)
        pending.append(typist.request(tag))
    results = await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 30)
    for result in results:
        tally.outcome(result, burst=True)


def _segment(
    index: int,
    tally: _Tally,
    starts: tuple[int, int],
    sample: ProcSample,
    fake: FakeMiniMax,
) -> Segment:
    """Close segment ``index``; ``starts``: (requests, awaited latencies) before it."""
    first_request, first_latency = starts
    return Segment(
        index=index,
        requests=tally.requests - first_request,
        latency=percentiles(tally.latencies[first_latency:]),
        rss_kib=sample.rss_kib,
        fds=sample.fds,
        threads=sample.threads,
        connections=sample.open_connections,
        open_streams=fake.open_streams,
        cpu_seconds=sample.cpu_seconds,
    )


async def _command(
    tally: _Tally, client: MiniMaxTestClient, fake: FakeMiniMax, document: Document
) -> None:
    """``minimax.explain`` of the compute function, every third time a chat turn."""
    tally.commands += 1
    lines = document.lines
    first = next(i for i, text in enumerate(lines) if text.startswith("def compute_"))
    selection = {
        "start": {"line": first, "character": 0},
        "end": {"line": first + 7, "character": 0},
    }
    if tally.commands % 3 == 0:
        command = "minimax.chat"
        arguments: dict[str, Any] = {
            "prompt": f"What does {document.path.stem} do?",
            "uri": document.uri,
            "conversationId": "soak-conversation",
        }
    else:
        command, arguments = "minimax.explain", {"uri": document.uri, "range": selection}
    outcome = await run_command(client, fake, command, arguments)
    if outcome.error is not None or not outcome.result.get("markdown"):
        tally.command_failures.append(f"{command}: {outcome.error or outcome.result}")


async def run_soak_on(
    client: MiniMaxTestClient, fake: FakeMiniMax, paths: Sequence[Path], config: SoakConfig
) -> tuple[list[Segment], _Tally, float]:
    """The editing script on a running server (see the module docstring)."""
    rng = random.Random(config.seed)
    tally = _Tally()
    order = list(paths)
    rng.shuffle(order)
    opened: deque[Document] = deque()
    per_segment = max(1, config.requests // config.segments)
    segments: list[Segment] = []
    segment_start = 0  # requests before the current segment
    latency_start = 0  # awaited latencies before the current segment
    next_command = config.explain_every
    started = time.monotonic()
    pid = client.process.pid
    n = 0
    while tally.requests < config.requests:
        path = order[n % len(order)]
        n += 1
        if len(opened) >= OPEN_LIMIT:
            opened.popleft().close()
        document = Document(client, path)
        document.open()
        opened.append(document)
        typist = Typist(client, document)
        typist.new_line()
        typed = 0
        while typed < len(TYPED) and tally.requests < config.requests:
            if typed and typed % BURST_EVERY == 0 and typed + 3 <= len(TYPED):
                await _burst(tally, typist, TYPED[typed : typed + 3], "burst")
                typed += 3
            else:
                typist.key(TYPED[typed])
                typed += 1
                await _awaited(tally, typist, "key")
            if tally.requests >= next_command:
                next_command += config.explain_every
                await _command(tally, client, fake, document)
            if (
                tally.requests - segment_start >= per_segment
                and len(segments) < config.segments - 1
            ):
                # Settle a moment so the sample is not taken mid-request.
                await poll(lambda: fake.open_streams == 0, limit=5)
                sample = sample_process(pid, fake.port)
                starts = (segment_start, latency_start)
                segments.append(_segment(len(segments), tally, starts, sample, fake))
                segment_start, latency_start = tally.requests, len(tally.latencies)
        typist.erase_line()
    if tally.requests > segment_start or not segments:
        # The last (possibly short) segment.
        await poll(lambda: fake.open_streams == 0, limit=5)
        sample = sample_process(pid, fake.port)
        starts = (segment_start, latency_start)
        segments.append(_segment(len(segments), tally, starts, sample, fake))
    return segments, tally, time.monotonic() - started


def _typable(tree: Path) -> list[Path]:
    """Modules of ``tree`` the `Typist` can type into."""
    return sorted(
        p for p in tree.rglob("*.py") if "\n    return result\n" in p.read_text(errors="replace")
    )


async def run_soak(config: SoakConfig, workdir: Path, *, tree: Path | None = None) -> SoakReport:
    """A full soak run: workspace, fake, server, script, report (see the module docstring).

    Parameters
    ----------
    config:
        The size of the run.
    workdir:
        Scratch folder (the generated workspace, the index cache).
    tree:
        Use this workspace instead of a generated one; it must hold generated-style
        modules (``def compute_…`` ending in ``    return result``) to type into, so in
        practice a tree made by `generate_tree`.
    """
    root = tree or workdir / "workspace"
    paths = generate_tree(root, config.modules) if tree is None else _typable(tree)
    if not paths:
        raise ValueError(f"{tree} holds no module the soak can type into (see generate_tree)")
    fake = FakeMiniMax(api_key="test-key").start()
    fake.set_default(lambda _request: Reply(text=ANSWER))
    try:
        started = time.monotonic()
        async with launch(fake, workdir, root, init_options=OPTIONS, index_limit=600) as client:
            index_seconds = time.monotonic() - started
            segments, tally, seconds = await run_soak_on(client, fake, paths, config)
            await poll(lambda: fake.open_streams == 0, limit=10)
            await asyncio.sleep(0.5)
            final = sample_process(client.process.pid, fake.port)
            model_calls = len(model_requests(fake))
    finally:
        fake.stop()
    return SoakReport(
        config=config,
        index_seconds=round(index_seconds, 2),
        seconds=round(seconds, 2),
        requests=tally.requests,
        model_requests=model_calls,
        suggestions=tally.suggestions,
        superseded=tally.superseded,
        cancelled=tally.cancelled,
        unexpected=tally.unexpected,
        commands=tally.commands,
        command_failures=tally.command_failures,
        segments=segments,
        final={
            "rss_kib": final.rss_kib,
            "fds": final.fds,
            "threads": final.threads,
            "connections": final.open_connections,
            "open_streams": fake.open_streams,
        },
        client_disconnects=fake.client_disconnects,
    )


# --------------------------------------------------------------------------- offline


async def _type_for(
    typist: Typist, seconds: float, char: str, *, until_suggestion: bool = False
) -> tuple[list[float], int]:
    """Type ``char`` at `TYPING_INTERVAL` for ``seconds``; (latencies, suggestions).

    Each phase types its own character, so no prefix typed in one phase was seen in
    another and the completion cache (which serves a suggestion again for the same text
    before and after the cursor) cannot answer for the model.
    """
    latencies: list[float] = []
    suggestions = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if typist.column > 60:  # keep the line short: start it again
            typist.erase_line()
            typist.new_line()
        typist.key(char)
        started = time.monotonic()
        result = await asyncio.wait_for(typist.request(f"type-{char}"), 30)
        latencies.append(time.monotonic() - started)
        if inline_items(result):
            suggestions += 1
            if until_suggestion:
                break
        await asyncio.sleep(max(0.0, TYPING_INTERVAL - (time.monotonic() - started)))
    return latencies, suggestions


async def run_offline(
    client: MiniMaxTestClient,
    fake: FakeMiniMax,
    document: Document,
    seconds: float,
    *,
    recovery_limit: float = 40.0,
    idle_seconds: float = 2.0,
) -> OfflineReport:
    """Go offline for ``seconds`` while typing, then come back (module docstring).

    ``document`` must be an open generated module; the fake must answer with a
    suggestion when online. ``recovery_limit=0`` skips the recovery phase.
    """
    pid = client.process.pid
    typist = Typist(client, document)
    typist.new_line()
    # One completion online first, so the idle baseline is not the tail of opening the
    # document (parsing, indexing the buffer).
    typist.key("w")
    await asyncio.wait_for(typist.request("warm"), 30)
    await asyncio.sleep(0.5)
    idle_start = sample_process(pid)
    await asyncio.sleep(idle_seconds)
    idle_end = sample_process(pid)
    idle_share = (idle_end.cpu_seconds - idle_start.cpu_seconds) / (idle_end.at - idle_start.at)
    statuses_before = len(client.statuses)
    messages_before = len(client.messages)
    fake.set_offline(True)
    requests_before = len(fake.requests)
    start = sample_process(pid)
    latencies, suggestions = await _type_for(typist, seconds, "o")
    end = sample_process(pid)
    fake.set_offline(False)
    http_attempts = len(fake.requests) - requests_before
    offline_states = [
        str(s.get("state")) for s in client.statuses[statuses_before:] if s.get("uri") is None
    ]
    recovered_after: float | None = None
    states_mark = len(client.statuses)
    if recovery_limit > 0:
        back = time.monotonic()
        _lat, found = await _type_for(typist, recovery_limit, "r", until_suggestion=True)
        if found:
            recovered_after = round(time.monotonic() - back, 2)
    await asyncio.sleep(0.1)
    cpu = end.cpu_seconds - start.cpu_seconds
    return OfflineReport(
        seconds=round(end.at - start.at, 2),
        requests=len(latencies),
        suggestions=suggestions,
        http_attempts=http_attempts,
        cpu_seconds=round(cpu, 3),
        cpu_share=round(cpu / (end.at - start.at), 4),
        idle_cpu_share=round(idle_share, 4),
        messages=[m.message for m in client.messages[messages_before:]],
        states=offline_states,
        latency=percentiles(latencies),
        recovered_after=recovered_after,
        states_after=[
            str(s.get("state")) for s in client.statuses[states_mark:] if s.get("uri") is None
        ],
    )


async def run_offline_fresh(
    seconds: float, workdir: Path, *, recovery_limit: float = 40.0
) -> OfflineReport:
    """`run_offline` on a fresh server and a small generated workspace."""
    root = workdir / "offline-workspace"
    paths = generate_tree(root, 40)
    fake = FakeMiniMax(api_key="test-key").start()
    fake.set_default(lambda _request: Reply(text=ANSWER))
    try:
        async with launch(fake, workdir, root, init_options=OPTIONS) as client:
            document = Document(client, paths[7])
            document.open()
            return await run_offline(client, fake, document, seconds, recovery_limit=recovery_limit)
    finally:
        fake.stop()


# --------------------------------------------------------------------------- reporting


def soak_table(report: SoakReport) -> str:
    """The per-segment table of ``docs/reliability.md`` (markdown)."""
    rows = [
        "| segment | requests | p50 ms | p95 ms | p99 ms | max ms | RSS MiB | fds | threads "
        "| conns |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in report.segments:
        name = f"{s.index + 1}{' (warm-up)' if s.index == 0 else ''}"
        rows.append(
            f"| {name} | {s.requests} | {s.latency['p50_ms']} | {s.latency['p95_ms']} | "
            f"{s.latency['p99_ms']} | {s.latency['max_ms']} | {s.rss_kib / 1024:.1f} | "
            f"{s.fds} | {s.threads} | {s.connections} |"
        )
    return "\n".join(rows)


def summary(report: SoakReport) -> str:
    """One paragraph of totals."""
    return (
        f"{report.requests} inline-completion requests ({report.model_requests} model "
        f"calls, {report.suggestions} suggestions, {report.superseded} superseded, "
        f"{report.cancelled} cancelled, {len(report.unexpected)} unexpected answers) and "
        f"{report.commands} explain/chat commands ({len(report.command_failures)} failed) "
        f"on {report.config.modules} modules in {report.seconds} s (index "
        f"{report.index_seconds} s); RSS {report.warm.rss_kib / 1024:.1f} MiB after "
        f"warm-up -> {report.final['rss_kib'] / 1024:.1f} MiB at the end "
        f"({report.rss_growth * 100:+.1f} %); fds {report.warm.fds} -> {report.final['fds']}; "
        f"threads {report.warm.threads} -> {report.final['threads']}; connections to the "
        f"model endpoint at the end {report.final['connections']}; open streams "
        f"{report.final['open_streams']}; HTTP streams the server hung up on "
        f"{report.client_disconnects}."
    )


def offline_summary(report: OfflineReport) -> str:
    """One paragraph for the offline run."""
    recovered = (
        f"{report.recovered_after} s" if report.recovered_after is not None else "not recovered"
    )
    return (
        f"offline {report.seconds} s: {report.requests} completion requests at 10 keys/s, "
        f"{report.suggestions} suggestions, {report.http_attempts} HTTP attempts reached the "
        f"endpoint; server CPU {report.cpu_seconds} s = {report.cpu_share * 100:.1f} % of one "
        f"core (idle {report.idle_cpu_share * 100:.1f} %); latency p50 "
        f"{report.latency['p50_ms']} ms, p95 {report.latency['p95_ms']} ms; messages shown "
        f"{len(report.messages)}; status changes {len(report.states)} "
        f"({sorted(set(report.states))}); first suggestion after the endpoint came back: "
        f"{recovered}."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--long", action="store_true", help="the full run (10,000 requests)")
    parser.add_argument("--requests", type=int, help="inline-completion requests")
    parser.add_argument("--modules", type=int, help="generated modules in the workspace")
    parser.add_argument("--segments", type=int, help="segments (the first is the warm-up)")
    parser.add_argument("--offline-seconds", type=float, help="offline period (0: skip)")
    parser.add_argument("--tree", type=Path, help="use this generated tree")
    parser.add_argument("--json", type=Path, help="also write the reports here")
    args = parser.parse_args(argv)
    base = SoakConfig(requests=10_000, modules=600, segments=10) if args.long else SoakConfig()
    config = SoakConfig(
        requests=args.requests or base.requests,
        modules=args.modules or base.modules,
        segments=args.segments or base.segments,
        explain_every=base.explain_every,
        seed=base.seed,
    )
    offline = args.offline_seconds
    if offline is None:
        offline = 60.0 if args.long else 15.0
    work = Path(tempfile.mkdtemp(prefix="minimax-soak-"))
    try:
        report = asyncio.run(run_soak(config, work / "soak", tree=args.tree))
        print(summary(report))
        print(soak_table(report))
        for problem in report.unexpected[:10] + report.command_failures[:10]:
            print(f"  problem: {problem}")
        offline_report = None
        if offline > 0:
            offline_report = asyncio.run(run_offline_fresh(offline, work / "offline"))
            print(offline_summary(offline_report))
        if args.json:
            data = {
                "soak": asdict(report),
                "offline": asdict(offline_report) if offline_report else None,
            }
            args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
