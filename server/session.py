"""All state of one language-server session, on one object (no module globals).

A feature module reaches everything through ``ls.session`` (`Session`):

=====================================  ===============================================
``session.settings``                   resolved, frozen `Settings` (re-read on
                                       ``initialized`` / ``didChangeConfiguration``)
``session.client``                     `ClientFacts`: what the editor supports
``session.snapshot(uri)``              immutable `DocumentSnapshot` (text, version, workspace)
``session.open_document(uri)``         the open buffer (pygls ``TextDocument``) however the
                                       client spells ``uri``, or None when not open
``await session.denial(uri)``          why a document must never reach the model, or None
``await session.pack(snapshot, pos)``  the context `Manifest` for a request (off the loop)
``session.budget_for(task)``           context budget in tokens for a task
``session.workspaces``                 `Workspaces`: ``locate(uri)``, ``all``, indexes
``session.model_client``               the shared `ModelClient` (built lazily, rebuilt
                                       when endpoint/model/key/timeouts/caps change)
``session.report_model_error(exc)``    status + one rate-limited message for a
                                       persistent model failure; ``report_model_ok()``
``session.stream_delta(id, text)``     ``minimax/streamDelta`` (thread-safe)
``session.notifier`` / ``status``      user messages / ``minimax/status``
``session.outbox``                     thread-safe sender of any notification
``session.run_task(coro)``             a referenced background task (logged on failure)
``session.counter`` / ``ledger``       the shared token counter / usage ledger
``session.on_settings_changed(f)``     ``f(old, new)`` after each settings change
=====================================  ===============================================

Commands: ``server.register_command("minimax.x", handler)`` in a feature's ``setup``
(``async def handler(session, args)``; see `minimax_lsp.server.app`). Raise
`CommandError` for bad arguments; `DocumentDenied` (from `Session.pack`) and model
errors become JSON-RPC errors.

Settings precedence (DESIGN.md §3.2, `minimax_lsp.server.settings`): workspace
configuration (section ``minimax``, pulled when the client supports it, else what
``didChangeConfiguration`` pushes) > ``initializationOptions`` > environment >
defaults. Invalid values fall back and are reported in one message per new set of
problems; unknown keys (other tools' settings) are only logged. The API key is read
from this process's environment (``MINIMAX_API_KEY``) or the key file / command named
in the settings -- never from LSP params.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import unquote

from lsprotocol import types

from minimax_lsp.indexer.context import ContextDenied, ContextRequest, Manifest, Task
from minimax_lsp.indexer.index import read_regular
from minimax_lsp.indexer.scan import ScanOptions, SkipReason
from minimax_lsp.indexer.store import default_cache_dir
from minimax_lsp.indexer.tokens import TokenCounter
from minimax_lsp.server.model import (
    AuthError,
    CircuitOpen,
    ClientConfig,
    ConnectionFailed,
    InsufficientBalance,
    MissingApiKey,
    ModelClient,
    ModelError,
    ModelNotFound,
    QuotaExceeded,
    Secret,
    SpendCaps,
    SpendGuard,
    SpendLimitReached,
    UsageLedger,
    model_info,
)
from minimax_lsp.server.model.retry import AutomaticHold, ModelHealth
from minimax_lsp.server.notify import LogSetup, Notifier, Outbox, SecretScrubber
from minimax_lsp.server.prompts.chat import auto_budget
from minimax_lsp.server.settings import SECTION, Resolved, Settings, resolve_settings
from minimax_lsp.server.status import (
    STREAM_DELTA_METHOD,
    IndexProgress,
    State,
    Status,
    StatusReporter,
    usage_json,
)
from minimax_lsp.server.tasks import TaskSet
from minimax_lsp.server.workspaces import (
    PRIVACY_REASONS,
    Folder,
    Location,
    RunProgress,
    Workspace,
    Workspaces,
    document_denial,
    single_file_manifest,
    uri_to_path,
)

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer
    from pygls.workspace import TextDocument
    from pygls.workspace.position_codec import PositionCodec

__all__ = [
    "TASK_SETTINGS",
    "ClientFacts",
    "CommandError",
    "DocumentDenied",
    "DocumentSnapshot",
    "Session",
    "document_key",
]

_log = logging.getLogger("minimax_lsp.session")

T = TypeVar("T")

#: Engine task -> settings task name.
TASK_SETTINGS: Final[Mapping[str, str]] = {
    "complete": "completion",
    "explain": "explain",
    "refactor": "refactor",
    "chat": "chat",
}
#: Smallest automatic budget (a model with a tiny window still gets the current file).
MIN_BUDGET: Final = 1000
#: How long a request waits for a workspace's cached index to open before it falls
#: back to the open buffer alone.
OPEN_WAIT: Final = 2.0
#: How long to wait for the client to answer ``workspace/configuration``.
CONFIG_TIMEOUT: Final = 3.0
_WATCH_ID: Final = "minimax-watched-files"
_CONFIG_ID: Final = "minimax-configuration"
_UNKNOWN: Final = "unknown setting; ignored"


class CommandError(ValueError):
    """Bad command arguments: answered as a JSON-RPC *invalid params* error."""


class DocumentDenied(Exception):
    """The document must not be sent to the model (ignored or secret file)."""

    def __init__(self, uri: str, reason: SkipReason) -> None:
        super().__init__(f"{uri}: MiniMax is off for this file ({reason.value})")
        self.uri = uri
        self.reason = reason


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class ClientFacts:
    """What the client said it supports, reduced to the facts features need."""

    name: str = ""
    inline_completion: bool = False
    work_done_progress: bool = False
    configuration: bool = False
    configuration_dynamic: bool = False
    watched_files_dynamic: bool = False
    workspace_folders: bool = False
    show_document: bool = False

    @classmethod
    def from_params(cls, params: types.InitializeParams) -> ClientFacts:
        """Read the facts from ``initialize`` params (missing sections mean False)."""
        caps = params.capabilities
        text = caps.text_document
        window = caps.window
        ws = caps.workspace
        watched = ws.did_change_watched_files if ws else None
        changed_config = ws.did_change_configuration if ws else None
        return cls(
            name=params.client_info.name if params.client_info else "",
            inline_completion=bool(text and text.inline_completion is not None),
            work_done_progress=bool(window and window.work_done_progress),
            configuration=bool(ws and ws.configuration),
            configuration_dynamic=bool(changed_config and changed_config.dynamic_registration),
            watched_files_dynamic=bool(watched and watched.dynamic_registration),
            workspace_folders=bool(ws and ws.workspace_folders),
            show_document=bool(window and window.show_document and window.show_document.support),
        )


@dataclass(frozen=True, slots=True)
class DocumentSnapshot:
    """An immutable view of one document at one version (safe to use in any thread).

    ``location`` is ``None`` for a document outside every workspace folder (or a
    non-``file:`` URI); ``path`` is ``None`` for non-``file:`` URIs.
    """

    uri: str
    version: int | None
    text: str
    language_id: str | None
    path: Path | None
    location: Location | None
    codec: PositionCodec

    @property
    def workspace(self) -> Workspace | None:
        return self.location.workspace if self.location else None

    @property
    def rel(self) -> str | None:
        return self.location.rel if self.location else None

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines(keepends=True)

    def cursor(self, position: types.Position) -> tuple[int, int]:
        """(1-based line, 0-based column in characters) of an LSP position."""
        server = self.codec.position_from_client_units(self.lines, position)
        return server.line + 1, server.character


# --------------------------------------------------------------------------- session


class Session:
    """The server's state (see the module docstring for the feature-facing API).

    Parameters
    ----------
    server:
        The pygls server this session belongs to.
    environ:
        The process environment (read once; the API key comes from here).
    log_setup:
        The process's logging handlers (``None`` in tests that build a bare session).
    scrubber:
        The secret filter shared with the logging handlers.
    cache_dir:
        Index cache directory override (``None``: ``$MINIMAX_LSP_CACHE_DIR`` / user cache).
    """

    def __init__(
        self,
        server: LanguageServer,
        *,
        environ: Mapping[str, str] | None = None,
        log_setup: LogSetup | None = None,
        scrubber: SecretScrubber | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.server = server
        self.environ: Mapping[str, str] = dict(os.environ if environ is None else environ)
        self.scrubber = scrubber or SecretScrubber()
        self.scrubber.add(self.environ.get("MINIMAX_API_KEY"))
        self.log_setup = log_setup
        self.outbox = Outbox(server, self.scrubber.scrub)
        self.notifier = Notifier(
            self.outbox.show_message,
            mode=lambda: self.settings.showNotifications,
            scrub=self.scrubber.scrub,
        )
        self.status = StatusReporter(self.outbox.notify)
        self.tasks = TaskSet()
        self.counter = TokenCounter()
        self.ledger = UsageLedger()
        self.client = ClientFacts()
        self.initialization_options: object = None
        self.workspace_configuration: Mapping[str, Any] = {}
        resolved = resolve_settings(environ=self.environ)
        self.settings: Settings = resolved.settings
        self.problems: tuple[str, ...] = resolved.problems
        self._reported: set[str] = set()
        self._settings_listeners: list[Callable[[Settings, Settings], None]] = []
        self._client_config: ClientConfig = self._build_client_config(self.settings)[0]
        self._model: ModelClient | None = None
        self._spend: SpendGuard | None = None
        self._retired: list[ModelClient] = []
        self._model_problem: tuple[State, str] | None = None
        #: Connection-failure streak and the automatic-request hold (rejected key, quota).
        self.model_health = ModelHealth()
        # A settings change (a new key file or command, another model...) is worth
        # another automatic try.
        self._settings_listeners.append(lambda _old, _new: self.model_health.clear_hold())
        self._indexing: dict[str, tuple[int, int]] = {}
        self._activity: OrderedDict[str, None] = OrderedDict()
        self._edits: OrderedDict[str, None] = OrderedDict()
        self._denials: dict[str, asyncio.Future[SkipReason | None]] = {}
        self.watch_mode: str = "server"
        self.shutting_down = False
        self.exit_code: int | None = None
        #: Set by `exit` (any thread may wait on it: the CLI's exit watchdog does).
        self.exited = threading.Event()
        #: Where answers opened as documents go (`minimax_lsp.server.answers`).
        self.answers_dir = (cache_dir or default_cache_dir()) / "answers"
        self.workspaces = Workspaces(
            tasks=self.tasks,
            sink=_Sink(self),
            options=self.scan_options,
            counter=self.counter,
            watch_mode=lambda: "client" if self.watch_mode == "client" else "server",
            cache_dir=cache_dir,
        )

    # -- tasks -----------------------------------------------------------------------

    def run_task(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Run ``coro`` in the background, referenced, failures logged (STYLE.md 8)."""
        return self.tasks.run(coro, name=name)

    # -- lifecycle -------------------------------------------------------------------

    def initialize(self, params: types.InitializeParams) -> None:
        """``initialize``: client facts, folders, settings from init options + environment.

        Returns at once: nothing is indexed here.
        """
        self.outbox.bind(asyncio.get_running_loop())
        if self.log_setup is not None:
            self.log_setup.attach(self.outbox)
        self.client = ClientFacts.from_params(params)
        self.initialization_options = params.initialization_options
        for folder in _initial_folders(params):
            if self._usable_folder(folder):
                self.workspaces.add(folder)
        self._apply(
            resolve_settings(initialization=self.initialization_options, environ=self.environ),
            notify=False,
        )
        _log.info(
            "minimax-lsp for %s: %d workspace folder(s), model %s, %s API at %s",
            self.client.name or "an unnamed client",
            len(self.workspaces),
            self.settings.model,
            self.settings.api,
            self.settings.effective_base_url,
        )

    async def initialized(self) -> None:
        """``initialized``: pull the configuration, set up watching, start indexing."""
        await self.reload_settings()
        _log.debug("settings read")
        await self._register_capabilities()
        _log.debug("file watching: %s", self.watch_mode)
        self.workspaces.start_all()
        self.publish_status()

    async def reload_settings(self, pushed: object = None) -> None:
        """Re-read the settings (pull ``workspace/configuration`` when supported).

        Parameters
        ----------
        pushed:
            ``didChangeConfiguration``'s ``settings``: used when the client cannot be
            asked (the push model); ``{"minimax": {...}}`` or the section itself.
        """
        if self.client.configuration:
            self.workspace_configuration = await self._pull_configuration()
        elif isinstance(pushed, Mapping):
            section = pushed.get(SECTION, pushed)
            self.workspace_configuration = dict(section) if isinstance(section, Mapping) else {}
        self._apply(
            resolve_settings(
                workspace=self.workspace_configuration,
                initialization=self.initialization_options,
                environ=self.environ,
            )
        )

    async def _pull_configuration(self) -> Mapping[str, Any]:
        params = types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
        try:
            result = await asyncio.wait_for(
                self.server.workspace_configuration_async(params), CONFIG_TIMEOUT
            )
        except Exception as exc:
            _log.warning("could not read the workspace configuration: %s", exc or type(exc))
            return self.workspace_configuration
        value = result[0] if result else None
        return dict(value) if isinstance(value, Mapping) else {}

    async def _register_capabilities(self) -> None:
        registrations: list[types.Registration] = []
        if self.client.watched_files_dynamic:
            watcher = types.FileSystemWatcher(glob_pattern="**/*")
            options = types.DidChangeWatchedFilesRegistrationOptions(watchers=[watcher])
            registrations.append(
                types.Registration(
                    id=_WATCH_ID,
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=options,
                )
            )
        if self.client.configuration_dynamic:
            registrations.append(
                types.Registration(
                    id=_CONFIG_ID,
                    method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                    register_options=types.DidChangeConfigurationRegistrationOptions(
                        section=SECTION
                    ),
                )
            )
        if not registrations:
            return
        try:
            await asyncio.wait_for(
                self.server.client_register_capability_async(
                    types.RegistrationParams(registrations=registrations)
                ),
                CONFIG_TIMEOUT,
            )
        except Exception as exc:
            _log.info("the client refused dynamic registration (%s); watching files ourselves", exc)
            return
        if self.client.watched_files_dynamic:
            # The editor reports file changes: no watcher threads of our own.
            self.watch_mode = "client"

    async def shutdown(self) -> None:
        """``shutdown``: stop background work, close indexes and HTTP clients."""
        if self.shutting_down:
            return
        self.shutting_down = True
        _log.info("shutting down")
        for workspace in self.workspaces.all:
            workspace.cancel.set()
        await self.tasks.cancel_all()
        await self.workspaces.close()
        clients = [*self._retired, *([self._model] if self._model else [])]
        self._model, self._retired = None, []
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()

    def exit(self) -> None:
        """``exit``: remember the exit code (0 after ``shutdown``, else 1), stop sending."""
        self.exit_code = 0 if self.shutting_down else 1
        if not self.shutting_down:
            # No orderly shutdown: at least stop the indexing threads promptly.
            self.workspaces.cancel_all_now()
        self.outbox.close()
        self.exited.set()

    # -- settings --------------------------------------------------------------------

    def on_settings_changed(self, listener: Callable[[Settings, Settings], None]) -> None:
        """Call ``listener(old, new)`` after every settings change (on the loop thread)."""
        self._settings_listeners.append(listener)

    def scan_options(self) -> ScanOptions:
        """Scan options for the indexes, from the settings."""
        return ScanOptions(
            max_file_bytes=self.settings.maxFileBytes,
            extra_ignore_globs=tuple(self.settings.ignore),
        )

    def _apply(self, resolved: Resolved, *, notify: bool = True) -> None:
        old, new = self.settings, resolved.settings
        self.settings, self.problems = new, resolved.problems
        if self.log_setup is not None:
            self.log_setup.apply(new.logLevel, new.logFile)
        config, endpoint_problem = self._build_client_config(new)
        if endpoint_problem:
            self.problems = (*self.problems, endpoint_problem)
        if notify:
            self._report_problems(self.problems)
        if config != self._client_config:
            self._client_config = config
            self.report_model_ok()
            self.notifier.forget("no-key")
            self.notifier.forget("bad-key")
        if new.ignore != old.ignore or new.maxFileBytes != old.maxFileBytes:
            # The index reopens with the new rules (opened ones only; others will
            # start with them anyway), and open documents are judged again.
            for workspace in self.workspaces.all:
                if workspace.index is not None or workspace.indexing:
                    self.workspaces.start(workspace, again=True)
            if not self.tasks.closed:
                self.run_task(self.recheck_documents(), name="recheck documents")
        if new != old:
            _log.info("settings changed: model %s, api %s", new.model, new.api)
            for listener in list(self._settings_listeners):
                try:
                    listener(old, new)
                except Exception:
                    _log.exception("a settings listener failed")
            self.publish_status()

    def _report_problems(self, problems: tuple[str, ...]) -> None:
        fresh = [p for p in problems if p not in self._reported]
        self._reported.update(fresh)
        for problem in fresh:
            _log.log(logging.INFO if problem.endswith(_UNKNOWN) else logging.WARNING, "%s", problem)
        shown = [p for p in fresh if not p.endswith(_UNKNOWN)]
        if not shown:
            return
        more = f" (and {len(shown) - 1} more)" if len(shown) > 1 else ""
        self.notifier.forget("settings")
        self.notifier.problem(
            "settings",
            f"MiniMax settings: {shown[0]}{more}. See the output for details.",
            severity="warning",
        )

    def _build_client_config(self, settings: Settings) -> tuple[ClientConfig, str | None]:
        """The model client's configuration, and a problem when the endpoint is invalid."""
        key = self.environ.get("MINIMAX_API_KEY", "")
        spend = SpendCaps(
            automatic_requests_per_minute=settings.spend.automaticRequestsPerMinute,
            tokens_per_day=settings.spend.tokensPerDay or None,
        )
        fields: dict[str, Any] = {
            "api": settings.api,
            "model": settings.model,
            "api_key": Secret(key) if key.strip() else None,
            "api_key_file": Path(settings.apiKeyFile).expanduser() if settings.apiKeyFile else None,
            "api_key_command": tuple(settings.apiKeyCommand) or None,
            "read_timeout": settings.requestTimeoutSeconds,
            "spend": spend,
            "context_window": settings.contextWindow or None,
        }
        try:
            return ClientConfig(base_url=settings.effective_base_url, **fields), None
        except ValueError as exc:
            fields["model"] = fields["model"].strip() or Settings().model
            default_url = Settings(api=settings.api).effective_base_url
            problem = f"baseUrl/model: {exc}; using {default_url}"
            return ClientConfig(base_url=default_url, **fields), problem

    # -- the model -------------------------------------------------------------------

    @property
    def model_client(self) -> ModelClient:
        """The shared model client (built on first use; rebuilt after settings changes).

        A replaced client is closed at shutdown, not at once: a stream it is serving
        finishes normally.
        """
        if self._model is None or self._model.config != self._client_config:
            if self._model is not None:
                self._retired.append(self._model)
            caps = self._client_config.spend
            if self._spend is None or self._spend.caps != caps:
                self._spend = SpendGuard(caps)
            self._model = ModelClient(
                self._client_config, ledger=self.ledger, spend_guard=self._spend
            )
        return self._model

    @property
    def key_present(self) -> bool:
        """Whether a key source is configured (never reads or shows the key)."""
        config = self._client_config
        if config.api_key_command:
            return True
        if config.api_key_file is not None:
            return config.api_key_file.is_file()
        return config.api_key is not None

    def spend_json(self) -> dict[str, int | None]:
        """Spend caps and current counts (the ``spend`` object of ``minimax.status``)."""
        caps = self._client_config.spend
        guard = self._spend
        return {
            "automaticRequestsPerMinute": caps.automatic_requests_per_minute,
            "automaticRequestsLastMinute": guard.automatic_last_minute() if guard else 0,
            "tokensPerDay": caps.tokens_per_day,
            "tokensLastDay": guard.tokens_last_day() if guard else 0,
        }

    @property
    def completion_model(self) -> str:
        """Model id for inline completions."""
        return self.settings.effective_completion_model

    def budget_for(self, task: Task | str) -> int:
        """Context budget (tokens) for ``task`` (engine or settings task name).

        The task's ``budget`` setting when positive; otherwise automatic: the model's
        window minus the task's output cap minus a reserve for the prompt
        (`minimax_lsp.server.prompts.chat.auto_budget`, shared with ``minimax-lsp ask``).
        """
        name = TASK_SETTINGS.get(task, task)
        task_settings = self.settings.task(name)
        if task_settings.budget > 0:
            return task_settings.budget
        model = self.completion_model if name == "completion" else self.settings.model
        info = model_info(model, self.settings.contextWindow or None)
        return max(MIN_BUDGET, auto_budget(info.context_window, task_settings.maxOutputTokens))

    def report_model_error(self, error: BaseException) -> None:
        """Turn a model failure into a status and (for persistent ones) one message.

        Persistent kinds: no key, bad key, quota/balance, unknown model, offline, spend
        limit. Transient failures (rate limit, overload, server errors) are only logged.
        A dropped connection is transient until `ModelHealth` (``model_health``) has
        seen a few in a row or the circuit breaker opened. A rejected key or a used-up
        quota also holds automatic requests (`automatic_hold`); the message says so.
        """
        offline = False
        if isinstance(error, ModelError):
            offline = self.model_health.record_failure(error) or self._breaker_open()
        verdict = _classify(error, offline=offline)
        if verdict is None:
            _log.info("model request failed: %s", error)
            return
        kind, state, message = verdict
        hold = self.model_health.hold()
        if hold is not None and (kind, hold.kind) in (("bad-key", "key"), ("quota", "quota")):
            now = self.model_health.now()
            message += f" Automatic completions are paused {hold.describe(now)}."
        self._model_problem = (state, message)
        self.notifier.problem(kind, message)
        self.publish_status()

    def report_model_ok(self) -> None:
        """A model call succeeded: clear a reported model problem, the hold, the streak."""
        self.model_health.record_success()
        if self._model is not None:
            # A completion closed early (its line was complete) never reached the client's
            # own success path: tell the breaker, or its failure count goes stale.
            self._model.breaker.record_success()
        if self._model_problem is not None:
            self._model_problem = None
            self.publish_status()

    def automatic_hold(self) -> AutomaticHold | None:
        """Why automatic requests must not be sent now (rejected key, quota), or None."""
        hold = self.model_health.hold()
        if hold is not None:
            _log.debug("automatic request not sent: held (%s)", hold.kind)
        return hold

    def _breaker_open(self) -> bool:
        """Whether the model client's circuit breaker is open (calls fail fast)."""
        return self._model is not None and self._model.breaker.remaining() is not None

    # -- status ----------------------------------------------------------------------

    def current_status(self) -> Status:
        """The overall status (model problem > indexing > ready)."""
        usage = usage_json(self.ledger.snapshot())
        files = symbols = 0
        for workspace in self.workspaces.all:
            if workspace.stats is not None:
                files += workspace.stats.files
                symbols += workspace.stats.symbols
        state: State
        if self._model_problem is not None:
            state, message = self._model_problem
        elif self._indexing:
            done = sum(d for d, _ in self._indexing.values())
            total = sum(t for _, t in self._indexing.values())
            state = "indexing"
            message = f"Indexing {done}/{total} files" if total else "Indexing: scanning files"
        elif not self.key_present:
            state = "no-key"
            message = "No MiniMax API key: set MINIMAX_API_KEY in the editor's environment"
        elif len(self.workspaces) == 0:
            state, message = "ready", "Ready (no workspace folder: open files only)"
        else:
            state, message = "ready", f"Ready: {files} files indexed"
        return Status(state, message, files=files, symbols=symbols, usage=usage)

    def publish_status(self) -> None:
        """Send the overall status if it changed."""
        self.status.publish(self.current_status())

    def _indexing_update(self, workspace: Workspace, done: int, total: int) -> None:
        if workspace.running:
            self._indexing[workspace.uri] = (done, total)
        self.publish_status()

    # -- documents -------------------------------------------------------------------

    def open_document(self, uri: str) -> TextDocument | None:
        """The open buffer of document ``uri``, or ``None`` when it is not open.

        pygls keys open documents by the *unquoted* URI, and clients spell one file in
        several ways (``file:///a%20b.py`` / ``file:///a b.py``; VS Code's
        ``file:///c%3A/x.py`` / ``file:///C:/x.py``): every lookup of an open document
        goes through here, never through ``workspace.text_documents[uri]``.
        """
        documents = self.server.workspace.text_documents
        document: TextDocument | None = documents.get(unquote(uri))
        if document is not None:
            return document
        key = document_key(uri)
        # Another spelling of the same file (a handful of open documents: a linear scan).
        return next((d for d in documents.values() if document_key(d.uri) == key), None)

    def snapshot(self, uri: str) -> DocumentSnapshot:
        """An immutable snapshot of document ``uri``.

        The open buffer if there is one; else the file on disk, but only a regular file
        inside a workspace folder and at most ``maxFileBytes`` long (a FIFO, a device or
        a huge file gives an empty text: reading one would block or exhaust the loop).

        Raises
        ------
        CommandError
            ``uri`` names a file path with a NUL character (no file can have one).
        """
        path = uri_to_path(uri)
        if path is not None and "\x00" in str(path):
            raise CommandError(f"{uri}: a file path cannot contain a NUL character (%00)")
        location = self.workspaces.locate(uri)
        document = self.open_document(uri)
        if document is not None:
            text, version, language_id = document.source, document.version, document.language_id
        else:
            text, version, language_id = "", None, None
            if path is not None and location is not None:
                text = read_file_text(path, self.settings.maxFileBytes)
        return DocumentSnapshot(
            uri=uri,
            version=version,
            text=text,
            language_id=language_id,
            path=path,
            location=location,
            codec=self.server.workspace.position_codec,
        )

    def touch(self, uri: str, *, edited: bool = False) -> None:
        """Record activity on a document (open/focus/edit) for context ranking."""
        self._activity.pop(uri, None)
        self._activity[uri] = None
        if edited:
            self._edits.pop(uri, None)
            self._edits[uri] = None
            while len(self._edits) > 50:
                self._edits.popitem(last=False)

    def closed(self, uri: str) -> None:
        """Forget a closed document's activity, denial and per-document status."""
        self._activity.pop(uri, None)
        self._denials.pop(document_key(uri), None)
        self.status.forget(uri)

    def related_paths(self, location: Location) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(open paths, recently edited paths) in ``location``'s workspace, newest first."""

        denied = self._denied_uris()

        def rels(uris: OrderedDict[str, None]) -> tuple[str, ...]:
            found: list[str] = []
            for uri in reversed(uris):
                other = self.workspaces.locate(uri)
                if (
                    other is not None
                    and other.workspace is location.workspace
                    and other.rel != location.rel
                    and document_key(uri) not in denied
                ):
                    found.append(other.rel)
            return tuple(found)

        return rels(self._activity), rels(self._edits)

    def is_allowed(self, uri: str) -> bool | None:
        """Whether ``uri`` may be sent: True/False once checked, None while unknown."""
        future = self._denials.get(document_key(uri))
        if future is None or not future.done() or future.cancelled() or future.exception():
            return None
        return future.result() is None

    async def folders_changed(self, added: list[Folder], removed: list[str]) -> None:
        """``didChangeWorkspaceFolders``: close removed roots, add and index new ones."""
        for uri in removed:
            await self.workspaces.remove(uri)
        for folder in added:
            if self._usable_folder(folder):
                self.workspaces.start(self.workspaces.add(folder))
        self.publish_status()
        await self.recheck_documents()

    async def check_document(self, uri: str) -> SkipReason | None:
        """Check an open document: report it ``inactive`` if denied, else feed its overlay."""
        document = self.open_document(uri)
        if document is None:
            return None
        reason = await self.denial(uri, document.source)
        document = self.open_document(uri)
        if document is None:
            return reason  # closed while we were checking
        if reason is not None:
            self.inactive(uri, reason)
            return reason
        self.active(uri)
        location = self.workspaces.locate(uri)
        if location is not None:
            # The text may have moved on while the check ran: send the current one.
            self.workspaces.set_overlay(location, document.source)
        return None

    async def recheck_documents(self) -> None:
        """Re-check every open document (folders or ignore rules changed)."""
        self._denials.clear()
        # Each document's URI as the client sent it (pygls' keys are unquoted): the
        # `inactive` status must name the document the way the client knows it.
        uris = [document.uri for document in self.server.workspace.text_documents.values()]
        await asyncio.gather(*(self.check_document(uri) for uri in uris))

    def _denied_uris(self) -> set[str]:
        """`document_key` of every document known to be denied."""
        return {
            key
            for key, fut in self._denials.items()
            if fut.done() and not fut.cancelled() and fut.exception() is None and fut.result()
        }

    def _usable_folder(self, folder: Folder) -> bool:
        """Whether ``folder`` can be a workspace (a file named as a folder cannot)."""
        try:
            is_file = folder.root.exists() and not folder.root.is_dir()
        except (OSError, ValueError):
            is_file = False  # unreadable or odd: indexing reports it on the folder
        if not is_file:
            return True
        self.notifier.problem(
            f"folder {folder.root}",  # rate-limited per path, not for all folders at once
            f"MiniMax: the workspace folder {folder.root} is a file, not a folder; skipped.",
            severity="warning",
        )
        return False

    async def denial(self, uri: str, text: str | None = None) -> SkipReason | None:
        """Why document ``uri`` must not be sent to the model, or ``None``.

        Computed once per open document (in a worker thread) and cached until it is
        closed or the ignore settings change. Fails closed: when the check itself fails
        (an odd path, a folder that vanished...), the document counts as
        ``unreadable`` -- denied -- and one warning is logged.
        """
        key = document_key(uri)
        future = self._denials.get(key)
        if future is None:
            path = uri_to_path(uri)
            if path is None:
                return None
            future = asyncio.ensure_future(self._judge(uri, path, text))
            self._denials[key] = future
        return await asyncio.shield(future)

    async def _judge(self, uri: str, path: Path, text: str | None) -> SkipReason | None:
        """`document_denial` in a worker thread; any failure denies (see `denial`)."""
        if "\x00" in str(path):
            return SkipReason.UNREADABLE  # %00 in the URI: no such file can exist
        try:
            location = self.workspaces.locate(uri)
            policy = location.workspace.policy_for(self.scan_options()) if location else None
            rel = location.rel if location else None
            return await asyncio.to_thread(document_denial, policy, path, rel, text)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.warning(
                "could not check whether %s may be sent (%s: %s): treated as private",
                uri,
                type(exc).__name__,
                exc,
                exc_info=_log.isEnabledFor(logging.DEBUG),
            )
            return SkipReason.UNREADABLE

    async def pack(
        self,
        snapshot: DocumentSnapshot,
        position: types.Position | None = None,
        *,
        task: Task = "complete",
        budget: int | None = None,
        query: str = "",
        selection: tuple[int, int] | None = None,
    ) -> Manifest:
        """The context manifest for a request on ``snapshot`` (computed off the loop).

        Raises
        ------
        DocumentDenied
            The document is ignored or secret: nothing of it may be sent.
        """
        reason = await self.denial(snapshot.uri, snapshot.text)
        if reason is not None:
            raise DocumentDenied(snapshot.uri, reason)
        line, column = snapshot.cursor(position) if position else (1, 0)
        budget = budget if budget and budget > 0 else self.budget_for(task)
        location = snapshot.location
        if location is not None and not location.workspace.opened.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(location.workspace.opened.wait(), OPEN_WAIT)
        engine = location.workspace.engine if location else None
        if location is None or engine is None:
            return await self._buffer_manifest(snapshot, line, task, budget)
        open_paths, recent_paths = self.related_paths(location)
        request = ContextRequest(
            path=location.rel,
            line=line,
            column=column,
            task=task,
            selection=selection,
            open_paths=open_paths,
            recent_paths=recent_paths,
            query=query,
            budget=budget,
            current_text=snapshot.text,
        )
        try:
            return await asyncio.to_thread(engine.pack, request)
        except ContextDenied as denied:
            reason = SkipReason(denied.reason)
            if reason in PRIVACY_REASONS:
                raise DocumentDenied(snapshot.uri, reason) from None
            # Not indexable (vendored, generated, too large...) but not private: the
            # open buffer alone is still fair to use.
            return await self._buffer_manifest(snapshot, line, task, budget)

    async def _buffer_manifest(
        self, snapshot: DocumentSnapshot, line: int, task: Task, budget: int
    ) -> Manifest:
        name = snapshot.rel or (str(snapshot.path) if snapshot.path else snapshot.uri)
        return await asyncio.to_thread(
            single_file_manifest,
            name,
            snapshot.text,
            line=line,
            task=task,
            budget=budget,
            counter=self.counter,
        )

    def stream_delta(self, request_id: str, text: str, *, kind: str = "text") -> None:
        """Send one ``minimax/streamDelta`` (thread-safe): a piece of a streamed answer.

        ``kind`` is ``"text"`` (the answer) or ``"thinking"`` (shims may show it apart;
        it is never inserted into code).
        """
        params: dict[str, str] = {"requestId": request_id, "text": text}
        if kind != "text":
            params["kind"] = kind
        self.outbox.notify(STREAM_DELTA_METHOD, params)

    def inactive(self, uri: str, reason: SkipReason) -> None:
        """Tell the client a document is off limits (``inactive`` status for ``uri``)."""
        self.status.publish(
            Status(
                "inactive",
                f"MiniMax is off for this file ({reason.value}): nothing of it is sent",
                uri=uri,
            )
        )

    def active(self, uri: str) -> None:
        """Undo an earlier ``inactive`` for ``uri`` (sent only if one was sent)."""
        last = self.status.last(uri)
        if last is not None and last.state == "inactive":
            self.status.publish(Status("ready", "MiniMax is on for this file", uri=uri))


