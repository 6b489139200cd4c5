"""Typed, frozen settings resolved from every source the server reads.

Sources, strongest first (DESIGN.md §3.2)::

    workspace/configuration (section "minimax")  >  initializationOptions
        >  environment (MINIMAX_BASE_URL, MINIMAX_MODEL, MINIMAX_API)  >  defaults

Raw options arrive as camelCase JSON objects (``{"inlineCompletion": {"enable":
false}}``); :func:`resolve_settings` merges the layers key by key and converts them
into :class:`Settings`. A value of the wrong type or out of range never fails the
server: it falls back to the next layer (ultimately the default) and a message is
collected for the user, once.

Both shapes editors send for ``initializationOptions`` are accepted: a flat object
(Neovim, Helix, most clients) and the VS Code template's ``{"settings": {...},
"globalSettings": {...}}``; a ``{"minimax": {...}}`` wrapper is unwrapped too.

The API key itself is never a setting: it is read from ``MINIMAX_API_KEY`` (or the
key file / key command named here) inside the server process, so it never travels in
LSP params or traces.

Every field's documentation lives in its ``metadata["doc"]``; ``docs/settings.md`` is
generated from it (``python -m minimax_lsp.server.settings --markdown``) and a test
keeps the two equal, so there is one source for the server, the docs and the editor
shims.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Thinking = Literal["disabled", "adaptive"]
ApiFormat = Literal["anthropic", "openai"]
Notifications = Literal["off", "onError", "always"]
FallbackMode = Literal["auto", "on", "off"]
LogLevel = Literal["error", "warning", "info", "debug"]

DEFAULT_ANTHROPIC_BASE_URL = "https://api.minimax.io/anthropic"
DEFAULT_OPENAI_BASE_URL = "https://api.minimax.io/v1"

#: Section name in ``workspace/configuration``.
SECTION = "minimax"

#: Name of the weakest-trusted layer (see ``trusted`` in `_f`).
WORKSPACE_LAYER = "workspace configuration"


def _f(
    default: Any,
    doc: str,
    *,
    minimum: float | None = None,
    env: str | None = None,
    trusted: bool = False,
) -> Any:
    """A dataclass field carrying its documentation (and bounds) for docs and validation.

    ``trusted`` fields are ignored when they come from ``workspace/configuration``:
    editors fill that from project files a cloned repository controls
    (``.vscode/settings.json``, ``.dir-locals.el``, ``.helix/languages.toml``), and
    these fields run a command or name a file to read or write.
    """
    meta = {"doc": doc, "minimum": minimum, "env": env, "trusted": trusted}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    if dataclasses.is_dataclass(default) and isinstance(default, type):
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class TaskSettings:
    """Per-task knobs; one instance per task kind (completion, explain, refactor, chat)."""

    thinking: Thinking = _f("adaptive", "Thinking mode sent to the model for this task.")
    budget: int = _f(
        0,
        "Context budget in tokens for this task; 0 means automatic (sized from the "
        "model's context window, minus room for the answer).",
        minimum=0,
    )
    maxOutputTokens: int = _f(8192, "Cap on the model's answer, thinking included.", minimum=1)


def _task(thinking: Thinking, budget: int, max_out: int) -> Any:
    return field(
        default_factory=lambda: TaskSettings(thinking, budget, max_out),
        metadata={"doc": "", "minimum": None, "env": None},
    )


@dataclass(frozen=True, slots=True)
class InlineCompletionSettings:
    enable: bool = _f(True, "Offer inline (ghost-text) completions.")
    languages: dict[str, bool] = _f(
        {"*": True, "markdown": False, "plaintext": False},
        "Enable per language id; `*` is the default for languages not listed.",
    )
    fallback: FallbackMode = _f(
        "auto",
        "Serve `textDocument/completion` items too: `auto` only for clients that do not "
        "advertise inline completion, `on` always, `off` never.",
    )
    multiline: bool = _f(True, "Allow multi-line suggestions where the syntax calls for them.")


@dataclass(frozen=True, slots=True)
class SpendSettings:
    automaticRequestsPerMinute: int = _f(
        30,
        "Cap on automatic model requests (inline completions) per minute; past it, "
        "automatic requests pause with a status message. 0 disables automatic requests.",
        minimum=0,
    )
    tokensPerDay: int = _f(
        20_000_000,
        "Cap on input + output tokens per day across all requests; 0 means no cap.",
        minimum=0,
    )


@dataclass(frozen=True, slots=True)
class TasksSettings:
    completion: TaskSettings = _task("disabled", 6000, 256)
    explain: TaskSettings = _task("adaptive", 64_000, 8192)
    refactor: TaskSettings = _task("adaptive", 64_000, 16_384)
    chat: TaskSettings = _task("adaptive", 0, 16_384)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server can be told, fully defaulted."""

    model: str = _f("MiniMax-M3", "Model for explain, refactor and chat.", env="MINIMAX_MODEL")
    completionModel: str = _f("", "Model for inline completions; empty means the same as `model`.")
    api: ApiFormat = _f(
        "anthropic",
        "Wire format: the Anthropic-compatible Messages API (recommended) or the "
        "OpenAI-compatible chat completions API.",
        env="MINIMAX_API",
    )
    baseUrl: str = _f(
        "",
        "Endpoint base URL; empty means MiniMax's international endpoint for the chosen "
        "`api` (`https://api.minimax.io/anthropic` or `https://api.minimax.io/v1`). "
        "China region: `https://api.minimaxi.com/anthropic`.",
        env="MINIMAX_BASE_URL",
    )
    contextWindow: int = _f(
        0,
        "Override the model's context window in tokens (for unknown model ids); 0 = known value.",
        minimum=0,
    )
    apiKeyFile: str = _f(
        "",
        "Read the API key from this file instead of `MINIMAX_API_KEY` (never the key itself). "
        "Trusted: taken from initializationOptions only, never from workspace configuration.",
        trusted=True,
    )
    apiKeyCommand: list[str] = _f(
        [],
        "Run this command (no shell) and use its output as the API key. "
        "Trusted: taken from initializationOptions only, never from workspace configuration.",
        trusted=True,
    )
    tasks: TasksSettings = _f(TasksSettings, "Per-task thinking, context budget, output cap.")
    inlineCompletion: InlineCompletionSettings = _f(
        InlineCompletionSettings, "Inline completion behaviour."
    )
    spend: SpendSettings = _f(SpendSettings, "Spend guard.")
    ignore: list[str] = _f(
        [],
        "Extra gitignore-style globs never indexed or sent (on top of .gitignore, "
        "the AI ignore files and the secret deny-list).",
    )
    maxFileBytes: int = _f(1_000_000, "Files larger than this are not indexed.", minimum=1)
    requestTimeoutSeconds: float = _f(
        120.0, "Read timeout for a model response (seconds).", minimum=1
    )
    answersInDocument: bool = _f(
        False,
        "Also open each explain and chat answer as a Markdown document "
        "(window/showDocument), for editors without the MiniMax plugin, which do not "
        "display command results (Helix, Zed, Sublime Text, Kakoune, lsp-mode).",
    )
    showNotifications: Notifications = _f(
        "onError", "Pop-up messages: never, only for persistent errors, or also for info."
    )
    logLevel: LogLevel = _f("info", "Server log level (stderr, log file, window/logMessage).")
    logFile: str = _f(
        "",
        "Also write the server log to this file. "
        "Trusted: taken from initializationOptions only, never from workspace configuration.",
        trusted=True,
    )

    @property
    def effective_base_url(self) -> str:
        """The base URL in force (the default for the chosen wire format if unset)."""
        if self.baseUrl:
            return self.baseUrl.rstrip("/")
        return DEFAULT_OPENAI_BASE_URL if self.api == "openai" else DEFAULT_ANTHROPIC_BASE_URL

    @property
    def effective_completion_model(self) -> str:
        return self.completionModel or self.model

    def task(self, name: str) -> TaskSettings:
        """Settings of one task kind (``completion``, ``explain``, ``refactor``, ``chat``)."""
        value = getattr(self.tasks, name, None)
        if not isinstance(value, TaskSettings):
            raise KeyError(name)
        return value


