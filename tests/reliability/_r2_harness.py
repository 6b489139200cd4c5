"""Plumbing shared by engineer R2's reliability tests and ``tests/reliability/soak.py``.

The tests drive the real ``minimax-lsp serve`` process with the pytest-lsp client of
``tests/e2e/conftest.py`` against the fake MiniMax server, and watch the process from
outside through Linux ``/proc`` (no psutil here).

Contract
--------
* `launch(fake, workdir, root, ...)`: an async context manager that starts the server
  (the e2e client: it records ``minimax/status``, deltas, raw messages), initializes it
  with ``root`` as its workspace folder and waits until that folder is indexed, then
  shuts it down on exit. Spend caps are lifted unless ``init_options`` says otherwise.
* `ProcSample` / `sample_process(pid, port)`: CPU seconds, RSS, threads, open file
  descriptors and TCP connections to the fake's ``port`` of one process.
* `Document`: an editor buffer: keeps the text and version the client believes in,
  sends ``didOpen`` / ``didClose`` / incremental ``didChange``.
* `send_inline` / `cancel` / `inline_items` / `inline_params`: raw requests with chosen
  ids, so a test can ``$/cancelRequest`` them and match every response to its request
  in ``client.raw``.
* `run_command(client, fake, command, arguments)`: run one ``workspace/executeCommand``
  and collect what it cost: the model requests it made (with their arrival times), the
  wall time, the result or JSON-RPC error, the deltas and messages it caused.
* `percentiles(values)`: p50 / p95 / p99 / max in milliseconds.
* `generate_tree(root, modules)`: a deterministic mid-size Python package tree.
* `poll(predicate)`, `wait_indexed(client)`, `model_requests(fake)`,
  `status_states(client)`: small waits and views.

Nothing here judges the server (only `poll` / `wait_indexed` give up after a time
limit): the tests decide what a failure is.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import random
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig

from tests.e2e.conftest import (
    MiniMaxTestClient,
    initialize,
    make_client,
    server_environment,
    stop,
)
from tests.fake_minimax import FakeMiniMax, RecordedRequest

__all__ = [
    "NO_CAPS",
    "REQUEST_CANCELLED",
    "SERVER_COMMAND",
    "CommandOutcome",
    "Document",
    "ProcSample",
    "cancel",
    "generate_tree",
    "inline_items",
    "inline_params",
    "launch",
    "model_requests",
    "percentiles",
    "poll",
    "run_command",
    "sample_process",
    "send_inline",
    "status_states",
    "wait_indexed",
]

#: The server under test (the same command as the e2e tests).
SERVER_COMMAND: Final[tuple[str, ...]] = (sys.executable, "-m", "minimax_lsp", "serve")
#: Spend caps lifted: the reliability runs send far more than 30 completions a minute.
NO_CAPS: Final[Mapping[str, Any]] = {
    "spend": {"automaticRequestsPerMinute": 1_000_000, "tokensPerDay": 0}
}
#: JSON-RPC "request cancelled" (LSP ``RequestCancelled``).
REQUEST_CANCELLED: Final = -32800

_TCP_STATES: Final[Mapping[str, str]] = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


# --------------------------------------------------------------------------- the process


@dataclass(frozen=True)
class ProcSample:
    """One look at a process from ``/proc``.

    Attributes
    ----------
    at:
        ``time.monotonic()`` of the sample.
    cpu_seconds:
        User + system CPU time of all threads so far.
    rss_kib:
        Resident set size (``VmRSS``).
    threads:
        OS threads.
    fds:
        Open file descriptors.
    connections:
        TCP sockets of this process whose peer is the watched port, by state name.
    """

    at: float
    cpu_seconds: float
    rss_kib: int
    threads: int
    fds: int
    connections: Mapping[str, int]

    @property
    def open_connections(self) -> int:
        """Connections that still hold a socket (any state)."""
        return sum(self.connections.values())


def _cpu_seconds(pid: int) -> float:
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _status_fields(pid: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        out[name] = value.strip()
    return out


def _socket_inodes(pid: int) -> tuple[int, set[str]]:
    """(number of open fds, inodes of the socket fds)."""
    count = 0
    inodes: set[str] = set()
    for entry in os.scandir(f"/proc/{pid}/fd"):
        count += 1
        with contextlib.suppress(OSError):  # the fd closed between listing and reading
            target = os.readlink(entry.path)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return count, inodes


def _connections(pid: int, inodes: set[str], port: int | None) -> dict[str, int]:
    states: dict[str, int] = {}
    if port is None:
        return states
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
            for line in lines:
                fields = line.split()
                if len(fields) < 10 or fields[9] not in inodes:
                    continue
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port:
                    state = _TCP_STATES.get(fields[3], fields[3])
                    states[state] = states.get(state, 0) + 1
    return states


def sample_process(pid: int, port: int | None = None) -> ProcSample:
    """Sample process ``pid`` (Linux ``/proc``); ``port``: count TCP connections to it."""
    status = _status_fields(pid)
    fds, inodes = _socket_inodes(pid)
    return ProcSample(
        at=time.monotonic(),
        cpu_seconds=_cpu_seconds(pid),
        rss_kib=int(status.get("VmRSS", "0 kB").split()[0]),
        threads=int(status.get("Threads", "0")),
        fds=fds,
        connections=_connections(pid, inodes, port),
    )


# --------------------------------------------------------------------------- statistics


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (``nan`` when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """``{"n", "p50_ms", "p95_ms", "p99_ms", "max_ms"}`` of durations in seconds."""
    ms = sorted(v * 1000 for v in seconds)
    return {
        "n": len(ms),
        "p50_ms": round(_percentile(ms, 50), 2),
        "p95_ms": round(_percentile(ms, 95), 2),
        "p99_ms": round(_percentile(ms, 99), 2),
        "max_ms": round(ms[-1], 2) if ms else math.nan,
    }


# --------------------------------------------------------------------------- the server


def model_requests(fake: FakeMiniMax) -> list[RecordedRequest]:
    """Model calls (Anthropic Messages or OpenAI chat completions) the fake received."""
    return [r for r in fake.requests if r.path.endswith(("/messages", "/chat/completions"))]


def status_states(client: MiniMaxTestClient) -> list[str]:
    """The overall (document-less) ``minimax/status`` states received, in order."""
    return [s.get("state", "") for s in client.statuses if s.get("uri") is None]


async def wait_indexed(client: MiniMaxTestClient, limit: float = 60.0) -> float:
    """Wait for a ``ready`` status with files indexed; returns the seconds waited."""
    started = time.monotonic()
    while True:
        if any(s.get("state") == "ready" and s.get("files") for s in client.statuses):
            return time.monotonic() - started
        if time.monotonic() - started > limit:
            raise AssertionError(f"workspace not indexed within {limit} s: {client.statuses}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def launch(
    fake: FakeMiniMax,
    workdir: Path,
    root: Path,
    *,
    profile: str = "visual-studio-code",
    init_options: Mapping[str, Any] | None = None,
    inline_completion: bool = True,
    env: Mapping[str, str] | None = None,
    index_limit: float = 60.0,
) -> AsyncIterator[MiniMaxTestClient]:
    """A started, initialized and indexed server for workspace ``root``.

    Parameters
    ----------
    fake:
        The fake MiniMax the server talks to.
    workdir:
        Scratch folder (the index cache goes to ``workdir/cache``).
    root:
        The workspace folder.
    profile:
        Recorded client capabilities (``visual-studio-code`` or ``neovim``).
    init_options:
        ``initializationOptions``; default `NO_CAPS` (spend caps lifted).
    inline_completion:
        Declare LSP 3.18 inline completion in the capabilities.
    env:
        Extra environment for the server process.
    index_limit:
        Seconds to wait for the first indexing to finish.
    """
    config = ClientServerConfig(
        server_command=list(SERVER_COMMAND),
        client_factory=make_client,
        server_env=server_environment(fake, workdir / "cache", **dict(env or {})),
    )
    client = await config.start()
    assert isinstance(client, MiniMaxTestClient)
    client.profile = profile
    try:
        options = dict(NO_CAPS if init_options is None else init_options)
        await initialize(client, root, init_options=options, inline_completion=inline_completion)
        await wait_indexed(client, index_limit)
        yield client
    finally:
        await stop(client)


# --------------------------------------------------------------------------- documents


class Document:
    """An editor buffer: the text and version the client believes the server has.

    Parameters
    ----------
    client:
        The LSP client.
    path:
        The file (its URI is the document's).
    text:
        Initial text (default: the file on disk).
    language_id:
        The LSP language id.
    """

    def __init__(
        self,
        client: MiniMaxTestClient,
        path: Path,
        text: str | None = None,
        *,
        language_id: str = "python",
    ) -> None:
        self.client = client
        self.path = path
        self.uri = path.as_uri()
        self.text = path.read_text(encoding="utf-8") if text is None else text
        self.language_id = language_id
        self.version = 0
        self.is_open = False

    @property
    def lines(self) -> list[str]:
        """The text's lines without line breaks (a final empty line after a last break)."""
        return self.text.split("\n")

    def open(self) -> None:
        """``didOpen`` with the current text (a new version)."""
        self.version += 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=self.uri, language_id=self.language_id, version=self.version, text=self.text
                )
            )
        )
        self.is_open = True

    def close(self) -> None:
        """``didClose``."""
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(self.uri))
        )
        self.is_open = False

    def _offset(self, line: int, character: int) -> int:
        lines = self.lines
        return sum(len(x) + 1 for x in lines[:line]) + character

    def replace(self, start: tuple[int, int], end: tuple[int, int], new_text: str) -> None:
        """Replace the text between two (line, character) positions (ASCII text only)."""
        a, b = self._offset(*start), self._offset(*end)
        self.text = self.text[:a] + new_text + self.text[b:]
        self.version += 1
        change = types.TextDocumentContentChangePartial(
            range=types.Range(
                start=types.Position(line=start[0], character=start[1]),
                end=types.Position(line=end[0], character=end[1]),
            ),
            text=new_text,
        )
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=self.uri, version=self.version
                ),
                content_changes=[change],
            )
        )

    def insert(self, line: int, character: int, text: str) -> None:
        """Insert ``text`` at (line, character)."""
        self.replace((line, character), (line, character), text)

    def end_of(self, line: int) -> tuple[int, int]:
        """The position at the end of ``line``."""
        return line, len(self.lines[line])


