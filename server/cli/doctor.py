"""``minimax-lsp doctor``: check settings, key, packages, index and (optionally) the endpoint.

Contract
--------
* Settings in effect come from ``resolve_settings(environ=os.environ)``: model,
  completion model, API format, base URL, per-task thinking / budget / output cap. The API
  key is reported only as present or absent plus its source (``env``, ``file`` or
  ``command``); its value is never printed, and a key command is not run offline (only
  found on the PATH).
* Packages: versions of minimax-lsp, pygls, lsprotocol, tree-sitter, httpx, and each
  tree-sitter grammar wheel, loaded for real.
* Index health of ROOT (``--root``, else the git work tree of the current directory, else
  it), read without modifying anything: database path, files, symbols, schema (``ok``,
  ``stale``: re-parsed on the next refresh, ``needs rebuild``, ``not built``) and the
  last refresh (the database's modification time, i.e. the last refresh that changed
  something). ``--refresh`` refreshes the index first.
* ``--online`` sends one tiny request (``max_tokens`` 8, thinking disabled, no retry)
  and reports the latency or the error's sentence.
* Each check ends ``ok``, ``warn`` (works, but worth knowing) or ``fail``. The report
  goes to stdout; exit 0 when nothing failed, else 1 with the failing checks listed on
  stderr; 2 for usage errors. ``--json`` prints one object: ``ok``, ``failed``,
  ``checks`` (``name``/``status``/``detail``), ``settings``, ``key``, ``packages``,
  ``grammars``, ``index`` and ``online`` (``null`` without ``--online``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from minimax_lsp.indexer.index import Index
from minimax_lsp.indexer.scan import ScanOptions
from minimax_lsp.indexer.store import SCHEMA_VERSION, database_path, extractor_fingerprint
from minimax_lsp.server.cli import CommandFailed
from minimax_lsp.server.cli.ask import MISSING_KEY, client_config, key_source, workspace_root
from minimax_lsp.server.model import (
    ClientConfig,
    ModelClient,
    ModelError,
    ModelRequest,
    Secret,
    model_info,
)
from minimax_lsp.server.prompts.chat import auto_budget
from minimax_lsp.server.settings import Resolved, Settings, resolve_settings

__all__ = ["PACKAGES", "Check", "add_arguments", "run"]

Status = Literal["ok", "warn", "fail"]

#: Distributions whose versions the report shows (the first four are required).
PACKAGES = ("minimax-lsp", "pygls", "lsprotocol", "tree-sitter", "httpx", "httpx-sse")
_REQUIRED = frozenset(PACKAGES[:4])
_TASKS = ("completion", "explain", "refactor", "chat")
_ONLINE_PROMPT = "Reply with the single word OK."


@dataclass(frozen=True, slots=True)
class Check:
    """The verdict of one check."""

    name: str
    status: Status
    detail: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``doctor`` subcommand's arguments."""
    parser.add_argument(
        "--root",
        default=None,
        metavar="ROOT",
        help="workspace folder (default: the git work tree of the current directory, or it)",
    )
    parser.add_argument(
        "--online", action="store_true", help="send one tiny request to the endpoint"
    )
    parser.add_argument("--refresh", action="store_true", help="refresh the index first")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Run every check, print the report, exit 0 (all passed) or 1 (some failed)."""
    root = workspace_root(args.root)
    resolved = resolve_settings(environ=os.environ)
    checks: list[Check] = []
    report: dict[str, Any] = {}
    try:
        config = client_config(resolved.settings, os.environ)
    except CommandFailed as exc:
        checks.append(Check("base URL", "fail", str(exc)))
        # Keep checking the rest with the default endpoint.
        key = os.environ.get("MINIMAX_API_KEY", "")
        config = ClientConfig(api_key=Secret(key) if key.strip() else None)
    report["settings"] = _settings(resolved, config, checks)
    report["key"] = _key(config, checks)
    report["packages"] = _packages(checks)
    report["grammars"] = _grammars(checks)
    report["index"] = _index(root, resolved.settings, checks, refresh=args.refresh)
    report["online"] = _online(config, checks) if args.online else None
    failed = [c for c in checks if c.status == "fail"]
    if args.json:
        data = {
            "ok": not failed,
            "failed": [c.name for c in failed],
            "checks": [{"name": c.name, "status": c.status, "detail": c.detail} for c in checks],
            **report,
        }
        print(json.dumps(data, indent=2))
    else:
        print(_text(report, checks))
    if failed:
        listed = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        raise CommandFailed(f"{len(failed)} check(s) failed: {listed}")
    return 0


# --------------------------------------------------------------------------- settings


def _settings(resolved: Resolved, config: ClientConfig, checks: list[Check]) -> dict[str, Any]:
    settings = resolved.settings
    info = model_info(config.model, config.context_window)
    tasks: dict[str, Any] = {}
    for name in _TASKS:
        knobs = settings.task(name)
        budget = knobs.budget
        if budget == 0:
            budget = auto_budget(info.context_window, min(knobs.maxOutputTokens, info.max_output))
        tasks[name] = {
            "thinking": knobs.thinking,
            "budget": knobs.budget,
            "effective_budget": budget,
            "max_output_tokens": knobs.maxOutputTokens,
        }
    if resolved.problems:
        checks.append(Check("settings", "warn", "; ".join(resolved.problems)))
    else:
        checks.append(Check("settings", "ok", "valid"))
    return {
        "model": settings.model,
        "completion_model": settings.effective_completion_model,
        "api": settings.api,
        "base_url": settings.effective_base_url,
        "context_window": info.context_window,
        "tasks": tasks,
        "problems": list(resolved.problems),
    }


def _key(config: ClientConfig, checks: list[Check]) -> dict[str, Any]:
    source = key_source(config)
    present = source is not None
    if source is None:
        checks.append(Check("api key", "fail", MISSING_KEY))
    elif source == "file":
        assert config.api_key_file is not None
        problem = _key_file_problem(config.api_key_file)
        present = problem is None
        checks.append(
            Check("api key", "fail" if problem else "ok", problem or "read from the key file")
        )
    elif source == "command":
        assert config.api_key_command is not None
        program = config.api_key_command[0]
        found = shutil.which(program) is not None or Path(program).is_file()
        checks.append(
            Check(
                "api key",
                "ok" if found else "fail",
                "from the key command (not run offline)"
                if found
                else f"the key command {Path(program).name!r} was not found",
            )
        )
    else:
        checks.append(Check("api key", "ok", "MINIMAX_API_KEY is set"))
    return {"present": present, "source": source}


def _key_file_problem(path: Path) -> str | None:
    """Why the key file is unusable, without ever reading its content into a message."""
    try:
        data = path.read_bytes()[:65536]
    except OSError as exc:
        return f"cannot read the key file {path} ({exc.strerror or type(exc).__name__})"
    return None if data.strip() else f"the key file {path} is empty"


# --------------------------------------------------------------------------- packages


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _packages(checks: list[Check]) -> dict[str, str | None]:
    versions = {name: _version(name) for name in PACKAGES}
    missing = sorted(n for n in _REQUIRED if versions[n] is None)
    if missing:
        checks.append(Check("packages", "fail", f"not installed: {', '.join(missing)}"))
    else:
        checks.append(Check("packages", "ok", f"python {sys.version.split()[0]}"))
    return versions


def _grammars(checks: list[Check]) -> dict[str, Any]:
    # Imported here: loading the grammar table pulls in tree_sitter, which could be the
    # very thing that is broken; that must be reported, not crash the doctor.
    try:
        from minimax_lsp.indexer.languages import GRAMMARS, load_grammar
    except Exception as exc:
        checks.append(Check("grammars", "fail", f"tree-sitter does not load ({exc})"))
        return {}
    found: dict[str, Any] = {}
    for language, grammar in sorted(GRAMMARS.items()):
        error: str | None = None
        try:
            load_grammar(language)
        except Exception as exc:  # a broken wheel raises anything at all
            error = f"{type(exc).__name__}: {exc}"
        distribution = grammar.module.replace("_", "-")
        found[language] = {
            "module": grammar.module,
            "version": _version(distribution),
            "ok": error is None,
            "error": error,
        }
    broken = [name for name, item in found.items() if not item["ok"]]
    if len(broken) == len(found):
        checks.append(Check("grammars", "fail", "no tree-sitter grammar loads"))
    elif broken:
        checks.append(
            Check("grammars", "warn", f"not loading (indexed as text): {', '.join(broken)}")
        )
    else:
        checks.append(Check("grammars", "ok", f"{len(found)} load"))
    return found


# --------------------------------------------------------------------------- index


def _index(root: Path, settings: Settings, checks: list[Check], *, refresh: bool) -> dict[str, Any]:
    if refresh:
        options = ScanOptions(
            max_file_bytes=settings.maxFileBytes, extra_ignore_globs=tuple(settings.ignore)
        )
        try:
            with Index(root, options=options) as index:
                index.refresh()
        except (OSError, ValueError) as exc:
            checks.append(Check("index", "fail", f"cannot refresh the index: {exc}"))
    path = database_path(root)
    data: dict[str, Any] = {
        "root": str(root),
        "database": str(path),
        "files": None,
        "symbols": None,
        "schema": "not built",
        "last_refresh": None,
    }
    if not path.is_file():
        checks.append(Check("index", "warn", "not built yet: run `minimax-lsp index`"))
        return data
    data["last_refresh"] = _last_write(path)
    schema, reason, files, symbols = _inspect(path, str(root))
    data.update(schema=schema, files=files, symbols=symbols)
    if schema == "ok":
        checks.append(Check("index", "ok", f"{files:,} files, {symbols:,} symbols"))
    else:
        checks.append(Check("index", "warn", f"{schema}: {reason}"))
    return data


def _last_write(path: Path) -> str:
    stamps = [
        Path(f"{path}{suffix}").stat().st_mtime
        for suffix in ("", "-wal")
        if Path(f"{path}{suffix}").is_file()
    ]
    when = datetime.fromtimestamp(max(stamps), tz=UTC)
    return when.isoformat(timespec="seconds")


def _inspect(path: Path, root: str) -> tuple[str, str, int | None, int | None]:
    """(schema verdict, reason, files, symbols) of a database, opened read-only."""
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error as exc:
        return "needs rebuild", f"cannot open it ({exc})", None, None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            return "needs rebuild", f"schema {version}, expected {SCHEMA_VERSION}", None, None
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("root") != root:
            return "needs rebuild", "written for another folder", None, None
        files = int(conn.execute("SELECT count(*) FROM files").fetchone()[0])
        # Definitions are the third element of each row's JSON array (store.encode_symbols).
        row = conn.execute(
            "SELECT coalesce(sum(json_array_length(CAST(symbols AS TEXT), '$[2]')), 0) FROM files"
        ).fetchone()
        symbols = int(row[0])
    except sqlite3.Error as exc:
        return "needs rebuild", f"unreadable ({exc})", None, None
    finally:
        conn.close()
    if meta.get("extractor") != extractor_fingerprint():
        return (
            "stale",
            "the parser changed; files are re-parsed on the next refresh",
            files,
            symbols,
        )
    return "ok", "", files, symbols


# --------------------------------------------------------------------------- online


def _online(config: ClientConfig, checks: list[Check]) -> dict[str, Any]:
    data: dict[str, Any] = {"model": config.model, "base_url": config.base_url}
    if key_source(config) is None:
        checks.append(Check("endpoint", "fail", "skipped: no API key"))
        return {**data, "ok": False, "latency_seconds": None, "error": MISSING_KEY}
    try:
        latency = asyncio.run(_probe(config))
    except ModelError as exc:
        checks.append(Check("endpoint", "fail", str(exc)))
        return {**data, "ok": False, "latency_seconds": None, "error": str(exc)}
    checks.append(Check("endpoint", "ok", f"{config.model} answered in {latency:.2f} s"))
    return {**data, "ok": True, "latency_seconds": round(latency, 3), "error": None}


async def _probe(config: ClientConfig) -> float:
    request = ModelRequest.simple(
        _ONLINE_PROMPT, max_tokens=8, thinking="disabled", max_attempts=1, auto_cache=False
    )
    async with ModelClient(config) as client:
        started = time.perf_counter()
        await client.complete(request)
        return time.perf_counter() - started


# --------------------------------------------------------------------------- text report


def _text(report: dict[str, Any], checks: list[Check]) -> str:
    settings, key, index = report["settings"], report["key"], report["index"]
    budgets = ", ".join(
        f"{name} {'auto ' if t['budget'] == 0 else ''}{t['effective_budget']:,}"
        for name, t in settings["tasks"].items()
    )
    key_text = f"present ({key['source']})" if key["present"] else "absent"
    lines = [
        "settings",
        f"  model             {settings['model']}",
        f"  completion model  {settings['completion_model']}",
        f"  api format        {settings['api']}",
        f"  base URL          {settings['base_url']}",
        f"  context budgets   {budgets}",
        f"  API key           {key_text}",
        "packages",
        "  " + ", ".join(f"{n} {v or 'missing'}" for n, v in report["packages"].items()),
    ]
    grammars = report["grammars"]
    loading = [name for name, item in grammars.items() if item["ok"]]
    lines.append(f"  grammars          {len(loading)}/{len(grammars)} load: {', '.join(loading)}")
    lines += [
        f"index of {index['root']}",
        f"  database          {index['database']}",
        f"  schema            {index['schema']}",
    ]
    if index["files"] is not None:
        lines.append(f"  files             {index['files']:,} ({index['symbols']:,} symbols)")
    if index["last_refresh"] is not None:
        lines.append(f"  last refresh      {index['last_refresh']}")
    online = report["online"]
    if online is not None:
        state = (
            f"reachable, key accepted, {online['latency_seconds']:.2f} s"
            if online["ok"]
            else f"FAILED: {online['error']}"
        )
        lines += ["endpoint", f"  {online['base_url']}  {state}"]
    lines.append("checks")
    lines += [f"  {c.status:<4}  {c.name}: {c.detail}" for c in checks]
    return "\n".join(lines)
