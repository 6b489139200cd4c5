"""Protocol fuzzing of the real ``minimax-lsp serve`` process (CI-sized run and ``--long``).

Run it standalone from the repository root::

    python -m tests.reliability.soak_protocol            # the CI-sized run (~2,000 cases)
    python -m tests.reliability.soak_protocol --long     # 20,000 cases, random seed
    python -m tests.reliability.soak_protocol --cases 5000 --seed 7 --json

``tests/reliability/test_protocol_fuzz.py`` runs the CI-sized version and asserts on the
`SoakReport`. What one run does, in order (docs/reliability.md has the figures):

1. **Before initialize**: a fresh server gets generated traffic (no ``initialize``);
   every request it can parse must be answered.
2. ``initialize`` / ``initialized`` on a small workspace (`build_workspace`), wait for
   the index.
3. **Hand-written frames** (`fuzz_cases.nasties`) and **scenarios**: a 10 MB document,
   lone surrogates, positions at line 10**9 / negative / inside an emoji, ``didChange``
   versions out of order. After each, the server must answer ``minimax.status``.
4. **Generated programs** (hypothesis, `fuzz_cases.programs`): 1-4 messages each; a
   liveness probe (``minimax.status``) every `PROBE_EVERY` programs.
5. A normal ``minimax.showContext`` must still return a manifest.
6. **After shutdown**: requests and notifications, then ``exit``: exit status 0.
7. **Session-ending frames** on fresh servers: input ending inside a body; a
   ``Content-Length`` of 10**14. The process must end (or wait) without crashing.

Invariants checked on every message: the process stays alive; every request with a
valid envelope gets exactly one well-formed response (result or error), and so does a
request-shaped message with a valid id but a broken envelope (no or another
``jsonrpc``, a method that is not a string, ``result`` beside ``method``: -32600,
counted in ``envelope_answers``); stdout carries only well-formed frames. Anything else
is recorded in the report with a repro (the program that preceded it). Requests pygls
alone cannot parse (params of the wrong shape for a typed LSP method) are counted apart
in ``unparseable_by_pygls``: pygls would drop them, the server's protocol layer
(``server/protocol.py``) answers them. Frames that are not JSON at all are answered
with ``"id": null`` (-32700), which cannot be matched to a request here.

The server runs with an address-space limit (`MEMORY_LIMIT`) so that a runaway
allocation ends as a recorded failure instead of exhausting the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.fake_minimax import FakeMiniMax
from tests.reliability.fuzz_cases import (
    FuzzTarget,
    IdSource,
    Outgoing,
    describe,
    nasties,
    programs,
)
from tests.reliability.rpc import (
    RawServer,
    id_key,
    initialize,
    server_env,
    valid_response,
    wait_ready,
)

__all__ = [
    "CI_CASES",
    "LONG_CASES",
    "MEMORY_LIMIT",
    "SoakReport",
    "build_workspace",
    "main",
    "pygls_parses",
    "run_soak",
]

#: Generated programs in the CI-sized run and in ``--long``.
CI_CASES: Final = 2000
LONG_CASES: Final = 20_000
#: Programs sent before ``initialize``.
PRE_INIT_CASES: Final = 60
#: A liveness probe after this many programs.
PROBE_EVERY: Final = 25
#: How long a request may take to be answered (model calls go to the local fake).
ANSWER_TIMEOUT: Final = 15.0
#: How long a liveness probe may take.
PROBE_TIMEOUT: Final = 10.0
#: Address-space limit of the server process (bytes).
MEMORY_LIMIT: Final = 4 * 2**30
#: Size of the "huge document" scenario.
HUGE_BYTES: Final = 10 * 2**20

_LOG_LINE: Final = re.compile(
    r"^\d\d:\d\d:\d\d\.\d{3} (?P<level>[A-Z]+) (?P<logger>[\w.]+): (?P<msg>.*)$"
)
_EXC_LINE: Final = re.compile(
    r"^(?:\s*\|\s*)?(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Group|Exit|Interrupt))(?::|$)"
)
_OUR_FRAME: Final = re.compile(
    r'File "[^"]*/(?P<file>(?:server|indexer)/[\w/]+\.py)", line \d+, in (?P<func>\w+)'
)
_ID_NOISE: Final = re.compile(r"(\"[^\"]{40,}\"|'[^']{40,}'|\b\d{3,}\b|file://\S+|/tmp/\S+)")


# --------------------------------------------------------------------------- report


@dataclass
class SoakReport:
    """Counts and findings of one run (all plain data, JSON-serialisable)."""

    cases: int = 0
    messages: Counter[str] = field(default_factory=Counter)
    requests_expected: int = 0
    answered: int = 0
    results: int = 0
    errors_by_code: Counter[str] = field(default_factory=Counter)
    internal_errors: Counter[str] = field(default_factory=Counter)
    unanswered: list[str] = field(default_factory=list)
    unparseable_by_pygls: Counter[str] = field(default_factory=Counter)
    envelope_faults: Counter[str] = field(default_factory=Counter)
    envelope_answers: Counter[str] = field(default_factory=Counter)
    invalid_responses: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    probes: int = 0
    probe_failures: list[str] = field(default_factory=list)
    probe_latencies: list[float] = field(default_factory=list)
    framing_errors: list[str] = field(default_factory=list)
    tracebacks: Counter[str] = field(default_factory=Counter)
    error_logs: Counter[str] = field(default_factory=Counter)
    popups: Counter[str] = field(default_factory=Counter)
    pre_init: dict[str, Any] = field(default_factory=dict)
    post_shutdown: dict[str, Any] = field(default_factory=dict)
    scenarios: dict[str, Any] = field(default_factory=dict)
    session_end: dict[str, Any] = field(default_factory=dict)
    final_manifest_items: int = 0
    phase_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def latency(self) -> dict[str, float]:
        """Liveness-probe latency (seconds): p50, p95, max."""
        values = sorted(self.probe_latencies)
        if not values:
            return {"p50": 0.0, "p95": 0.0, "max": 0.0}
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        return {"p50": statistics.median(values), "p95": p95, "max": values[-1]}

    def summary(self) -> dict[str, Any]:
        """The report as JSON-able data, counters sorted by count."""
        data = asdict(self)
        for key in list(data):
            if isinstance(getattr(self, key), Counter):
                data[key] = dict(getattr(self, key).most_common())
        data["messages_total"] = sum(self.messages.values())
        data["probe_latency"] = self.latency()
        del data["probe_latencies"]
        return data


# --------------------------------------------------------------------------- workspace

_FILES: Final[dict[str, str]] = {
    "pkg/__init__.py": "",
    "pkg/util.py": (
        "def helper(value):\n    return value * 2\n\n\nclass Box:\n"
        "    def get(self):\n        return '😀 box'\n"
    ),
    "pkg/main.py": (
        "from pkg.util import helper, Box\n\n\ndef run():\n    total = helper(21)\n"
        "    label = '👍🏽 done'\n    return total, Box(), label\n"
    ),
    "README.md": "# fuzz target\n\nSome prose.\n",
    ".env": "API_TOKEN=sk-cp-fuzz-env-value-1234567890\n",
    ".aiignore": "ignored.py\n",
    "ignored.py": "HIDDEN = 1\n",
}


def build_workspace(base: Path) -> FuzzTarget:
    """The fuzz workspace under ``base`` (a package, a secret, an ignored and a binary file)."""
    root = base / "ws"
    for rel, text in _FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "data.bin").write_bytes(bytes(range(256)) * 4)
    outside = base / "outside"
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "elsewhere.py").write_text("def elsewhere():\n    return 1\n", encoding="utf-8")
    return FuzzTarget(root=root, outside=outside)


# --------------------------------------------------------------------------- parsing like pygls


class _PyglsParser:
    """Parses a frame body exactly as the server's pygls does (same converter, same hook)."""

    def __init__(self) -> None:
        from pygls.lsp.server import LanguageServer

        self._protocol = LanguageServer("parser", "0").protocol

    def parses(self, body: bytes) -> bool:
        # pygls logs every failure with a traceback; here a failure is an expected answer.
        logger = logging.getLogger("pygls.protocol.json_rpc")
        level = logger.level
        logger.setLevel(logging.CRITICAL)
        try:
            message = json.loads(body, object_hook=self._protocol.structure_message)
        except Exception:
            return False
        finally:
            logger.setLevel(level)
        return getattr(message, "jsonrpc", None) == "2.0"


