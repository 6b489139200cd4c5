"""Keep the VS Code extension's contributed settings equal to the server's `Settings`.

The server's settings dataclass (``minimax_lsp.server.settings.Settings``) is the single
source: its fields, types, defaults, bounds and ``metadata["doc"]`` become the
``contributes.configuration`` section titled `SERVER_SECTION_TITLE` in
``editors/vscode/package.json`` (one ``minimax.<dotted.name>`` property per leaf). The
other configuration sections (the extension's own settings) are left alone.

Usage (from the repository root, with the project's venv)::

    python editors/vscode/scripts/sync_settings.py --check   # exit 1 and a diff if stale
    python editors/vscode/scripts/sync_settings.py --write   # rewrite package.json

``tests/vscode/test_vscode.py`` runs ``--check``, so the two cannot drift.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from minimax_lsp.server.settings import TASK_DOCS, Settings

PACKAGE_JSON = Path(__file__).resolve().parent.parent / "package.json"
SECTION = "minimax"
SERVER_SECTION_TITLE = "MiniMax: language server"

#: Settings that name files or programs: only the user (machine) may set them, never a
#: workspace's .vscode/settings.json (a cloned repository could otherwise make the
#: server run a command of its choosing).
MACHINE_SCOPED = frozenset({"apiKeyFile", "apiKeyCommand", "logFile"})


def _schema(hint: Any) -> dict[str, Any]:
    """The JSON schema of one field type."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return {"type": "string", "enum": list(typing.get_args(hint))}
    if origin is list:
        return {"type": "array", "items": _schema(typing.get_args(hint)[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(typing.get_args(hint)[1])}
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if hint in names:
        return {"type": names[hint]}
    raise TypeError(f"no JSON schema for setting type {hint!r}")


def _leaves(cls: type[Any], instance: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any, Any]]:
    """(dotted name, type hint, default, field) for every leaf setting, in field order."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        value = getattr(instance, field.name)
        if dataclasses.is_dataclass(hint):
            yield from _leaves(typing.cast(type, hint), value, f"{prefix}{field.name}.")
        else:
            yield f"{prefix}{field.name}", hint, value, field


def _description(name: str, field: Any) -> str:
    doc: str = field.metadata.get("doc", "")
    if name.startswith("tasks."):
        doc = f"{doc} (task: {TASK_DOCS[name.split('.')[1]]})"
    env = field.metadata.get("env")
    if env:
        doc += f" When not set here, the server reads `{env}` from its environment."
    if name.split(".")[-1] in MACHINE_SCOPED:
        doc += " User settings only (never taken from a workspace)."
    return doc


def server_properties() -> dict[str, Any]:
    """The generated ``properties`` object of the server settings section."""
    properties: dict[str, Any] = {}
    for order, (name, hint, default, field) in enumerate(_leaves(Settings, Settings())):
        prop: dict[str, Any] = _schema(hint)
        prop["default"] = default
        minimum = field.metadata.get("minimum")
        if minimum is not None:
            prop["minimum"] = minimum
        prop["markdownDescription"] = _description(name, field)
        prop["scope"] = "machine" if name.split(".")[-1] in MACHINE_SCOPED else "window"
        prop["order"] = order
        properties[f"{SECTION}.{name}"] = prop
    return properties


def updated_package(package: dict[str, Any]) -> dict[str, Any]:
    """``package`` with its server settings section regenerated (other sections kept)."""
    sections = package.setdefault("contributes", {}).setdefault("configuration", [])
    if not isinstance(sections, list):
        sections = [sections]
    generated = {
        "id": "minimax-server",
        "title": SERVER_SECTION_TITLE,
        "properties": server_properties(),
    }
    for index, section in enumerate(sections):
        if section.get("title") == SERVER_SECTION_TITLE:
            sections[index] = generated
            break
    else:
        sections.append(generated)
    package["contributes"]["configuration"] = sections
    return package


def render(package: dict[str, Any]) -> str:
    """package.json text as npm writes it (2-space indent, trailing newline)."""
    return json.dumps(package, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail if package.json is stale")
    mode.add_argument("--write", action="store_true", help="rewrite package.json")
    args = parser.parse_args(argv)
    current = PACKAGE_JSON.read_text(encoding="utf-8")
    wanted = render(updated_package(json.loads(current)))
    if args.write:
        if wanted != current:
            PACKAGE_JSON.write_text(wanted, encoding="utf-8")
            sys.stdout.write(f"updated {PACKAGE_JSON}\n")
        return 0
    if wanted == current:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        wanted.splitlines(keepends=True),
        "package.json",
        "package.json (from Settings)",
    )
    sys.stdout.writelines(diff)
    sys.stdout.write(
        "package.json settings differ from the server's Settings; run "
        "`python editors/vscode/scripts/sync_settings.py --write`\n"
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