def inline_params(
    uri: str, line: int, character: int, *, invoked: bool = False
) -> types.InlineCompletionParams:
    """``textDocument/inlineCompletion`` params (automatic trigger unless ``invoked``)."""
    kind = (
        types.InlineCompletionTriggerKind.Invoked
        if invoked
        else types.InlineCompletionTriggerKind.Automatic
    )
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=kind),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
    )


def send_inline(
    client: MiniMaxTestClient,
    uri: str,
    line: int,
    character: int,
    msg_id: str,
    *,
    invoked: bool = False,
) -> asyncio.Future[Any]:
    """Send an inline-completion request with id ``msg_id``; the future has its result."""
    return asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            inline_params(uri, line, character, invoked=invoked),
            msg_id=msg_id,
        )
    )


def cancel(client: MiniMaxTestClient, msg_id: str) -> None:
    """``$/cancelRequest`` for ``msg_id``."""
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))


def inline_items(result: Any) -> list[types.InlineCompletionItem]:
    """The items of an inline-completion result (list, ``InlineCompletionList`` or None)."""
    if isinstance(result, types.InlineCompletionList):
        return list(result.items)
    return list(result or [])


# --------------------------------------------------------------------------- workspaces


_MODULE_TEMPLATE: Final = '''"""Module {name}: generated for the reliability soak."""

from __future__ import annotations

{imports}


class {cls}:
    """A record kept by module {name}."""

    def __init__(self, value: int, label: str = "{name}") -> None:
        self.value = value
        self.label = label

    def scaled(self, factor: int) -> int:
        total = self.value * factor
        return total

    def describe(self) -> str:
        return f"{{self.label}}={{self.value}}"


def compute_{name}(values: list[int], default: int = 0) -> int:
    """Sum ``values`` through {cls}."""
    if not values:
        return default
    result = 0
    for value in values:
        result += {cls}(value).scaled(2)
    return result


def helper_{name}(text: str) -> str:
    cleaned = text.strip()
    return cleaned.upper()
{extra}'''


