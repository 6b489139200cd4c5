"""The session core without a client: facts, settings, model client, workspaces, tasks."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types

from minimax_lsp.indexer.scan import ScanOptions, SkipReason
from minimax_lsp.indexer.tokens import TokenCounter
from minimax_lsp.server.app import MiniMaxLanguageServer, create_server
from minimax_lsp.server.model import (
    AuthError,
    ConnectionFailed,
    MissingApiKey,
    QuotaExceeded,
    RateLimited,
    SpendLimitReached,
)
from minimax_lsp.server.session import ClientFacts, _classify, _initial_folders
from minimax_lsp.server.status import Status, StatusReporter
from minimax_lsp.server.tasks import TaskSet
from minimax_lsp.server.workspaces import (
    Folder,
    Location,
    RunProgress,
    Workspace,
    Workspaces,
    document_denial,
    single_file_manifest,
    uri_to_path,
)
from tests.server.test_notify import Wire

KEY = "sk-cp-unit-test-key-0001"


def wired(environ: dict[str, str] | None = None) -> tuple[MiniMaxLanguageServer, Wire]:
    server = MiniMaxLanguageServer(environ={"MINIMAX_API_KEY": KEY} if environ is None else environ)
    wire = Wire()
    server.protocol.set_writer(wire)
    return server, wire


def shown(wire: Wire) -> list[str]:
    return [
        m["params"]["message"] for m in wire.messages() if m.get("method") == "window/showMessage"
    ]


# --------------------------------------------------------------------------- client facts


def test_client_facts_from_recorded_clients() -> None:
    vscode = ClientFacts.from_params(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            client_info=types.ClientInfo(name="Visual Studio Code"),
        )
    )
    assert vscode == ClientFacts(
        name="Visual Studio Code",
        inline_completion=False,
        work_done_progress=True,
        configuration=True,
        configuration_dynamic=True,
        watched_files_dynamic=True,
        workspace_folders=True,
        show_document=True,
    )
    caps = pytest_lsp.client_capabilities("neovim")
    assert caps.text_document is not None
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    neovim = ClientFacts.from_params(types.InitializeParams(capabilities=caps))
    assert neovim.inline_completion is True
    assert neovim.watched_files_dynamic is False
    bare = ClientFacts.from_params(types.InitializeParams(capabilities=types.ClientCapabilities()))
    assert bare == ClientFacts()


def test_initial_folders_prefer_workspace_folders(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    params = types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        workspace_folders=[
            types.WorkspaceFolder(uri=a.as_uri(), name="A"),
            types.WorkspaceFolder(uri="untitled:notebook", name="remote"),
            types.WorkspaceFolder(uri=b.as_uri(), name="B"),
        ],
        root_uri=(tmp_path / "ignored").as_uri(),
    )
    assert _initial_folders(params) == [Folder(a.as_uri(), a, "A"), Folder(b.as_uri(), b, "B")]
    by_uri = types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=a.as_uri())
    assert [f.root for f in _initial_folders(by_uri)] == [a]
    by_path = types.InitializeParams(capabilities=types.ClientCapabilities(), root_path=str(b))
    assert [(f.root, f.name) for f in _initial_folders(by_path)] == [(b, "b")]
    none = types.InitializeParams(capabilities=types.ClientCapabilities())
    assert _initial_folders(none) == []  # single-file mode


def test_uri_to_path() -> None:
    assert uri_to_path("file:///home/u/my%20project/a.py") == Path("/home/u/my project/a.py")
    assert uri_to_path("untitled:Untitled-1") is None
    assert uri_to_path("vscode-notebook-cell:/x.ipynb#a") is None


# --------------------------------------------------------------------------- model errors


@pytest.mark.parametrize(
    ("error", "kind", "state"),
    [
        (MissingApiKey("no key"), "no-key", "no-key"),
        (AuthError("401"), "bad-key", "error"),
        (QuotaExceeded("quota"), "quota", "error"),
        (ConnectionFailed("down"), "offline", "offline"),
        (SpendLimitReached("cap", limit="tokens_per_day"), "spend-limit", "spend-limit"),
    ],
)
def test_persistent_model_errors_are_classified(error: Exception, kind: str, state: str) -> None:
    verdict = _classify(error)
    assert verdict is not None
    assert verdict[:2] == (kind, state)


def test_transient_model_errors_only_log() -> None:
    assert _classify(RateLimited("slow down")) is None
    assert _classify(ValueError("not a model error")) is None


async def test_model_error_reports_status_and_one_message() -> None:
    server, wire = wired()
    session = server.session
    session.outbox.bind(asyncio.get_running_loop())
    for _ in range(3):
        session.report_model_error(ConnectionFailed("Cannot connect to MiniMax"))
    session.report_model_error(RateLimited("slow down"))  # transient: nothing shown
    statuses = [m["params"] for m in wire.messages() if m.get("method") == "minimax/status"]
    assert [s["state"] for s in statuses] == ["offline"]
    assert shown(wire) == ["MiniMax is unreachable: Cannot connect to MiniMax"]
    session.report_model_ok()
    statuses = [m["params"] for m in wire.messages() if m.get("method") == "minimax/status"]
    assert statuses[-1]["state"] == "ready"


def test_failing_notification_handlers_raise_one_message_not_a_flood() -> None:
    from pygls.exceptions import FeatureNotificationError, FeatureRequestError

    server, wire = wired()
    for _ in range(5):
        server.report_server_error(RuntimeError("didChange broke"), FeatureNotificationError)
    server.report_server_error(RuntimeError("a request failed"), FeatureRequestError)
    assert shown(wire) == ["MiniMax: an internal error occurred. See the output for details."]


# --------------------------------------------------------------------------- settings


async def test_settings_problems_are_reported_once_per_new_problem() -> None:
    server, wire = wired()
    session = server.session
    session.outbox.bind(asyncio.get_running_loop())
    await session.reload_settings({"minimax": {"maxFileBytes": -1, "futureSetting": 1}})
    await session.reload_settings({"minimax": {"maxFileBytes": -1}})
    assert len(shown(wire)) == 1
    assert "maxFileBytes" in shown(wire)[0]
    await session.reload_settings({"minimax": {"maxFileBytes": -1, "logLevel": "loud"}})
    assert len(shown(wire)) == 2
    assert "logLevel" in shown(wire)[1]


async def test_model_client_is_built_lazily_and_rebuilt_on_change() -> None:
    server, _ = wired()
    session = server.session
    session.outbox.bind(asyncio.get_running_loop())
    first = session.model_client
    assert session.model_client is first
    assert first.config.api_key is not None
    assert first.config.api_key.reveal() == KEY  # from the environment only
    await session.reload_settings({"minimax": {"showNotifications": "always"}})
    assert session.model_client is first  # nothing the client uses changed
    await session.reload_settings({"minimax": {"model": "MiniMax-M2.5"}})
    second = session.model_client
    assert second is not first
    assert second.config.model == "MiniMax-M2.5"
    assert second.ledger is first.ledger  # usage survives the rebuild
    await session.shutdown()


async def test_invalid_base_url_falls_back_with_a_message() -> None:
    server, wire = wired({"MINIMAX_API_KEY": KEY, "MINIMAX_BASE_URL": "ftp://nope"})
    session = server.session
    session.outbox.bind(asyncio.get_running_loop())
    await session.reload_settings({})
    assert session.model_client.config.base_url == "https://api.minimax.io/anthropic"
    assert any("baseUrl" in m for m in shown(wire))


def test_key_presence_without_reading_it(tmp_path: Path) -> None:
    assert MiniMaxLanguageServer(environ={"MINIMAX_API_KEY": KEY}).session.key_present
    session = MiniMaxLanguageServer(environ={}).session
    assert not session.key_present
    key_file = tmp_path / "key"
    session._client_config = session._build_client_config(
        type(session.settings)(apiKeyFile=str(key_file))
    )[0]
    assert not session.key_present
    key_file.write_text(KEY)
    assert session.key_present


def test_budgets_follow_the_settings() -> None:
    session = MiniMaxLanguageServer(environ={}).session
    assert session.budget_for("complete") == 6000
    assert session.budget_for("explain") == 64_000
    chat = session.budget_for("chat")  # automatic: sized from the model's window
    assert 100_000 < chat < 1_100_000


def test_commands_are_registered_with_their_names() -> None:
    server = create_server(features=("minimax_lsp.server.features.workspace_commands",))
    assert set(server.protocol.fm.commands) == {
        "minimax.status",
        "minimax.reindex",
        "minimax.showContext",
    }


def test_a_failing_feature_module_does_not_stop_the_server(caplog: Any) -> None:
    with caplog.at_level(logging.ERROR, logger="minimax_lsp.app"):
        server = create_server(
            features=(
                "minimax_lsp.server.features.no_such_feature",
                "minimax_lsp.server.features.workspace_commands",
            )
        )
    assert "minimax.status" in server.protocol.fm.commands
    assert "no_such_feature could not be set up" in caplog.text


# --------------------------------------------------------------------------- status


def test_status_reporter_drops_repeats_per_uri() -> None:
    sent: list[tuple[str, object]] = []
    reporter = StatusReporter(lambda method, params: sent.append((method, params)))
    ready = Status("ready", "Ready: 3 files indexed", files=3, symbols=9)
    assert reporter.publish(ready)
    assert not reporter.publish(Status("ready", "Ready: 3 files indexed", files=3, symbols=9))
    assert reporter.publish(Status("inactive", "off", uri="file:///x/.env"))
    reporter.forget("file:///x/.env")
    assert reporter.publish(Status("inactive", "off", uri="file:///x/.env"))
    assert sent[0] == (
        "minimax/status",
        {"state": "ready", "message": "Ready: 3 files indexed", "files": 3, "symbols": 9},
    )
    assert len(sent) == 3


# --------------------------------------------------------------------------- privacy


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_document_denial(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "ws",
        {
            ".aiignore": "drafts/\n",
            "drafts/idea.py": "x = 1\n",
            ".env": "TOKEN=1\n",
            "src/app.py": "print(1)\n",
            "node_modules/lib/index.js": "module.exports = 1\n",
        },
    )
    workspace = Workspace(Folder.from_uri(root.as_uri()) or Folder("", root, ""))
    policy = workspace.policy_for(ScanOptions(extra_ignore_globs=("local/",)))

    def deny(rel: str, text: str | None = None) -> SkipReason | None:
        return document_denial(policy, root / rel, rel, text)

    assert deny(".env") is SkipReason.SECRET
    assert deny("drafts/idea.py") is SkipReason.AI_IGNORED
    assert deny("local/notes.py") is SkipReason.USER_IGNORED
    assert deny("src/app.py") is None
    assert deny("node_modules/lib/index.js") is None  # not indexed, but not private
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"
    assert deny("src/app.py", pem) is SkipReason.SECRET  # judged on the buffer too
    outside = _tree(tmp_path / "elsewhere", {".env.local": "A=1\n", "tool.py": "pass\n"})
    assert document_denial(None, outside / ".env.local", None, None) is SkipReason.SECRET
    assert document_denial(None, outside / "tool.py", None, "pass\n") is None


def test_single_file_manifest_whole_or_window_around_the_cursor() -> None:
    counter = TokenCounter(use_bpe=False)
    text = "".join(f"line_{i} = {i}  # some words to count\n" for i in range(1, 401))
    whole = single_file_manifest(
        "a.py", text, line=1, task="complete", budget=100_000, counter=counter
    )
    assert [(s.mode, s.start_line, s.end_line) for s in whole.items] == [("full", 1, 400)]
    small = single_file_manifest(
        "a.py", text, line=200, task="complete", budget=300, counter=counter
    )
    (span,) = small.items
    assert span.mode == "snippet"
    assert span.start_line <= 200 <= span.end_line
    assert small.tokens == span.tokens <= 300
    assert span.end_line - span.start_line > 10
    assert abs((200 - span.start_line) - (span.end_line - 200)) <= 1  # centred
    secret = single_file_manifest(
        "b.py",
        'api_key = "sk-cp-AbCdEf0123456789xyzXYZ"\n',
        line=1,
        task="chat",
        budget=500,
        counter=counter,
    )
    assert "sk-cp-AbCdEf0123456789xyzXYZ" not in secret.items[0].text
    assert (
        single_file_manifest("c.py", text, line=1, task="complete", budget=0, counter=counter).items
        == ()
    )


# --------------------------------------------------------------------------- workspaces


class Progress:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def begin(self) -> None:
        self.log.append("begin")

    def report(self, done: int, total: int) -> None:
        self.log.append(f"report {done}/{total}")

    def end(self, message: str) -> None:
        self.log.append(f"end {message}")


class Sink:
    """Records what the indexing runs tell the session."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def progress(self, workspace: Workspace) -> RunProgress:
        return Progress(self.log)

    def changed(self, workspace: Workspace) -> None:
        self.log.append(f"changed {workspace.state}")

    def opened(self, workspace: Workspace) -> None:
        self.log.append("opened")


