"""Measure the language server's own cost per inline completion, and the prompt-cache hits.

Run standalone from the repository root with the project's venv:

    python tests/bench/bench_server.py                     # Django 5.0.6 (pip download once)
    python tests/bench/bench_server.py --tree PATH         # any other tree (e.g. the stdlib)
    python tests/bench/bench_server.py --files 4 --json tests/bench/_work/server.json

What it does
    The real ``minimax-lsp serve`` process is started over stdio (pytest-lsp's client,
    VS Code's recorded capabilities plus inline completion) with the tree as its
    workspace, against the fake MiniMax server of ``tests/fake_minimax`` running in this
    process and answering instantly (no token-rate delay) with a one-line completion
    that never matches what is typed (so every keystroke reaches the model). Spend caps
    are lifted. After the index is ready, the context engine's background build done
    (``minimax.showContext`` no longer partial), the server idle (it counts every
    file's tokens after the build) and three warm-up completions, ``--files``
    Python files of the tree are edited like a user would: a new line at the end of a
    function body, then `TYPED` one character at a time; each character is a
    ``didChange`` followed by a ``textDocument/inlineCompletion`` request, answered
    before the next character.

What is measured
    * **Server overhead** per completion that reached the model: from the moment the
      server's completion service received the request to the moment the fake had the
      HTTP request. The server logs ``received t=<time.monotonic()>`` (debug level,
      `minimax_lsp.server.features.inline_completion`) and the fake stamps
      ``received_at = time.monotonic()`` when it has read the request body; both are the
      machine's CLOCK_MONOTONIC, so the difference is the server's work: snapshot,
      denial check, cache lookup, parse + decide, context packing, prompt building and
      the HTTP write (plus the body's transfer over loopback). Not included: pygls'
      reading and parsing of the JSON-RPC message before the handler runs (the
      client-observed figure below includes it).
    * **Client-observed** time from writing the LSP request to the fake receiving the
      model request (an upper bound: adds the stdio hop and the server's wake-up), and
      the full round trip to the response.
    * **Prompt-cache share**: over the typing run, the fake's ``cache_read_input_tokens``
      divided by all input tokens it counted (``UsageTotals.cache_hit_share``).
    * **Server CPU** per request over the typing run (``/proc/<pid>/stat``, all threads,
      so it includes re-indexing the edited buffer): less sensitive to a loaded machine
      than the wall-clock figures.

Targets (issue): server overhead p50 <= 15 ms and p95 <= 40 ms; cache share >= 80 %.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig  # noqa: E402

from tests.bench import common  # noqa: E402
from tests.e2e.conftest import MiniMaxTestClient, capabilities, make_client  # noqa: E402
from tests.fake_minimax import FakeMiniMax, RecordedRequest, Reply  # noqa: E402

DJANGO = "django==5.0.6"
TYPED = "result = compute_total(values, default=None)"
#: What the fake answers: one line that no typed prefix matches (no cache hits).
ANSWER = "<completion>zz_bench_marker()</completion>"
KEY = "bench-key"
_RECEIVED = re.compile(r"inline completion request for (\S+) received t=([0-9.]+)")
_TIMINGS = re.compile(r"inline completion timings for \S+: (.*)$", re.MULTILINE)
_LAP = re.compile(r"(\w+) ([0-9.]+) ms")


@dataclass(frozen=True, slots=True)
class Sample:
    """One completion request of the typing run."""

    path: str
    sent: float  # client: monotonic time the request was written
    done: float  # client: response received
    server: float | None  # server: request received by the completion service
    model: float | None  # fake: model request received (None: no model call)
    items: int


def _django_tree(work: Path) -> Path:
    archive = common.fetch_sdist(DJANGO, work / "dl")
    tree = common.unpack_sdist(archive, work / "django-5.0.6")
    if not (tree / ".git").exists():
        subprocess.run(
            ["git", "-c", "init.defaultBranch=main", "init", "-q", str(tree)], check=True
        )
    return tree


def pick_files(tree: Path, count: int) -> list[tuple[Path, int, str]]:
    """``count`` Python files with a function to extend: (path, line after it, indent).

    Deterministic: files of 150-1500 lines under the tree's package folder(s), sorted,
    taken at even steps; in each, the function whose body ends nearest the middle.
    """
    candidates: list[Path] = []
    for path in sorted(tree.rglob("*.py")):
        rel = path.relative_to(tree).parts
        if any(p.startswith(".") or p in ("tests", "docs", "site-packages") for p in rel):
            continue
        try:
            lines = path.read_text(encoding="utf-8").count("\n")
        except (OSError, UnicodeDecodeError):
            continue
        if 150 <= lines <= 1500:
            candidates.append(path)
    if not candidates:
        raise SystemExit(f"no Python file of 150-1500 lines under {tree}")
    step = max(1, len(candidates) // count)
    chosen: list[tuple[Path, int, str]] = []
    for path in candidates[::step]:
        spot = _function_end(path)
        if spot is not None:
            chosen.append((path, *spot))
        if len(chosen) == count:
            break
    return chosen


def _function_end(path: Path) -> tuple[int, str] | None:
    text = path.read_text(encoding="utf-8")
    try:
        module = ast.parse(text)
    except SyntaxError:
        return None
    middle = text.count("\n") // 2
    best: tuple[int, int, str] | None = None
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
            last = node.body[-1]
            if last.end_lineno != node.end_lineno:
                continue
            indent = " " * last.col_offset
            distance = abs(node.end_lineno - middle)
            if best is None or distance < best[0]:
                best = (distance, node.end_lineno, indent)
    return (best[1], best[2]) if best else None


def _model_requests(fake: FakeMiniMax) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.path.endswith("/messages")]


class Run:
    """One server process with the fake, and the requests made to it."""

    def __init__(self, client: MiniMaxTestClient, fake: FakeMiniMax, log: Path) -> None:
        self.client = client
        self.fake = fake
        self.log = log
        self.sent: list[tuple[str, float, float, RecordedRequest | None, int]] = []

    async def complete(self, uri: str, line: int, character: int) -> int:
        before = len(_model_requests(self.fake))
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )
        sent = time.monotonic()
        # Generous: a loaded machine may stall a request for a while.
        result = await asyncio.wait_for(
            self.client.text_document_inline_completion_async(params), 900
        )
        done = time.monotonic()
        requests = _model_requests(self.fake)
        record = requests[before] if len(requests) > before else None
        items = len(
            result.items if isinstance(result, types.InlineCompletionList) else result or []
        )
        self.sent.append((uri, sent, done, record, items))
        return items

    def change(self, uri: str, version: int, line: int, character: int, text: str) -> None:
        at = types.Position(line=line, character=character)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=types.Range(at, at), text=text)
                ],
            )
        )

    def samples(self, first: int) -> list[Sample]:
        """The requests from index ``first`` on, paired with the server's log stamps."""
        stamps = [
            (m.group(1), float(m.group(2)))
            for m in _RECEIVED.finditer(self.log.read_text(encoding="utf-8"))
        ]
        if len(stamps) != len(self.sent):
            raise SystemExit(
                f"{len(stamps)} server stamps for {len(self.sent)} requests: is the "
                "server logging at debug level?"
            )
        out: list[Sample] = []
        for (uri, sent, done, record, items), (logged_uri, stamp) in zip(
            self.sent[first:], stamps[first:], strict=True
        ):
            assert logged_uri == uri, (logged_uri, uri)
            model = record.received_at if record else None
            out.append(Sample(uri, sent, done, stamp, model, items))
        return out