def generate_tree(root: Path, modules: int = 300, *, seed: int = 7) -> list[Path]:
    """Write a deterministic package tree of ``modules`` Python modules under ``root``.

    Modules live in packages of 20 (``pkg00/mod000.py`` ...), each importing two or three
    earlier modules, so the index has a real import graph. Returns the module paths.
    """
    rng = random.Random(seed)
    paths: list[Path] = []
    names: list[tuple[str, str]] = []  # (dotted module, name)
    for n in range(modules):
        package = root / f"pkg{n // 20:02d}"
        if n % 20 == 0:
            package.mkdir(parents=True, exist_ok=True)
            (package / "__init__.py").write_text("", encoding="utf-8")
        name = f"m{n:03d}"
        imports = []
        for dotted, other in rng.sample(names, min(3, len(names))):
            imports.append(f"from {dotted} import compute_{other}, helper_{other}")
        extra_lines = [
            f"\n\ndef extra_{name}_{k}(x: int) -> int:\n    return x + {k}\n"
            for k in range(rng.randint(0, 6))
        ]
        text = _MODULE_TEMPLATE.format(
            name=name,
            cls=f"Record{n:03d}",
            imports="\n".join(imports) or "import math",
            extra="".join(extra_lines),
        )
        path = package / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
        names.append((f"pkg{n // 20:02d}.{name}", name))
    (root / "README.md").write_text("# generated soak workspace\n", encoding="utf-8")
    return paths


