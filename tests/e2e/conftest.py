"""Shared fixtures for end-to-end tests of the real ``minimax-lsp serve`` process.

Every test drives the real server as a subprocess over stdio with a pytest-lsp client,
against the fake MiniMax server (``fake_minimax``) on 127.0.0.1. The server's
environment is the test process's minus every ``MINIMAX_*`` variable, plus
``MINIMAX_API_KEY=test-key``, ``MINIMAX_BASE_URL=<the fake>`` and a private
``MINIMAX_LSP_CACHE_DIR``.

Fixtures
    ``make_workspace(name="project", files=None, *, git=False) -> Path``
        A folder with `DEFAULT_FILES` (or ``files``), optionally a git repository.
    ``start_server(profile="neovim", *, env=None, args=()) -> MiniMaxTestClient``
        Start a server (not yet initialized); stopped after the test.
    ``client``
        A started server, parametrised over the recorded client capabilities of
        VS Code and Neovim (``client.profile``).

Helpers (plain functions)
    ``await initialize(client, roots, init_options=..., inline_completion=False)``,
    ``await wait_for_status(client, state, uri=None, after=0)``,
    ``open_document(client, path, text=None) -> uri``, ``await execute(client, cmd, *args)``,
    ``await wait_until(predicate)``, ``await eventually(async_check)``.

The client records every ``minimax/status`` (``client.statuses``), ``minimax/streamDelta``
(``client.deltas``), dynamic registration (``client.registrations``) and every raw
message received (``client.raw``), besides pytest-lsp's ``messages``, ``log_messages``
and ``progress_reports``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClientProtocol
from pytest_lsp.client import register_lsp_features

from tests.fake_minimax import FakeMiniMax

#: The command that starts the server under test.
SERVER_COMMAND: list[str] = [sys.executable, "-m", "minimax_lsp", "serve"]
#: The two recorded client capability sets every parametrised test runs with.
PROFILES: tuple[str, ...] = ("visual-studio-code", "neovim")
#: Default API key given to the server (the fake accepts it).
TEST_KEY = "test-key"
#: A small project: a package whose `main` imports `util`, a README and secrets.
DEFAULT_FILES: Mapping[str, str] = {
    "pkg/__init__.py": "",
    "pkg/util.py": "def helper(value):\n    return value * 2\n\n\nclass Box:\n    pass\n",
    "pkg/extra.py": "def extra_thing():\n    return 'extra'\n",
    "pkg/main.py": (
        "from pkg.util import helper\n\n\ndef run():\n    total = helper(21)\n    return total\n"
    ),
    "README.md": "# demo project\n",
    ".env": "API_TOKEN=sk-cp-envfile-value-1234567890\n",
}


class RecordingProtocol(LanguageClientProtocol):
    """Keeps every raw JSON-RPC message the client receives (for leak scans)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.raw: list[dict[str, Any]] = []

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" in data:
            self.raw.append(data)
        return super().structure_message(data)


class MiniMaxTestClient(pytest_lsp.LanguageClient):
    """pytest-lsp client that also records our custom notifications."""

    protocol: RecordingProtocol

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.profile = "neovim"
        self.statuses: list[dict[str, Any]] = []
        self.deltas: list[dict[str, Any]] = []
        self.registrations: list[types.Registration] = []
        self.initialize_seconds = 0.0

    @property
    def raw(self) -> list[dict[str, Any]]:
        return self.protocol.raw

    @property
    def process(self) -> asyncio.subprocess.Process:
        assert self._server is not None
        return self._server