# --------------------------------------------------------------------------- merging


def unwrap_initialization_options(raw: object) -> dict[str, Any]:
    """Accept the flat shape, ``{"minimax": …}`` and ``{"settings", "globalSettings"}``."""
    if not isinstance(raw, Mapping):
        return {}
    data: dict[str, Any] = dict(raw)
    if isinstance(data.get(SECTION), Mapping):
        data = dict(data[SECTION])
    if "settings" in data or "globalSettings" in data:
        merged: dict[str, Any] = {}
        glob = data.get("globalSettings")
        if isinstance(glob, Mapping):
            merged = deep_merge(merged, _unwrap_section(glob))
        per = data.get("settings")
        # The template sends a list of per-workspace objects; the first one wins.
        if isinstance(per, list) and per and isinstance(per[0], Mapping):
            per = per[0]
        if isinstance(per, Mapping):
            merged = deep_merge(merged, _unwrap_section(per))
        return merged
    return data


def _unwrap_section(value: Mapping[str, Any]) -> dict[str, Any]:
    inner = value.get(SECTION)
    return dict(inner) if isinstance(inner, Mapping) else dict(value)


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` wins key by key; nested objects merge instead of replacing."""
    out = dict(base)
    for key, value in over.items():
        if value is None:
            continue  # clients send null for "unset"; keep the weaker layer's value
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = deep_merge(old, value)
        else:
            out[key] = value
    return out


def environment_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings taken from environment variables (the key itself is not one of them)."""
    layer: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        env = f.metadata.get("env")
        if env and environ.get(env):
            layer[f.name] = environ[env]
    return layer


@dataclass(frozen=True, slots=True)
class Resolved:
    """Resolved settings plus the messages about values that were rejected."""

    settings: Settings
    problems: tuple[str, ...] = ()


def resolve_settings(
    *,
    workspace: Mapping[str, Any] | None = None,
    initialization: object = None,
    environ: Mapping[str, str] | None = None,
) -> Resolved:
    """Merge the layers (strongest first in the module docstring) into :class:`Settings`.

    A bad value in a strong layer falls back to the same key in the next weaker layer,
    and finally to the default, with one problem message per rejected value.
    """
    layers = [
        (WORKSPACE_LAYER, dict(workspace or {})),
        ("initializationOptions", unwrap_initialization_options(initialization)),
        ("environment", environment_layer(environ or {})),
    ]
    problems: list[str] = []
    settings = _build(Settings(), layers, "", problems)
    return Resolved(settings, tuple(problems))


def _build(
    default: Any,
    layers: Sequence[tuple[str, Mapping[str, Any]]],
    prefix: str,
    problems: list[str],
) -> Any:
    """A copy of the dataclass instance ``default`` with every valid layered value applied."""
    cls = type(default)
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        path = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hint):
            sub_layers = [
                (name, layer[f.name])
                for name, layer in layers
                if isinstance(layer.get(f.name), Mapping)
            ]
            for name, layer in layers:
                if f.name in layer and not isinstance(layer[f.name], Mapping):
                    problems.append(f"{path} ({name}): expected an object; ignored")
            kwargs[f.name] = _build(getattr(default, f.name), sub_layers, f"{path}.", problems)
            continue
        for name, layer in layers:
            if f.name not in layer or layer[f.name] is None:
                continue
            if f.metadata.get("trusted") and name == WORKSPACE_LAYER:
                problems.append(
                    f"{path} ({name}): only accepted from initializationOptions "
                    "(project files must not choose commands or files); ignored"
                )
                continue
            ok, value = _coerce(layer[f.name], hint, f.metadata.get("minimum"))
            if ok:
                kwargs[f.name] = value
                break
            problems.append(f"{path} ({name}): invalid value {_short(layer[f.name])}; ignored")
        else:
            kwargs[f.name] = getattr(default, f.name)
    # Unknown keys are tolerated (clients send other tools' settings) but reported.
    known = {f.name for f in dataclasses.fields(cls)}
    for name, layer in layers:
        for key in layer:
            if key not in known:
                problems.append(f"{prefix}{key} ({name}): unknown setting; ignored")
    return cls(**kwargs)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _coerce(value: object, hint: Any, minimum: float | None) -> tuple[bool, Any]:
    """Check/convert one raw JSON value against a field type; (ok, converted)."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return (value in typing.get_args(hint), value)
    if hint is bool:
        return (isinstance(value, bool), value)
    if hint is int:
        # Environment values are strings; JSON numbers may come as floats like 8.0.
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
        return (ok and (minimum is None or value >= minimum), value)  # type: ignore[operator]
    if hint is float:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return (False, value)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return (ok and (minimum is None or float(value) >= minimum), float(value) if ok else value)  # type: ignore[arg-type]
    if hint is str:
        return (isinstance(value, str), value)
    if origin is list:
        (item,) = typing.get_args(hint)
        ok = isinstance(value, list) and all(_coerce(v, item, None)[0] for v in value)
        return (ok, list(value) if ok else value)  # type: ignore[call-overload]
    if origin is dict:
        _, item = typing.get_args(hint)
        ok = isinstance(value, Mapping) and all(
            isinstance(k, str) and _coerce(v, item, None)[0] for k, v in value.items()
        )
        return (ok, dict(value) if ok else value)  # type: ignore[call-overload]
    return (False, value)


# --------------------------------------------------------------------------- docs


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(hint))
    if origin is list:
        return f"list of {_type_name(typing.get_args(hint)[0])}"
    if origin is dict:
        return f"object of {_type_name(typing.get_args(hint)[1])}"
    if isinstance(hint, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(
            hint.__name__, hint.__name__
        )
    return str(hint)


def iter_setting_docs(
    cls: type[Any] = Settings, prefix: str = "", instance: Any = None
) -> Iterator[tuple[str, str, str, str, str | None]]:
    """(dotted name, type, default as JSON-ish text, description, env var) for each leaf."""
    import json

    hints = typing.get_type_hints(cls)
    instance = instance if instance is not None else cls()
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        value = getattr(instance, f.name)
        if dataclasses.is_dataclass(hint):
            yield from iter_setting_docs(typing.cast(type, hint), f"{prefix}{f.name}.", value)
            continue
        doc = f.metadata.get("doc", "")
        default = json.dumps(value)
        yield (f"{prefix}{f.name}", _type_name(hint), default, doc, f.metadata.get("env"))


TASK_DOCS = {
    "completion": "inline completion",
    "explain": "explain the selection",
    "refactor": "refactor / fix / document / write tests",
    "chat": "chat",
}


def settings_markdown() -> str:
    """The body of ``docs/settings.md`` (kept equal by a test)."""
    lines = [
        "# Settings",
        "",
        "<!-- Generated by `python -m minimax_lsp.server.settings --markdown`; edit the",
        "     docs in server/settings.py, not here. -->",
        "",
        "Settings come from the LSP `workspace/configuration` section `minimax` (re-read on",
        "`workspace/didChangeConfiguration`), then `initializationOptions`, then environment",
        "variables, then the defaults below — strongest first. Names are camelCase; nested",
        'settings are objects (`{"tasks": {"chat": {"budget": 200000}}}`). An invalid',
        "value falls back to the next source and is reported once.",
        "",
        "The API key is **not** a setting: the server reads `MINIMAX_API_KEY` from its",
        "environment, or the file / command named by `apiKeyFile` / `apiKeyCommand`.",
        "",
        "| setting | type | default | env | description |",
        "|---|---|---|---|---|",
    ]
    for name, type_name, default, doc, env in iter_setting_docs():
        if name.startswith("tasks."):
            task = name.split(".")[1]
            doc = f"{doc} (task: {TASK_DOCS[task]})"
        lines.append(
            f"| `{name}` | {type_name} | `{default}` | {f'`{env}`' if env else ''} | {doc} |"
        )
    lines.append("")
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    if argv == ["--markdown"]:
        sys.stdout.write(settings_markdown())
        return 0
    sys.stderr.write("usage: python -m minimax_lsp.server.settings --markdown\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))

__all__ = [
    "SECTION",
    "InlineCompletionSettings",
    "Resolved",
    "Settings",
    "SpendSettings",
    "TaskSettings",
    "TasksSettings",
    "deep_merge",
    "resolve_settings",
    "settings_markdown",
    "unwrap_initialization_options",
]