async def poll(predicate: Callable[[], Any], *, limit: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until truthy; returns its value, or raises after ``limit`` s."""
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {limit} s")
        await asyncio.sleep(interval)


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class CommandOutcome:
    """What one ``workspace/executeCommand`` did (see `run_command`).

    Attributes
    ----------
    result:
        The result, or ``None`` after an error.
    error:
        The JSON-RPC error, or ``None``.
    attempts:
        Model requests the fake received meanwhile, in arrival order.
    seconds:
        Wall time from sending the request to its answer.
    deltas:
        ``minimax/streamDelta`` notifications received meanwhile.
    messages:
        ``window/showMessage`` texts received meanwhile.
    """

    result: Any
    error: JsonRpcException | None
    attempts: tuple[RecordedRequest, ...]
    seconds: float
    deltas: tuple[Mapping[str, Any], ...]
    messages: tuple[str, ...]

    @property
    def gaps(self) -> list[float]:
        """Seconds between consecutive attempts (the backoff the server waited, plus I/O)."""
        times = [a.received_at for a in self.attempts]
        return [b - a for a, b in itertools.pairwise(times)]

    @property
    def streamed(self) -> str:
        """The text deltas concatenated (thinking excluded)."""
        return "".join(str(d.get("text", "")) for d in self.deltas if d.get("kind") is None)


async def run_command(
    client: MiniMaxTestClient,
    fake: FakeMiniMax,
    command: str,
    arguments: Mapping[str, Any],
    *,
    limit: float = 30.0,
) -> CommandOutcome:
    """Run ``command [arguments]`` and collect its `CommandOutcome`.

    Messages and deltas that arrive a moment after the answer are collected too (the
    server sends them before the response, but the client dispatches them separately).
    """
    requests_before = len(model_requests(fake))
    deltas_before = len(client.deltas)
    messages_before = len(client.messages)
    params = types.ExecuteCommandParams(command=command, arguments=[dict(arguments)])
    started = time.monotonic()
    result: Any = None
    error: JsonRpcException | None = None
    try:
        result = await asyncio.wait_for(client.workspace_execute_command_async(params), limit)
    except JsonRpcException as exc:
        error = exc
    seconds = time.monotonic() - started
    await asyncio.sleep(0.05)  # let notifications sent just before the answer land
    return CommandOutcome(
        result=result,
        error=error,
        attempts=tuple(model_requests(fake)[requests_before:]),
        seconds=seconds,
        deltas=tuple(client.deltas[deltas_before:]),
        messages=tuple(m.message for m in client.messages[messages_before:]),
    )