def make_workspaces(tmp_path: Path, tasks: TaskSet, sink: Sink) -> Workspaces:
    return Workspaces(
        tasks=tasks,
        sink=sink,
        options=ScanOptions,
        counter=TokenCounter(use_bpe=False),
        watch_mode=lambda: "client",
        cache_dir=tmp_path / "cache",
    )


def test_locate_uses_the_longest_root(tmp_path: Path) -> None:
    workspaces = make_workspaces(tmp_path, TaskSet(), Sink())
    outer = workspaces.add(Folder(tmp_path.as_uri(), tmp_path, "outer"))
    inner = workspaces.add(Folder((tmp_path / "sub").as_uri(), tmp_path / "sub", "inner"))
    found = workspaces.locate((tmp_path / "sub/pkg/a.py").as_uri())
    assert found == Location(inner, "pkg/a.py")
    assert workspaces.locate((tmp_path / "b.py").as_uri()) == Location(outer, "b.py")
    assert workspaces.locate((tmp_path.parent / "x.py").as_uri()) is None
    assert workspaces.locate("untitled:Untitled-1") is None
    assert workspaces.locate(tmp_path.as_uri()) is None  # the root itself is no document


async def test_indexing_run_overlays_and_file_changes(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "ws",
        {"pkg/a.py": "def alpha():\n    pass\n", "pkg/b.py": "def beta():\n    pass\n"},
    )
    tasks, sink = TaskSet(), Sink()
    workspaces = make_workspaces(tmp_path, tasks, sink)
    workspace = workspaces.add(Folder(root.as_uri(), root, "ws"))
    location = Location(workspace, "pkg/a.py")
    # Queued before the index is even open: applied once it is, latest text only.
    workspaces.set_overlay(location, "def first():\n    pass\n")
    workspaces.set_overlay(location, "def second():\n    pass\n")
    assert workspaces.start(workspace)
    assert not workspaces.start(workspace)  # one run at a time
    await asyncio.wait_for(workspace.ready.wait(), 20)
    await asyncio.wait_for(workspaces.flush(), 10)
    index = workspace.index
    assert index is not None
    assert index.read_text("pkg/a.py") == "def second():\n    pass\n"
    assert [name for name, _ in _definitions(index, "first", "second")] == ["second"]
    assert sink.log[:2] == ["changed indexing", "begin"]
    assert "opened" in sink.log
    assert any(line.startswith("end Indexed 2 files") for line in sink.log)
    # Save re-reads the disk, close drops the overlay (in that order).
    (root / "pkg/a.py").write_text("def saved():\n    pass\n")
    workspaces.save(location)
    workspaces.clear_overlay(location)
    await asyncio.wait_for(workspaces.flush(), 10)
    assert index.read_text("pkg/a.py") == "def saved():\n    pass\n"
    # File changes reported by the client: .git churn is dropped, real files applied;
    # git's index is kept (it decides which files are tracked, hence indexed).
    (root / "pkg/c.py").write_text("def gamma():\n    pass\n")
    churn = [root / ".git/objects/ab/cdef0123", root / ".git/logs/HEAD"]
    kept = workspaces.changed_paths([*churn, root / ".git/index", root / "pkg/c.py"])
    assert kept == 2
    await asyncio.wait_for(workspaces.flush(), 10)
    assert index.get("pkg/c.py") is not None
    await workspaces.close()
    assert workspace.state == "closed"
    await tasks.cancel_all()


