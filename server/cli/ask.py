"""``minimax-lsp ask QUESTION``: one question about the workspace, answered on stdout.

Contract
--------
* The workspace is ``--root`` or else the git work tree around the current directory,
  or else the current directory. Its index is refreshed first (quietly; a progress line
  on stderr only when stderr is a terminal).
* The context engine packs the workspace for the task ``chat``, or ``explain`` when
  ``--lines`` names a selection of ``--file`` (the file and selection go last, nearest
  the question). ``--file`` alone makes it a chat about that file. The budget is
  ``--budget`` or the task's setting; 0 means automatic (`chat.auto_budget`: the
  model's window minus the output cap minus a reserve), and no budget exceeds that.
* The answer streams to stdout as it arrives (flushed per delta). Thinking is hidden
  unless ``--show-thinking`` (then on stderr, dimmed on a terminal). A one-line summary
  (model, input/output tokens, cache reads, files in context) ends on stderr. With
  ``--json`` nothing streams: one JSON object is printed at the end with the keys
  ``answer``, ``thinking`` (only with ``--show-thinking``), ``model``, ``stop_reason``,
  ``usage``, ``manifest`` (the manifest summary: task, budget, tokens, files, items)
  and ``context_retries``.
* Failures exit 1 with one sentence on stderr: no key configured ("MINIMAX_API_KEY is
  not set (or apiKeyFile/apiKeyCommand)"), or the model error's own sentence. A context
  overflow repacks with a smaller budget (`chat.overflow_budget`) and retries once, if
  nothing was printed yet. Ctrl-C closes the stream and exits 130. The key is never
  printed.
* Usage errors (missing ROOT, a file outside the workspace or not indexed, bad
  ``--lines``) exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from minimax_lsp.indexer.context import ContextDenied, ContextEngine, ContextRequest, Manifest
from minimax_lsp.indexer.index import Index, Progress
from minimax_lsp.indexer.scan import ScanOptions
from minimax_lsp.server.cli import CommandFailed, UsageError
from minimax_lsp.server.cli.args import line_range
from minimax_lsp.server.cli.interrupt import cancel_on_sigint
from minimax_lsp.server.cli.progress import ProgressLine
from minimax_lsp.server.model import (
    ClientConfig,
    ContextOverflow,
    ModelClient,
    ModelError,
    ModelRequest,
    ModelResult,
    Secret,
    SpendCaps,
    StreamDone,
    TextDelta,
    ThinkingDelta,
    model_info,
)
from minimax_lsp.server.prompts.chat import auto_budget, build_chat_request, overflow_budget
from minimax_lsp.server.settings import Settings, resolve_settings

__all__ = [
    "MISSING_KEY",
    "KeySource",
    "add_arguments",
    "client_config",
    "key_source",
    "run",
    "workspace_root",
]

#: The sentence for "no key source at all" (public: tests and docs quote it).
MISSING_KEY = "MINIMAX_API_KEY is not set (or apiKeyFile/apiKeyCommand)"

KeySource = Literal["env", "file", "command"]

_DIM = "\x1b[2m"
_RESET = "\x1b[0m"
_GIT_TIMEOUT = 5.0


# --------------------------------------------------------------------------- shared helpers


def client_config(
    settings: Settings, environ: Mapping[str, str], *, model: str | None = None
) -> ClientConfig:
    """The model client's configuration from resolved settings (and ``MINIMAX_API_KEY``).

    Raises `CommandFailed` when a setting is unusable (a base URL that is not http(s)).

    Parameters
    ----------
    settings:
        Resolved settings (``resolve_settings(environ=...)``).
    environ:
        Where ``MINIMAX_API_KEY`` is read from.
    model:
        Overrides the settings' model.
    """
    key = environ.get("MINIMAX_API_KEY", "")
    try:
        return _config(settings, key, model)
    except ValueError as exc:  # a base URL that is not http(s), say
        raise CommandFailed(f"invalid setting: {exc}") from None


def _config(settings: Settings, key: str, model: str | None) -> ClientConfig:
    return ClientConfig(
        base_url=settings.effective_base_url,
        api=settings.api,
        model=model or settings.model,
        api_key=Secret(key) if key.strip() else None,
        api_key_file=Path(settings.apiKeyFile).expanduser() if settings.apiKeyFile else None,
        api_key_command=tuple(settings.apiKeyCommand) or None,
        read_timeout=settings.requestTimeoutSeconds,
        context_window=settings.contextWindow or None,
        spend=SpendCaps(
            automatic_requests_per_minute=settings.spend.automaticRequestsPerMinute,
            tokens_per_day=settings.spend.tokensPerDay or None,
        ),
    )


def key_source(config: ClientConfig) -> KeySource | None:
    """Where the key will come from, by the client's precedence (command > file > env)."""
    if config.api_key_command:
        return "command"
    if config.api_key_file is not None:
        return "file"
    if config.api_key is not None:
        return "env"
    return None