def pygls_parses(body: bytes) -> bool:
    """Whether pygls can turn ``body`` into a message (else it drops it unanswered)."""
    return _PyglsParser().parses(body)


def _body(outgoing: Outgoing) -> bytes | None:
    if outgoing.raw is not None:
        return None
    return json.dumps(outgoing.payload, ensure_ascii=True).encode("ascii")


def _valid_envelope(payload: Any) -> bool:
    if not isinstance(payload, dict) or payload.get("jsonrpc") != "2.0":
        return False
    msg_id = payload.get("id")
    return (
        isinstance(payload.get("method"), str)
        and isinstance(msg_id, (int, str))
        and not isinstance(msg_id, bool)
        and "result" not in payload
        and "error" not in payload
    )


def _request_shaped(payload: Any) -> bool:
    """A broken envelope that still names a method and a valid id (answered -32600)."""
    if not isinstance(payload, dict) or "method" not in payload:
        return False
    msg_id = payload.get("id")
    return isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool)


# --------------------------------------------------------------------------- the run


class Soak:
    """One fuzzing run (see the module docstring)."""

    def __init__(
        self,
        workdir: Path,
        base_url: str,
        *,
        cases: int,
        seed_value: int | None,
        log: Callable[[str], None],
    ) -> None:
        self.workdir = workdir
        self.base_url = base_url
        self.cases = cases
        self.seed_value = seed_value
        self.log = log
        self.report = SoakReport()
        self.target = build_workspace(workdir)
        self.ids = IdSource()
        self.parser = _PyglsParser()
        self.server: RawServer | None = None
        self._stderr_seen: list[str] = []
        self._notifications_seen: list[dict[str, Any]] = []
        self._last_program: list[Outgoing] = []

    # -- server lifecycle ------------------------------------------------------------

    def _new_server(self) -> RawServer:
        env = server_env(self.base_url, self.workdir / "cache")
        return RawServer(env, cwd=self.workdir, memory_limit=MEMORY_LIMIT).start()

    def _initialize(self, server: RawServer) -> None:
        initialize(server, [self.target.root])
        wait_ready(server, timeout=30)

    def _retire(self, server: RawServer, *, kill: bool) -> None:
        """Stop ``server`` and harvest its stderr and notifications into the report."""
        if kill:
            server.kill()
        else:
            server.close()
        self._harvest(server)

    @property
    def stderr_texts(self) -> list[str]:
        """stderr of every server this run has retired."""
        return list(self._stderr_seen)

    def _harvest(self, server: RawServer) -> None:
        self._stderr_seen.append(server.stderr_text())
        self._notifications_seen.extend(server.notifications)
        self.report.framing_errors += server.framing_errors

    def _restart(self, why: str) -> RawServer:
        assert self.server is not None
        self._retire(self.server, kill=True)
        self.log(f"restarting the server: {why}")
        self.server = self._new_server()
        self._initialize(self.server)
        return self.server

    # -- sending and checking ----------------------------------------------------------

    def send_program(self, program: Sequence[Outgoing], *, timeout: float = ANSWER_TIMEOUT) -> None:
        """Send ``program``; check answers, validity and liveness; record findings."""
        server = self.server
        assert server is not None
        self._last_program = list(program)
        self.report.cases += 1
        expected: list[Outgoing] = []
        for out in program:
            self.report.messages[out.label] += 1
            if not server.send_bytes(out.to_bytes()):
                break
            if out.raw is not None:
                if out.must_answer:
                    expected.append(out)
                continue
            if not out.is_request:
                continue
            if not _valid_envelope(out.payload):
                self.report.envelope_faults[out.label] += 1
                if _request_shaped(out.payload):
                    expected.append(out)  # owed an InvalidRequest answer with its id
                continue
            body = _body(out)
            if body is not None and not self.parser.parses(body):
                self.report.unparseable_by_pygls[out.label] += 1
            expected.append(out)
        self._check_answers(server, expected, program, timeout)
        if not server.alive():
            self.report.crashes.append(
                f"exit {server.returncode()} after: {self._repro(program)}\n"
                f"stderr tail: {server.stderr_text()[-1500:]}"
            )
            self._restart("it died")

    def _check_answers(
        self,
        server: RawServer,
        expected: list[Outgoing],
        program: Sequence[Outgoing],
        timeout: float,
    ) -> None:
        self.report.requests_expected += len(expected)
        replies = server.responses_to([o.msg_id for o in expected], timeout=timeout)
        for out in expected:
            reply = replies.get(id_key(out.msg_id))
            if reply is None:
                self.report.unanswered.append(
                    f"{describe(out)}\n  in program: {self._repro(program)}"
                )
                continue
            self.report.answered += 1
            problem = valid_response(reply)
            if problem is not None:
                self.report.invalid_responses.append(f"{problem}: {json.dumps(reply)[:300]}")
                continue
            if "result" in reply:
                self.report.results += 1
                continue
            code = reply["error"]["code"]
            self.report.errors_by_code[str(code)] += 1
            if out.raw is None and not _valid_envelope(out.payload):
                self.report.envelope_answers[str(code)] += 1
            if code == -32603:
                text = _ID_NOISE.sub("…", str(reply["error"]["message"]).splitlines()[0])[:140]
                self.report.internal_errors[f"{out.label}: {text}"] += 1

    def probe(self, where: str) -> bool:
        """``minimax.status`` must answer with a result; restarts a hung server."""
        server = self.server
        assert server is not None
        self.report.probes += 1
        started = time.perf_counter()
        reply = server.command("minimax.status", timeout=PROBE_TIMEOUT)
        elapsed = time.perf_counter() - started
        if reply is not None and "result" in reply:
            self.report.probe_latencies.append(elapsed)
            return True
        alive = server.alive()
        self.report.probe_failures.append(
            f"{where}: {'no answer' if reply is None else reply} (alive={alive}) after "
            f"{self._repro(self._last_program)}"
        )
        if alive:
            self.report.hangs.append(f"{where}: {self._repro(self._last_program)}")
        self._restart("the liveness probe failed")
        return False

    def _repro(self, program: Iterable[Outgoing]) -> str:
        return " | ".join(describe(o, 400) for o in program)

    # -- phases ------------------------------------------------------------------------

    def run(self) -> SoakReport:
        started = time.perf_counter()
        self._phase("pre-initialize", self._pre_initialize)
        self._phase("start", self._start)
        self._phase("nasties", self._nasties)
        self._phase("scenarios", self._scenarios)
        self._phase(
            "generated",
            lambda: self._generated(self.cases, exclude=frozenset({"shutdown", "exit"})),
        )
        self._phase("final-check", self._final_check)
        self._phase("post-shutdown", self._post_shutdown)
        self._phase("session-end", self._session_end)
        self._scan_logs()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _phase(self, name: str, step: Callable[[], None]) -> None:
        started = time.perf_counter()
        step()
        self.report.phase_seconds[name] = round(time.perf_counter() - started, 2)
        self.log(f"{name}: {self.report.phase_seconds[name]} s")

    def _start(self) -> None:
        self.server = self._new_server()
        self._initialize(self.server)

    def _pre_initialize(self) -> None:
        self.server = self._new_server()
        before = (self.report.requests_expected, self.report.answered)
        codes_before = Counter(self.report.errors_by_code)
        self._generated(
            PRE_INIT_CASES, exclude=frozenset({"initialize", "initialized"}), probe=False
        )
        server = self.server
        expected = self.report.requests_expected - before[0]
        answered = self.report.answered - before[1]
        codes = Counter(self.report.errors_by_code)
        codes.subtract(codes_before)
        self.report.pre_init = {
            "programs": PRE_INIT_CASES,
            "requests_expected": expected,
            "answered": answered,
            "errors_by_code": {k: v for k, v in codes.items() if v},
            "alive": server.alive(),
        }
        self._initialize(server)  # a server that saw garbage first must still start
        self.report.pre_init["initialized_afterwards"] = self.probe("after the pre-init phase")
        self._retire(server, kill=False)
        self.server = None

    def _generated(self, count: int, *, exclude: frozenset[str], probe: bool = True) -> None:
        done = [0]

        def one(program: list[Outgoing]) -> None:
            self.send_program(program)
            done[0] += 1
            if probe and done[0] % PROBE_EVERY == 0:
                self.probe(f"after program {done[0]}")

        strategy = programs(self.target, self.ids, exclude=exclude)
        runner = settings(
            max_examples=count,
            deadline=None,
            database=None,
            derandomize=self.seed_value is None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )(given(strategy)(one))
        if self.seed_value is not None:
            runner = seed(self.seed_value)(runner)
        runner()

    def _nasties(self) -> None:
        for out in nasties(self.target, self.ids):
            self.send_program([out], timeout=5.0)
            self.probe(f"after {out.label}")

    # -- scenarios -----------------------------------------------------------------------

    def _open(self, rel: str, text: str, version: int = 1) -> str:
        assert self.server is not None
        uri = (self.target.root / rel).as_uri()
        self.server.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "python",
                    "version": version,
                    "text": text,
                }
            },
        )
        return uri

    def _requests(self, label: str, calls: list[tuple[str, Any]]) -> None:
        program = []
        for method, params in calls:
            msg_id = self.ids.plain()
            payload = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}
            program.append(
                Outgoing(
                    f"{label}:{method}", payload, msg_id=msg_id, must_answer=True, is_request=True
                )
            )
        self.send_program(program)

    def _scenarios(self) -> None:
        self.report.scenarios["huge_document"] = self._huge_document()
        self.probe("after the huge document")
        self._surrogates()
        self.probe("after lone surrogates")
        self._positions()
        self.probe("after extreme positions")
        self._versions()
        self.probe("after out-of-order versions")

    def _huge_document(self) -> dict[str, Any]:
        """A 10 MB buffer opened, replaced and closed; the server must keep answering.

        (Requests *on* an over-limit buffer are exercised by the dedicated
        ``test_oversized_buffer_keeps_the_server_responsive``.)
        """
        assert self.server is not None
        text = "value = 1\n" * (HUGE_BYTES // 10)
        started = time.perf_counter()
        uri = self._open("pkg/huge.py", text)
        open_probe = self._timed_status()
        self.server.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text + "x"}]},
        )
        change_probe = self._timed_status()
        self.server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        self.report.messages["scenario:huge-document"] += 3
        return {
            "bytes": len(text),
            "status_after_open_s": open_probe,
            "status_after_change_s": change_probe,
            "seconds": time.perf_counter() - started,
        }

    def _timed_status(self) -> float | None:
        assert self.server is not None
        started = time.perf_counter()
        reply = self.server.command("minimax.status", timeout=60)
        return None if reply is None else round(time.perf_counter() - started, 3)

    def _surrogates(self) -> None:
        text = "def f():\n    s = '\ud800 lone \udfff'\n    return s  # 😀\n\n\ndef g(\ud83d):\n"
        uri = self._open("pkg/sur.py", text)
        rng = {"start": {"line": 0, "character": 0}, "end": {"line": 3, "character": 0}}
        self._requests(
            "surrogates",
            [
                (
                    "workspace/executeCommand",
                    {
                        "command": "minimax.showContext",
                        "arguments": [
                            {
                                "uri": uri,
                                "position": {"line": 1, "character": 9},
                                "includeText": True,
                            }
                        ],
                    },
                ),
                (
                    "textDocument/inlineCompletion",
                    {
                        "textDocument": {"uri": uri},
                        "position": {"line": 2, "character": 12},
                        "context": {"triggerKind": 1},
                    },
                ),
                (
                    "textDocument/codeAction",
                    {"textDocument": {"uri": uri}, "range": rng, "context": {"diagnostics": []}},
                ),
                (
                    "workspace/executeCommand",
                    {"command": "minimax.explain", "arguments": [{"uri": uri, "range": rng}]},
                ),
                (
                    "workspace/executeCommand",
                    {
                        "command": "minimax.chat",
                        "arguments": [{"prompt": "what is \ud800?", "uri": uri}],
                    },
                ),
            ],
        )

    def _positions(self) -> None:
        uri = self._open("pkg/pos.py", "x = '😀😀😀'\ny = 'é'\n\n")
        for line, character in ((10**9, 0), (0, 10**9), (0, 6), (0, 7), (1, 200), (2**31, 2**31)):
            position = {"line": line, "character": character}
            rng = {"start": position, "end": {"line": 0, "character": 0}}  # end before start
            self._requests(
                f"position({line},{character})",
                [
                    (
                        "workspace/executeCommand",
                        {
                            "command": "minimax.showContext",
                            "arguments": [{"uri": uri, "position": position}],
                        },
                    ),
                    (
                        "textDocument/inlineCompletion",
                        {
                            "textDocument": {"uri": uri},
                            "position": position,
                            "context": {"triggerKind": 1},
                        },
                    ),
                    (
                        "textDocument/completion",
                        {"textDocument": {"uri": uri}, "position": position},
                    ),
                    (
                        "textDocument/codeAction",
                        {
                            "textDocument": {"uri": uri},
                            "range": rng,
                            "context": {"diagnostics": []},
                        },
                    ),
                    (
                        "workspace/executeCommand",
                        {"command": "minimax.explain", "arguments": [{"uri": uri, "range": rng}]},
                    ),
                ],
            )
        for line, character in ((-1, 0), (0, -1)):
            position = {"line": line, "character": character}
            self._requests(
                f"position({line},{character})",
                [
                    (
                        "workspace/executeCommand",
                        {
                            "command": "minimax.showContext",
                            "arguments": [{"uri": uri, "position": position}],
                        },
                    )
                ],
            )

    def _versions(self) -> None:
        assert self.server is not None
        uri = self._open("pkg/ver.py", "a = 1\n", version=5)
        changes = [
            (3, [{"text": "b = 2\n"}]),
            (
                4,
                [
                    {
                        "range": {
                            "start": {"line": 50, "character": 0},
                            "end": {"line": 60, "character": 9},
                        },
                        "text": "c",
                    }
                ],
            ),
            (
                10,
                [
                    {
                        "range": {
                            "start": {"line": 0, "character": 4},
                            "end": {"line": 0, "character": 0},
                        },
                        "text": "d",
                    }
                ],
            ),
            (
                1,
                [
                    {
                        "range": {
                            "start": {"line": 0, "character": 0},
                            "end": {"line": 0, "character": 10**9},
                        },
                        "text": "😀",
                    }
                ],
            ),
            (10, [{"text": "same version twice\n"}]),
            (
                -5,
                [
                    {
                        "range": {
                            "start": {"line": 0, "character": 1},
                            "end": {"line": 0, "character": 2},
                        },
                        "rangeLength": 99,
                        "text": "\ud800",
                    }
                ],
            ),
        ]
        for version, content in changes:
            self.server.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": version}, "contentChanges": content},
            )
            self.report.messages["scenario:didChange-out-of-order"] += 1
        unopened = (self.target.root / "pkg/never_opened.py").as_uri()
        self.server.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": unopened, "version": 2}, "contentChanges": [{"text": "x"}]},
        )
        self.server.notify("textDocument/didClose", {"textDocument": {"uri": unopened}})
        self.server.notify("textDocument/didSave", {"textDocument": {"uri": unopened}})
        self._requests(
            "versions",
            [
                (
                    "workspace/executeCommand",
                    {
                        "command": "minimax.showContext",
                        "arguments": [{"uri": uri, "position": {"line": 0, "character": 1}}],
                    },
                ),
                (
                    "workspace/executeCommand",
                    {
                        "command": "minimax.refactor",
                        "arguments": [
                            {
                                "uri": uri,
                                "range": {
                                    "start": {"line": 0, "character": 0},
                                    "end": {"line": 1, "character": 0},
                                },
                                "version": 3,
                            }
                        ],
                    },
                ),
            ],
        )

    # -- the end -------------------------------------------------------------------------

    def _final_check(self) -> None:
        """A normal request still works: a manifest for a workspace file."""
        assert self.server is not None
        # The fuzzer may have removed the folder or changed settings: put both back.
        root = self.target.root
        self.server.notify(
            "workspace/didChangeWorkspaceFolders",
            {"event": {"added": [{"uri": root.as_uri(), "name": root.name}], "removed": []}},
        )
        self.server.notify("workspace/didChangeConfiguration", {"settings": {}})
        uri = self._open("pkg/main.py", (root / "pkg/main.py").read_text(encoding="utf-8"), 10**6)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reply = self.server.command(
                "minimax.showContext",
                {"uri": uri, "position": {"line": 4, "character": 4}},
                timeout=PROBE_TIMEOUT,
            )
            items = ((reply or {}).get("result") or {}).get("items") or []
            if items:
                self.report.final_manifest_items = len(items)
                return
            time.sleep(0.1)

    def _post_shutdown(self) -> None:
        server = self.server
        assert server is not None
        reply = server.call("shutdown", None, timeout=PROBE_TIMEOUT)
        sent: list[Any] = []
        for method, params in (
            ("workspace/executeCommand", {"command": "minimax.status"}),
            (
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": "file:///x.py"},
                    "position": {"line": 0, "character": 0},
                    "context": {"triggerKind": 1},
                },
            ),
            (
                "textDocument/hover",
                {"textDocument": {"uri": "file:///x.py"}, "position": {"line": 0, "character": 0}},
            ),
            ("shutdown", None),
        ):
            sent.append(server.request(method, params))
        server.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": "file:///x.py",
                    "languageId": "python",
                    "version": 1,
                    "text": "x",
                }
            },
        )
        replies = server.responses_to(sent, timeout=1.5)
        codes = [
            (r or {}).get("error", {}).get("code") if r is not None else None
            for r in replies.values()
        ]
        server.notify("exit")
        status = server.wait(10)
        self.report.post_shutdown = {
            "shutdown_result": None if reply is None else reply.get("result", reply.get("error")),
            "shutdown_answered": reply is not None,
            "requests_after": len(sent),
            "answered_after": sum(r is not None for r in replies.values()),
            "error_codes_after": codes,
            "exit_status": status,
        }
        self._retire(server, kill=status is None)
        self.server = None

    def _session_end(self) -> None:
        """Frames that end the session: the process must end cleanly or keep waiting."""
        results: dict[str, Any] = {}
        for label, data in (
            ("eof-inside-body", b'Content-Length: 100\r\n\r\n{"jsonrpc": "2.0"'),
            ("eof-inside-header", b"Content-Len"),
            ("huge-content-length", b"Content-Length: 100000000000000\r\n\r\n{}"),
        ):
            server = self._new_server()
            self._initialize(server)
            server.send_bytes(data)
            time.sleep(0.5)
            alive_while_waiting = server.alive()
            with contextlib.suppress(OSError):
                assert server.process.stdin is not None
                server.process.stdin.close()
            status = server.wait(15)
            results[label] = {
                "alive_while_waiting": alive_while_waiting,
                "exit_status_after_eof": status,
            }
            self._retire(server, kill=status is None)
            self.report.messages[f"session-end:{label}"] += 1
        self.report.session_end = results

    def _scan_logs(self) -> None:
        for text in self._stderr_seen:
            self._scan_stderr(text)
        for note in self._notifications_seen:
            if note.get("method") == "window/showMessage":
                params = note.get("params") or {}
                self.report.popups[f"type {params.get('type')}: {params.get('message')}"] += 1

    def _scan_stderr(self, text: str) -> None:
        """Group logged tracebacks by logger, exception type and our deepest frame."""
        record: list[str] = []
        for line in [*text.splitlines(), "00:00:00.000 END end: end"]:
            if _LOG_LINE.match(line):
                if record:
                    self._classify(record)
                record = [line]
            elif record:
                record.append(line)

    def _classify(self, record: list[str]) -> None:
        head = _LOG_LINE.match(record[0])
        assert head is not None
        level, logger = head["level"], head["logger"]
        if level in ("ERROR", "CRITICAL"):
            message = _ID_NOISE.sub("…", head["msg"])[:120]
            self.report.error_logs[f"{logger}: {message}"] += 1
        if not any("Traceback" in line for line in record):
            return
        exc_types = [m["type"] for line in record if (m := _EXC_LINE.match(line))]
        frames = [f"{m['file']}:{m['func']}" for line in record if (m := _OUR_FRAME.search(line))]
        where = frames[-1] if frames else "no frame of ours"
        last = exc_types[-1] if exc_types else "?"
        self.report.tracebacks[f"{logger}: {last} at {where}"] += 1