def _definitions(index: Any, *names: str) -> list[tuple[str, Any]]:
    return [(name, d) for name in names for d in index.definitions(name)]


async def test_removing_a_folder_cancels_its_run(tmp_path: Path) -> None:
    files = {f"m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(400)}
    root = _tree(tmp_path / "big", files)
    tasks, sink = TaskSet(), Sink()
    workspaces = make_workspaces(tmp_path, tasks, sink)
    workspace = workspaces.add(Folder(root.as_uri(), root, "big"))
    workspaces.start(workspace)
    await asyncio.sleep(0.05)
    assert await workspaces.remove(workspace.uri)
    assert workspace.state == "closed"
    assert workspace.cancel.is_set()
    assert workspace.run is not None and workspace.run.done()
    assert not workspace.ready.is_set()  # stopped before the refresh finished
    assert workspaces.locate((root / "m1.py").as_uri()) is None
    await tasks.cancel_all()


async def test_a_missing_folder_is_one_warning_not_a_traceback_per_run(
    tmp_path: Path, caplog: Any
) -> None:
    gone = tmp_path / "gone"
    tasks, sink = TaskSet(), Sink()
    workspaces = make_workspaces(tmp_path, tasks, sink)
    workspace = workspaces.add(Folder(gone.as_uri(), gone, "gone"))
    caplog.set_level(logging.DEBUG, logger="minimax_lsp")
    for _ in range(3):  # e.g. three settings changes, each starting a run
        assert workspaces.start(workspace)
        assert workspace.run is not None
        await asyncio.wait_for(asyncio.shield(workspace.run), 20)
        assert workspace.state == "error" and workspace.error
    records = [r for r in caplog.records if str(gone) in r.getMessage()]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert records[0].exc_info is None
    await workspaces.close()
    await tasks.cancel_all()


async def test_a_settings_change_during_a_run_queues_another_run(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ws", {f"m{i}.py": f"X{i} = {i}\n" for i in range(50)})
    tasks, sink = TaskSet(), Sink()
    workspaces = make_workspaces(tmp_path, tasks, sink)
    workspace = workspaces.add(Folder(root.as_uri(), root, "ws"))
    assert workspaces.start(workspace)
    assert not workspaces.start(workspace, again=True)  # queued, not started now
    await asyncio.wait_for(workspace.ready.wait(), 20)

    for _ in range(1000):  # the second run follows the first one
        if sink.log.count("begin") == 2 and not workspace.indexing:
            break
        await asyncio.sleep(0.02)
    assert sum(line.startswith("end Indexed 50 files") for line in sink.log) == 2
    await workspaces.close()
    await tasks.cancel_all()


# --------------------------------------------------------------------------- tasks


async def test_task_set_keeps_logs_and_cancels(caplog: Any) -> None:
    tasks = TaskSet()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    async def boom() -> None:
        raise RuntimeError("kaboom")

    waiting = tasks.run(forever(), name="forever")
    with caplog.at_level(logging.ERROR, logger="minimax_lsp.tasks"):
        failing = tasks.run(boom(), name="boom")
        await asyncio.wait([failing])
        await asyncio.sleep(0)
    assert "background task minimax-lsp:boom failed" in caplog.text
    assert "kaboom" in caplog.text
    await started.wait()
    assert len(tasks) == 1
    await tasks.cancel_all(grace=1.0)
    assert waiting.cancelled()
    with pytest.raises(RuntimeError, match="shutting down"):
        tasks.run(forever())


def test_exit_without_shutdown_sets_code_1_and_stops_threads() -> None:
    session = MiniMaxLanguageServer(environ={}).session
    event = threading.Event()
    session.exited = event
    session.exit()
    assert session.exit_code == 1
    assert event.is_set()
    assert json.dumps(session.spend_json())  # still answerable, plain JSON