def plain(value: Any) -> Any:
    """Custom notifications arrive as pygls namedtuples: back to plain JSON values."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def make_client() -> MiniMaxTestClient:
    client = MiniMaxTestClient(protocol_cls=RecordingProtocol, converter_factory=default_converter)
    register_lsp_features(client)

    @client.feature("minimax/status")
    def on_status(ls: MiniMaxTestClient, params: Any) -> None:
        ls.statuses.append(plain(params))

    @client.feature("minimax/streamDelta")
    def on_delta(ls: MiniMaxTestClient, params: Any) -> None:
        ls.deltas.append(plain(params))

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def on_register(ls: MiniMaxTestClient, params: types.RegistrationParams) -> None:
        ls.registrations.extend(params.registrations)

    @client.feature(types.CLIENT_UNREGISTER_CAPABILITY)
    def on_unregister(ls: MiniMaxTestClient, params: types.UnregistrationParams) -> None:
        gone = {u.id for u in params.unregisterations}
        ls.registrations = [r for r in ls.registrations if r.id not in gone]

    return client


def server_environment(fake: FakeMiniMax, cache_dir: Path, **extra: str) -> dict[str, str]:
    """The server's environment: ours without MINIMAX_*, plus the test settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIMAX")}
    env.update(
        MINIMAX_API_KEY=TEST_KEY,
        MINIMAX_BASE_URL=fake.anthropic_base_url,
        MINIMAX_LSP_CACHE_DIR=str(cache_dir),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def capabilities(profile: str, *, inline_completion: bool = False) -> types.ClientCapabilities:
    """A recorded capability set, optionally declaring LSP 3.18 inline completion."""
    caps = pytest_lsp.client_capabilities(profile)
    if inline_completion:
        # The recorded snapshots predate inline completion (feasibility.md §2, gotcha 5).
        text = caps.text_document or types.TextDocumentClientCapabilities()
        text.inline_completion = types.InlineCompletionClientCapabilities(
            dynamic_registration=False
        )
        caps.text_document = text
    return caps


# --------------------------------------------------------------------------- collection

_E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``e2e`` and run them last (STYLE.md 20)."""
    ours = [item for item in items if item.path.is_relative_to(_E2E_DIR)]
    for item in ours:
        item.add_marker(pytest.mark.e2e)
    others = [item for item in items if not item.path.is_relative_to(_E2E_DIR)]
    items[:] = others + ours


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def make_workspace(tmp_path: Path) -> Callable[..., Path]:
    """``make_workspace(name="project", files=None, *, git=False) -> Path``."""

    def make(
        name: str = "project", files: Mapping[str, str] | None = None, *, git: bool = False
    ) -> Path:
        root = tmp_path / name
        for rel, text in (DEFAULT_FILES if files is None else files).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        root.mkdir(parents=True, exist_ok=True)
        if git:
            subprocess.run(
                ["git", "init", "-q", str(root)], check=True, capture_output=True, timeout=20
            )
        return root

    return make


ServerFactory = Callable[..., Awaitable[MiniMaxTestClient]]


@pytest.fixture
async def start_server(fake_minimax: FakeMiniMax, tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """``await start_server(profile="neovim", *, env=None, args=())``: a running server."""
    started: list[MiniMaxTestClient] = []

    async def start(
        profile: str = "neovim",
        *,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> MiniMaxTestClient:
        config = ClientServerConfig(
            server_command=[*SERVER_COMMAND, *args],
            client_factory=make_client,
            server_env=server_environment(fake_minimax, tmp_path / "cache", **(env or {})),
        )
        client = await config.start()
        assert isinstance(client, MiniMaxTestClient)
        client.profile = profile
        started.append(client)
        return client

    yield start
    for client in started:
        await stop(client)


@pytest.fixture(params=PROFILES)
async def client(request: pytest.FixtureRequest, start_server: ServerFactory) -> MiniMaxTestClient:
    """A started (not yet initialized) server, once per recorded client profile."""
    return await start_server(request.param)


# --------------------------------------------------------------------------- helpers


def folder(root: Path) -> types.WorkspaceFolder:
    return types.WorkspaceFolder(uri=root.as_uri(), name=root.name)


async def initialize(
    client: MiniMaxTestClient,
    roots: Path | Sequence[Path] | None,
    *,
    init_options: Any = None,
    inline_completion: bool = False,
    configuration: bool = True,
) -> types.InitializeResult:
    """``initialize`` + ``initialized`` with the client's profile and workspace folders.

    ``configuration=False`` removes ``workspace/configuration`` support (push-only client).
    """
    if isinstance(roots, Path):
        roots = [roots]
    folders = [folder(r) for r in roots or []]
    caps = capabilities(client.profile, inline_completion=inline_completion)
    if not configuration and caps.workspace is not None:
        caps.workspace.configuration = False
    params = types.InitializeParams(
        capabilities=caps,
        workspace_folders=folders or None,
        root_uri=folders[0].uri if folders else None,
        initialization_options=init_options,
        client_info=types.ClientInfo(name=f"pytest ({client.profile})"),
    )
    started = time.perf_counter()
    result = await asyncio.wait_for(client.initialize_session(params), 10)
    client.initialize_seconds = time.perf_counter() - started
    return result


async def wait_until(
    predicate: Callable[[], Any], *, limit: float = 10.0, interval: float = 0.02
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``limit`` s."""
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {limit} s")
        await asyncio.sleep(interval)


async def eventually(check: Callable[[], Awaitable[bool]], *, limit: float = 10.0) -> None:
    """Await ``check()`` until it is true (it usually asks the server something)."""
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {limit} s")
        await asyncio.sleep(0.05)


async def wait_for_status(
    client: MiniMaxTestClient,
    state: str,
    *,
    uri: str | None = None,
    after: int = 0,
    limit: float = 10.0,
) -> dict[str, Any]:
    """The first ``minimax/status`` with ``state`` (and ``uri``) among ``statuses[after:]``.

    Polls the recorded list instead of waiting for "the next" notification, which may
    already have arrived (feasibility.md §2, gotcha 4).
    """

    def find() -> dict[str, Any] | None:
        for status in client.statuses[after:]:
            if status.get("state") == state and status.get("uri") == uri:
                return status
        return None

    try:
        found: dict[str, Any] = await wait_until(find, limit=limit)
    except AssertionError:
        raise AssertionError(
            f"no {state!r} status (uri={uri}) within {limit} s; got {client.statuses[after:]}"
        ) from None
    return found


def open_document(
    client: MiniMaxTestClient,
    path: Path,
    text: str | None = None,
    *,
    language_id: str = "python",
    version: int = 1,
) -> str:
    """``didOpen`` ``path`` (with its disk text unless ``text``); returns its URI."""
    uri = path.as_uri()
    if text is None:
        text = path.read_text(encoding="utf-8")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language_id, version=version, text=text
            )
        )
    )
    return uri


async def execute(client: MiniMaxTestClient, command: str, *arguments: Any) -> Any:
    """``workspace/executeCommand`` with ``arguments``; returns the result."""
    params = types.ExecuteCommandParams(command=command, arguments=list(arguments))
    return await asyncio.wait_for(client.workspace_execute_command_async(params), 15)


async def stop(client: MiniMaxTestClient, *, limit: float = 5.0) -> None:
    """Shut the server down (if still running) and make sure the process is gone."""
    process = client._server
    if process is not None and process.returncode is None and client.capabilities is None:
        process.terminate()  # never initialized: nothing to shut down
    try:
        if process is not None and process.returncode is None and not client.stopped:
            await asyncio.wait_for(client.shutdown_session(), limit)
    except Exception:
        pass
    if process is not None and process.returncode is None:
        try:
            await asyncio.wait_for(process.wait(), limit)
        except TimeoutError:
            process.kill()
            await process.wait()
    await asyncio.wait_for(client.stop(), limit)