def run_soak(
    workdir: Path,
    fake: FakeMiniMax,
    *,
    cases: int = CI_CASES,
    seed_value: int | None = None,
    log: Callable[[str], None] = lambda _: None,
    stderr_log: Path | None = None,
) -> SoakReport:
    """One fuzzing run against ``fake`` in ``workdir`` (see the module docstring).

    ``seed_value=None`` is deterministic (hypothesis derandomised); an int seeds a
    different stream of cases. ``stderr_log`` keeps the servers' stderr (debugging).
    """
    soak = Soak(workdir, fake.anthropic_base_url, cases=cases, seed_value=seed_value, log=log)
    try:
        return soak.run()
    finally:
        if soak.server is not None:
            soak._retire(soak.server, kill=True)
        if stderr_log is not None:
            stderr_log.write_text("\n".join(soak.stderr_texts), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.reliability.soak_protocol [--long] [--cases N] [--seed S] [--json]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help=f"{LONG_CASES} cases, random seed")
    parser.add_argument("--cases", type=int, default=None, help="generated programs")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--stderr-log", type=Path, default=None, help="save the servers' stderr")
    args = parser.parse_args(argv)
    cases = args.cases or (LONG_CASES if args.long else CI_CASES)
    seed_value = args.seed
    if seed_value is None and args.long:
        seed_value = int(time.time())
    with tempfile.TemporaryDirectory(prefix="minimax-soak-") as tmp, FakeMiniMax() as fake:
        report = run_soak(
            Path(tmp),
            fake,
            cases=cases,
            seed_value=seed_value,
            log=lambda m: print(m, file=sys.stderr),
            stderr_log=args.stderr_log,
        )
    summary = report.summary()
    summary["seed"] = seed_value
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        for key, value in summary.items():
            print(f"{key}: {json.dumps(value, default=str)[:2000]}")
    bad = report.crashes or report.hangs or report.unanswered or report.framing_errors
    return 1 if bad or report.invalid_responses or report.probe_failures else 0


if __name__ == "__main__":
    sys.exit(main())