def workspace_root(explicit: str | None, cwd: Path | None = None) -> Path:
    """``explicit`` if given (must be a folder), else the git top of ``cwd``, else ``cwd``.

    Raises
    ------
    UsageError
        ``explicit`` does not exist or is not a folder.
    """
    if explicit is not None:
        root = Path(explicit).expanduser()
        if not root.exists():
            raise UsageError(f"{root}: no such directory")
        if not root.is_dir():
            raise UsageError(f"{root}: not a directory")
        return root.resolve()
    here = (cwd or Path.cwd()).resolve()
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return here
    top = done.stdout.strip()
    if done.returncode != 0 or not top or not Path(top).is_dir():
        return here
    return Path(top).resolve()


# --------------------------------------------------------------------------- arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``ask`` subcommand's arguments."""
    parser.add_argument("question", metavar="QUESTION", help="the question to ask")
    parser.add_argument(
        "--root",
        default=None,
        metavar="ROOT",
        help="workspace folder (default: the git work tree of the current directory, or it)",
    )
    parser.add_argument(
        "--file", default=None, metavar="F", help="the file the question is about (goes last)"
    )
    parser.add_argument(
        "--lines",
        type=line_range,
        default=None,
        metavar="A-B",
        help="explain lines A-B of --file (1-based, inclusive)",
    )
    parser.add_argument(
        "--show-thinking", action="store_true", help="print the model's thinking on stderr"
    )
    parser.add_argument("--model", default=None, metavar="M", help="model id (default: settings)")
    parser.add_argument(
        "--budget",
        type=_budget,
        default=None,
        metavar="TOKENS",
        help="context budget in tokens (default: the task's setting; 0 = automatic)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object at the end instead of streaming"
    )