async def type_into(run: Run, path: Path, text: str, after_line: int, indent: str) -> None:
    """Open ``path`` (``text``), add a line after ``after_line`` (1-based), type `TYPED`."""
    uri = path.as_uri()
    run.client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    line = after_line  # 0-based index of the new line
    end_of_previous = len(text.splitlines()[after_line - 1])
    run.change(uri, 2, after_line - 1, end_of_previous, "\n" + indent)
    await run.complete(uri, line, len(indent))
    for n, ch in enumerate(TYPED):
        column = len(indent) + n
        run.change(uri, 3 + n, line, column, ch)
        await run.complete(uri, line, column + 1)
    run.client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )


async def wait_ready(client: MiniMaxTestClient, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if any(s.get("state") == "ready" and s.get("files") for s in client.statuses):
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise SystemExit(f"the workspace was not indexed within {limit:.0f} s")


async def wait_engine(client: MiniMaxTestClient, uri: str, line: int, limit: float) -> float:
    """Seconds until ``minimax.showContext`` at ``uri`` is no longer partial (the
    context engine's background build is done)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="minimax.showContext",
                arguments=[{"uri": uri, "position": {"line": line, "character": 0}}],
            )
        )
        if isinstance(result, dict) and "partial" not in result:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise SystemExit(f"the context engine was not ready within {limit:.0f} s")


async def wait_idle(pid: int, limit: float, *, window: float = 0.5) -> float:
    """Seconds until process ``pid`` used under 10 % of a CPU over ``window`` seconds."""
    started = time.monotonic()
    before = _cpu_seconds(pid)
    while time.monotonic() - started < limit:
        await asyncio.sleep(window)
        now = _cpu_seconds(pid)
        if now - before < 0.1 * window:
            return time.monotonic() - started
        before = now
    return time.monotonic() - started


def _ms(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(common.percentile(ms, 50), 2),
        "p95_ms": round(common.percentile(ms, 95), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
    }


async def measure(tree: Path, work: Path, files: int) -> dict[str, Any]:
    log = work / "server.log"
    log.unlink(missing_ok=True)
    fake = FakeMiniMax(api_key=KEY).start()
    fake.set_default(lambda _record: Reply(text=ANSWER))
    env = {
        "MINIMAX_API_KEY": KEY,
        "MINIMAX_BASE_URL": fake.anthropic_base_url,
        "MINIMAX_LSP_CACHE_DIR": str(work / "cache"),
        "PYTHONUNBUFFERED": "1",
    }
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "minimax_lsp", "serve"],
        client_factory=make_client,
        server_env={**{k: v for k, v in _environ().items() if not k.startswith("MINIMAX")}, **env},
    )
    client = await config.start()
    assert isinstance(client, MiniMaxTestClient)
    try:
        options = {
            "logLevel": "debug",
            "logFile": str(log),
            "spend": {"automaticRequestsPerMinute": 1_000_000, "tokensPerDay": 0},
        }
        await client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities("visual-studio-code", inline_completion=True),
                workspace_folders=[types.WorkspaceFolder(uri=tree.as_uri(), name=tree.name)],
                root_uri=tree.as_uri(),
                initialization_options=options,
                client_info=types.ClientInfo(name="bench_server"),
            )
        )
        index_s = await wait_ready(client, 1800)
        run = Run(client, fake, log)
        chosen = pick_files(tree, files + 1)
        warm_path, warm_line, _ = chosen[0]
        # Warm-up: the engine's derived structures, the grammar, the HTTP connection.
        warm_started = time.monotonic()
        uri = warm_path.as_uri()
        text = warm_path.read_text(encoding="utf-8")
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        # The engine builds in the background (requests meanwhile get partial
        # manifests): measure once it is complete, as a user would after a while.
        engine_s = await wait_engine(client, uri, warm_line - 1, 1800)
        # It then counts every file's tokens in the background (a few seconds of CPU):
        # wait for the server to go idle, so that the typing run measures requests only.
        idle_s = await wait_idle(client.process.pid, 120)
        for n in range(3):
            run.change(uri, 2 + n, warm_line - 1, len(text.splitlines()[warm_line - 1]) + n, "x")
            await run.complete(uri, warm_line - 1, len(text.splitlines()[warm_line - 1]) + n + 1)
        warm_s = time.monotonic() - warm_started
        first = len(run.sent)
        usage_before = len(fake.usage_history)
        cpu_before = _cpu_seconds(client.process.pid)
        for path, line, indent in chosen[1:]:
            await type_into(run, path, path.read_text(encoding="utf-8"), line, indent)
        cpu = _cpu_seconds(client.process.pid) - cpu_before
        samples = run.samples(first)
        usage = fake.usage_history[usage_before:]
        await client.shutdown_session()
    finally:
        # pygls' stop() waits for the server to exit: after a failure, make it exit.
        if client.process.returncode is None:
            client.process.terminate()
        await client.stop()
        fake.stop()
    reached = [s for s in samples if s.model is not None and s.server is not None]
    steps = _steps(log, len(reached))
    overhead = [s.model - s.server for s in reached]  # type: ignore[operator]
    observed = [s.model - s.sent for s in reached]  # type: ignore[operator]
    round_trip = [s.done - s.sent for s in samples]
    read = sum(u.cache_read_input_tokens for u in usage)
    total = sum(
        u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens for u in usage
    )
    return {
        "samples": [
            {"server": s.server, "model": s.model, "sent": s.sent, "done": s.done} for s in samples
        ],
        "machine": common.machine_info(),
        "tree": str(tree),
        "files": [str(p.relative_to(tree)) for p, _, _ in chosen[1:]],
        "index_or_open_s": round(index_s, 1),
        "engine_ready_s": round(engine_s, 1),
        "idle_after_s": round(idle_s, 1),
        "warmup_s": round(warm_s, 2),
        "requests": len(samples),
        "model_requests": len(reached),
        "suggestions": sum(1 for s in samples if s.items),
        "server_overhead": _ms(overhead),
        "client_to_model": _ms(observed),
        "round_trip": _ms(round_trip),
        "steps": {name: _ms([v / 1000 for v in values]) for name, values in steps.items()},
        "server_cpu_ms_per_request": round(cpu * 1000 / len(samples), 2) if samples else None,
        "cache": {
            "input_tokens_total": total,
            "cache_read_tokens": read,
            "cache_creation_tokens": sum(u.cache_creation_input_tokens for u in usage),
            "share": round(read / total, 4) if total else 0.0,
            "mean_input_tokens": round(total / len(usage)) if usage else 0,
        },
    }


def _steps(log: Path, count: int) -> dict[str, list[float]]:
    """Per-step server times (ms) of the last ``count`` model requests, from the log."""
    lines = _TIMINGS.findall(log.read_text(encoding="utf-8"))[-count:] if count else []
    steps: dict[str, list[float]] = {}
    for line in lines:
        for name, ms in _LAP.findall(line):
            steps.setdefault(name, []).append(float(ms))
    return steps


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far, all threads (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _environ() -> dict[str, str]:
    return dict(os.environ)


def report(result: dict[str, Any]) -> list[dict[str, Any]]:
    over, cache = result["server_overhead"], result["cache"]
    targets = [
        {
            "target": "server overhead p50 <= 15 ms",
            "value": over["p50_ms"],
            "pass": over["p50_ms"] <= 15,
        },
        {
            "target": "server overhead p95 <= 40 ms",
            "value": over["p95_ms"],
            "pass": over["p95_ms"] <= 40,
        },
        {
            "target": "prompt-cache share >= 80 %",
            "value": round(cache["share"] * 100, 1),
            "pass": cache["share"] >= 0.8,
        },
    ]
    print(f"tree: {result['tree']}  ({result['machine']})")
    print(f"files typed into: {', '.join(result['files'])}")
    print(
        f"index ready after {result['index_or_open_s']} s; context engine complete "
        f"{result.get('engine_ready_s', '?')} s later, server idle "
        f"{result.get('idle_after_s', '?')} s after that; warm-up {result['warmup_s']} s; "
        f"{result['requests']} requests, {result['model_requests']} reached the model, "
        f"{result['suggestions']} suggestions"
    )
    print("| measure | n | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    for name, key in (
        ("server overhead (request received -> model request at the fake)", "server_overhead"),
        ("client write -> model request at the fake", "client_to_model"),
        ("client round trip (request -> suggestion)", "round_trip"),
    ):
        row = result[key]
        print(f"| {name} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |")
    for step, row in result["steps"].items():
        print(
            f"| - of which {step} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} | "
            f"{row['max_ms']} |"
        )
    print(
        f"server CPU per request (all threads, typing run): "
        f"{result['server_cpu_ms_per_request']} ms"
    )
    print(
        f"prompt cache: {cache['cache_read_tokens']:,} of {cache['input_tokens_total']:,} input "
        f"tokens read from the cache = {cache['share'] * 100:.1f} % "
        f"(mean input {cache['mean_input_tokens']:,} tokens per request)"
    )
    print("| target | value | reached |")
    print("|---|---|---|")
    for t in targets:
        print(f"| {t['target']} | {t['value']} | {'yes' if t['pass'] else 'no'} |")
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, help="workspace to use (default: Django 5.0.6)")
    parser.add_argument("--files", type=int, default=3, help="files typed into (default 3)")
    parser.add_argument("--work", type=Path, help="work folder (default tests/bench/_work)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    work = common.work_dir(args.work)
    tree = (args.tree or _django_tree(work)).resolve()
    server_work = work / "server"
    server_work.mkdir(parents=True, exist_ok=True)
    # The server's stderr (forwarded by the client) would drown the report.
    stderr = sys.stderr
    with (server_work / "stderr.log").open("w", encoding="utf-8") as sink:
        sys.stderr = sink
        try:
            result = asyncio.run(measure(tree, server_work, args.files))
        finally:
            sys.stderr = stderr
    result["targets"] = report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