class _Sink:
    """`IndexingSink` of the session: progress, status and overlay re-sync."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def progress(self, workspace: Workspace) -> RunProgress:
        session = self._session
        return IndexProgress(
            session.server,
            session.outbox,
            title=f"MiniMax: indexing {workspace.name}",
            enabled=session.client.work_done_progress,
            on_update=lambda done, total: session._indexing_update(workspace, done, total),
        )

    def changed(self, workspace: Workspace) -> None:
        session = self._session
        if not workspace.running:
            session._indexing.pop(workspace.uri, None)
        else:
            session._indexing.setdefault(workspace.uri, (0, 0))
        session.publish_status()

    def opened(self, workspace: Workspace) -> None:
        session = self._session
        denied = session._denied_uris()
        for document in list(session.server.workspace.text_documents.values()):
            key = document_key(document.uri)
            location = session.workspaces.locate(document.uri)
            if location is None or location.workspace is not workspace or key in denied:
                continue
            future = session._denials.get(key)
            if future is None or not future.done():
                continue  # the open handler queues it once the check is done
            session.workspaces.set_overlay(location, document.source)


def document_key(uri: str) -> str:
    """One key per file however a client spells its URI (not a URI itself).

    ``file:`` URIs become their decoded path (Windows drive letter in lower case, as
    pygls and VS Code write it); other schemes are only unquoted, as pygls keys them.
    """
    path = uri_to_path(uri)
    if path is None:
        return unquote(uri)
    text = path.as_posix()
    if len(text) >= 2 and text[1] == ":":
        text = text[0].lower() + text[1:]
    return f"file:{text}"


#: Bytes read per ``os.read`` call (a huge ``maxFileBytes`` is a limit, not a buffer size).


def read_file_text(path: Path, limit: int) -> str:
    """The text of a regular file of at most ``limit`` bytes, else ``""``.

    Read with `minimax_lsp.indexer.index.read_regular` (non-blocking open, fstat on the
    descriptor, bounded read): FIFOs, devices, folders, files over ``limit``, unreadable
    or non-UTF-8 files all give ``""``. Line breaks are translated as
    ``Path.read_text`` does (what pygls did before).
    """
    data = read_regular(path, limit)
    if not isinstance(data, bytes):
        return ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _initial_folders(params: types.InitializeParams) -> list[Folder]:
    """Workspace folders, else ``rootUri``, else ``rootPath``; none = single-file mode."""
    found: list[Folder] = []
    for item in params.workspace_folders or []:
        folder = Folder.from_uri(item.uri, item.name)
        if folder is not None:
            found.append(folder)
    if found or params.workspace_folders:
        return found
    if params.root_uri:
        folder = Folder.from_uri(params.root_uri)
        return [folder] if folder else []
    if params.root_path:
        root = Path(params.root_path).absolute()
        return [Folder(root.as_uri(), root, root.name)]
    return []


def _classify(error: BaseException, *, offline: bool = True) -> tuple[str, State, str] | None:
    """(problem kind, status state, user message) for persistent model failures.

    ``offline``: a `ConnectionFailed` is persistent (several in a row, or the breaker
    opened); otherwise one dropped connection is a blip, only logged.
    """
    if isinstance(error, MissingApiKey):
        return (
            "no-key",
            "no-key",
            "MiniMax: no API key. Set MINIMAX_API_KEY in the editor's environment, "
            "or name a key file or key command in the settings.",
        )
    if isinstance(error, SpendLimitReached):
        return "spend-limit", "spend-limit", f"MiniMax: {error}"
    if isinstance(error, AuthError):
        return "bad-key", "error", f"MiniMax rejected the API key: {error}"
    if isinstance(error, (QuotaExceeded, InsufficientBalance)):
        return "quota", "error", f"MiniMax: {error}"
    if isinstance(error, ModelNotFound):
        return "model", "error", f"MiniMax: {error}"
    if isinstance(error, CircuitOpen) or (isinstance(error, ConnectionFailed) and offline):
        return "offline", "offline", f"MiniMax is unreachable: {error}"
    return None  # transient (rate limit, overload, server error) or not a model error