def _budget(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (automatic) or more, got {value}")
    return value


# --------------------------------------------------------------------------- run


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything decided before the model call."""

    task: Literal["chat", "explain"]
    path: str | None
    selection: tuple[int, int] | None
    budget: int
    max_tokens: int
    thinking: Literal["disabled", "adaptive"]
    model: str


def run(args: argparse.Namespace) -> int:
    """Answer ``args.question``; see the module docstring for the contract."""
    if args.lines is not None and args.file is None:
        raise UsageError("--lines needs --file")
    if not args.question.strip():
        raise UsageError("the question is empty")
    resolved = resolve_settings(environ=os.environ)
    for problem in resolved.problems:
        print(f"minimax-lsp ask: warning: {problem}", file=sys.stderr)
    settings = resolved.settings
    config = client_config(settings, os.environ, model=args.model)
    if key_source(config) is None:
        raise CommandFailed(MISSING_KEY)
    root = workspace_root(args.root)
    _quiet_encoding_errors()
    output = _Output(json_mode=args.json, show_thinking=args.show_thinking)
    index = _open_index(root, settings)
    try:
        plan = _plan(args, settings, config, index)
        engine = ContextEngine(index)
        answer = asyncio.run(_ask(config, engine, plan, args.question, output))
    except ContextDenied as exc:
        raise UsageError(str(exc)) from None
    except _ReaderGone:
        return 0  # `ask … | head`: the reader had enough; nothing to report
    except KeyboardInterrupt:
        output.finish()
        raise
    finally:
        index.close()
    if args.json:
        print(json.dumps(_as_json(answer, show_thinking=args.show_thinking), indent=2))
    else:
        output.finish()
        print(_summary(answer), file=sys.stderr)
    return 0


def _quiet_encoding_errors() -> None:
    """A terminal that cannot show some character must not kill the answer midway."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def _open_index(root: Path, settings: Settings) -> Index:
    options = ScanOptions(
        max_file_bytes=settings.maxFileBytes, extra_ignore_globs=tuple(settings.ignore)
    )
    try:
        index = Index(root, options=options)
    except (OSError, ValueError) as exc:
        raise CommandFailed(f"cannot open the index for {root}: {exc}") from exc
    cancel = threading.Event()
    progress = ProgressLine.on_terminal(sys.stderr, _progress_text)
    try:
        with cancel_on_sigint(cancel):
            stats = index.refresh(progress=progress, cancel=cancel)
    except BaseException:
        index.close()
        raise
    finally:
        if progress is not None:
            progress.clear()
    if stats.cancelled:
        index.close()
        raise KeyboardInterrupt
    return index


def _plan(
    args: argparse.Namespace, settings: Settings, config: ClientConfig, index: Index
) -> _Plan:
    path: str | None = None
    selection: tuple[int, int] | None = args.lines
    if args.file is not None:
        path = _workspace_path(index, args.file)
        entry = index.get(path)
        if entry is None:
            raise UsageError(
                f"{args.file}: not in the index (ignored, secret, binary or too large)"
            )
        if selection is not None:
            last = max(entry.line_count, 1)
            if selection[0] > last:
                raise UsageError(f"--lines {selection[0]}-{selection[1]}: {path} has {last} lines")
            selection = (selection[0], min(selection[1], last))
    task: Literal["chat", "explain"] = "explain" if selection is not None else "chat"
    knobs = settings.task(task)
    info = model_info(config.model, config.context_window)
    max_tokens = min(knobs.maxOutputTokens, info.max_output)
    ceiling = auto_budget(info.context_window, max_tokens, question=args.question)
    wanted = knobs.budget if args.budget is None else args.budget
    budget = ceiling if wanted == 0 else min(wanted, ceiling)
    return _Plan(task, path, selection, budget, max_tokens, knobs.thinking, config.model)


def _workspace_path(index: Index, file: str) -> str:
    absolute = Path(file).expanduser()
    if not absolute.is_absolute():
        absolute = Path.cwd() / absolute
    rel = index.policy.relative(absolute)
    if rel is None or rel in ("", "."):
        raise UsageError(f"{file}: not inside the workspace {index.root}")
    if not absolute.is_file():
        raise UsageError(f"{file}: no such file")
    return rel


# --------------------------------------------------------------------------- the call


@dataclass(frozen=True, slots=True)
class _Answer:
    result: ModelResult
    manifest: Manifest
    retries: int


def _pack(engine: ContextEngine, plan: _Plan, question: str, budget: int) -> Manifest:
    first = plan.selection[0] if plan.selection is not None else 1
    return engine.pack(
        ContextRequest(
            path=plan.path,
            line=first,
            task=plan.task,
            selection=plan.selection,
            query=question,
            budget=budget,
        )
    )


def _request(manifest: Manifest, plan: _Plan, question: str) -> ModelRequest:
    return build_chat_request(
        manifest,
        question,
        current_path=plan.path,
        selection=plan.selection,
        task=plan.task,
        model=plan.model,
        max_tokens=plan.max_tokens,
        thinking=plan.thinking,
    )


async def _ask(
    config: ClientConfig, engine: ContextEngine, plan: _Plan, question: str, output: _Output
) -> _Answer:
    manifest = _pack(engine, plan, question, plan.budget)
    retries = 0
    async with ModelClient(config) as client:
        while True:
            try:
                result = await _stream(client, _request(manifest, plan, question), output)
            except ContextOverflow as exc:
                smaller = overflow_budget(manifest.tokens, exc)
                if retries or output.started or smaller >= manifest.tokens:
                    raise CommandFailed(str(exc)) from None
                retries += 1
                print(
                    f"minimax-lsp ask: {exc} Retrying with a smaller context "
                    f"({smaller:,} tokens instead of {manifest.tokens:,}).",
                    file=sys.stderr,
                )
                manifest = _pack(engine, plan, question, smaller)
                continue
            except ModelError as exc:
                raise CommandFailed(str(exc)) from None
            return _Answer(result, manifest, retries)


async def _stream(client: ModelClient, request: ModelRequest, output: _Output) -> ModelResult:
    # aclosing: on Ctrl-C (task cancelled) or any error the HTTP stream closes at once.
    async with contextlib.aclosing(client.stream(request)) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                output.text(event.text)
            elif isinstance(event, ThinkingDelta):
                output.thinking(event.text)
            elif isinstance(event, StreamDone):
                return event.result
    raise CommandFailed("the MiniMax stream ended without a result")  # pragma: no cover


# --------------------------------------------------------------------------- output


class _Output:
    """Where deltas go: answer to stdout (flushed), thinking to stderr (if shown)."""

    def __init__(self, *, json_mode: bool, show_thinking: bool) -> None:
        self._json = json_mode
        self._show_thinking = show_thinking and not json_mode
        self._dim = sys.stderr.isatty()
        self._thinking_open = False
        self._last = ""
        #: True once any answer text reached stdout (a retry would then repeat it).
        self.started = False

    def thinking(self, text: str) -> None:
        if not self._show_thinking or not text:
            return
        if not self._thinking_open:
            self._thinking_open = True
            if self._dim:
                sys.stderr.write(_DIM)
        sys.stderr.write(text)
        sys.stderr.flush()

    def text(self, text: str) -> None:
        if self._json:
            return
        if not self.started:
            # MiniMax starts the text after a thinking block with blank lines.
            text = text.lstrip("\n")
            if not text:
                return
        self._close_thinking()
        self.started = True
        self._last = text
        _write_stdout(text)

    def finish(self) -> None:
        """End the answer with a line break and reset the terminal's dimming."""
        self._close_thinking()
        if self.started and not self._last.endswith("\n"):
            _write_stdout("\n")

    def _close_thinking(self) -> None:
        if self._thinking_open:
            self._thinking_open = False
            sys.stderr.write((_RESET if self._dim else "") + "\n")
            sys.stderr.flush()


def _write_stdout(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader is gone. Point stdout at devnull so the interpreter's final flush
        # does not complain, and stop (closing the stream on the way out).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise _ReaderGone from None


class _ReaderGone(Exception):
    """stdout was closed by its reader (a pipe into ``head``, say)."""


def _files(manifest: Manifest) -> int:
    return len({span.path for span in manifest.items})


def _summary(answer: _Answer) -> str:
    result, usage = answer.result, answer.result.usage
    approx = " (estimated)" if usage.estimated else ""
    return (
        f"{result.model}: {usage.total_input:,} input tokens "
        f"({usage.cache_read_input_tokens:,} from cache), {usage.output_tokens:,} output"
        f"{approx}; {_files(answer.manifest)} files in context ({answer.manifest.tokens:,} "
        "tokens)"
    )


def _as_json(answer: _Answer, *, show_thinking: bool) -> dict[str, object]:
    result, usage = answer.result, answer.result.usage
    manifest = answer.manifest.to_json()
    manifest["files"] = _files(answer.manifest)
    data: dict[str, object] = {"answer": result.text.lstrip("\n")}
    if show_thinking:
        data["thinking"] = result.thinking
    data.update(
        model=result.model,
        stop_reason=result.stop_reason,
        usage={
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_input_tokens": usage.cache_read_input_tokens,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens,
            "total_input_tokens": usage.total_input,
            "estimated": usage.estimated,
        },
        manifest=manifest,
        context_retries=answer.retries,
    )
    return data


# --------------------------------------------------------------------------- indexing UI


def _progress_text(progress: Progress) -> str:
    """The progress line while the index refreshes (counts once there are any)."""
    counts = f" {progress.done}/{progress.total}" if progress.total else ""
    return f"indexing: {progress.phase}{counts}"
