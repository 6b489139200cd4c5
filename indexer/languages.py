"""Which grammar a file is parsed with, and how that grammar is loaded.

Contract
--------
* `SUPPORTED_LANGUAGES` lists the language ids we have a tree-sitter grammar and a
  query file for. These ids are what `FileSymbols.language` holds (plus
  `records.TEXT_LANGUAGE` for everything else).
* `language_for_path` maps a workspace-relative path to one of those ids by file name
  or extension only (no I/O, no shebang sniffing), or to ``None`` for plain text.
  Matching is case-insensitive. JSX files map to ``"javascript"`` (the JavaScript
  grammar parses JSX); ``.tsx`` has its own grammar.
* `load_grammar` imports the grammar wheel for one language the first time it is
  asked for (never at module import), and `query_source` reads the language's
  ``queries/<file>.scm`` package-data file. Both raise `UnsupportedLanguageError` for
  an id outside `SUPPORTED_LANGUAGES`. Callers cache what they get: this module keeps
  no state.
"""

from __future__ import annotations

import importlib
import importlib.resources
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import MappingProxyType

import tree_sitter as ts

__all__ = [
    "GRAMMARS",
    "SUPPORTED_LANGUAGES",
    "Grammar",
    "UnsupportedLanguageError",
    "language_for_path",
    "load_grammar",
    "query_source",
]


class UnsupportedLanguageError(ValueError):
    """Raised for a language id that has no grammar here."""


@dataclass(frozen=True, slots=True)
class Grammar:
    """Where one language's grammar and query live.

    Parameters
    ----------
    module:
        The grammar wheel's import name (``"tree_sitter_typescript"``).
    function:
        The function of that module returning the ``TSLanguage`` capsule.
    query_file:
        File name in ``indexer/queries/``; TSX shares TypeScript's.
    """

    module: str
    function: str
    query_file: str


GRAMMARS: Mapping[str, Grammar] = MappingProxyType(
    {
        "python": Grammar("tree_sitter_python", "language", "python.scm"),
        "javascript": Grammar("tree_sitter_javascript", "language", "javascript.scm"),
        "typescript": Grammar("tree_sitter_typescript", "language_typescript", "typescript.scm"),
        "tsx": Grammar("tree_sitter_typescript", "language_tsx", "typescript.scm"),
        "go": Grammar("tree_sitter_go", "language", "go.scm"),
        "rust": Grammar("tree_sitter_rust", "language", "rust.scm"),
        "java": Grammar("tree_sitter_java", "language", "java.scm"),
        "c": Grammar("tree_sitter_c", "language", "c.scm"),
        "cpp": Grammar("tree_sitter_cpp", "language", "cpp.scm"),
        "csharp": Grammar("tree_sitter_c_sharp", "language", "csharp.scm"),
        "ruby": Grammar("tree_sitter_ruby", "language", "ruby.scm"),
        # `language_php` is the grammar for whole .php files (HTML text around
        # `<?php ... ?>` islands); `language_php_only` would need the islands cut out.
        "php": Grammar("tree_sitter_php", "language_php", "php.scm"),
        "kotlin": Grammar("tree_sitter_kotlin", "language", "kotlin.scm"),
        "swift": Grammar("tree_sitter_swift", "language", "swift.scm"),
        "scala": Grammar("tree_sitter_scala", "language", "scala.scm"),
        "lua": Grammar("tree_sitter_lua", "language", "lua.scm"),
        "bash": Grammar("tree_sitter_bash", "language", "bash.scm"),
    }
)

SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(GRAMMARS)

_EXTENSIONS: Mapping[str, str] = MappingProxyType(
    {
        ".py": "python",
        ".pyi": "python",
        ".pyw": "python",
        ".js": "javascript",
        ".mjs": "javascript",
        ".cjs": "javascript",
        ".jsx": "javascript",
        ".ts": "typescript",
        ".mts": "typescript",
        ".cts": "typescript",
        ".tsx": "tsx",
        ".go": "go",
        ".rs": "rust",
        ".java": "java",
        ".c": "c",
        # A `.h` file may be C or C++ and the path alone cannot tell. The C++ grammar
        # parses C headers well, while the C grammar turns a C++ header's classes and
        # templates into error nodes, so C++ is the safer guess.
        ".h": "cpp",
        ".cc": "cpp",
        ".cpp": "cpp",
        ".cxx": "cpp",
        ".c++": "cpp",
        ".hh": "cpp",
        ".hpp": "cpp",
        ".hxx": "cpp",
        ".h++": "cpp",
        ".ipp": "cpp",
        ".tpp": "cpp",
        ".inl": "cpp",
        ".cs": "csharp",
        ".csx": "csharp",
        ".rb": "ruby",
        ".rake": "ruby",
        ".gemspec": "ruby",
        ".ru": "ruby",
        ".php": "php",
        ".phtml": "php",
        ".php4": "php",
        ".php5": "php",
        ".php7": "php",
        ".php8": "php",
        ".kt": "kotlin",
        ".kts": "kotlin",
        ".swift": "swift",
        ".scala": "scala",
        ".sc": "scala",
        ".sbt": "scala",
        ".lua": "lua",
        ".sh": "bash",
        ".bash": "bash",
        # zsh and ksh are not bash, but close enough for definitions and `source`.
        ".zsh": "bash",
        ".ksh": "bash",
    }
)

# Whole file names (lower-cased) that carry no telling extension.
_FILE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "rakefile": "ruby",
        "gemfile": "ruby",
        "guardfile": "ruby",
        "podfile": "ruby",
        "vagrantfile": "ruby",
        "brewfile": "ruby",
        "fastfile": "ruby",
        ".bashrc": "bash",
        ".bash_profile": "bash",
        ".bash_login": "bash",
        ".bash_logout": "bash",
        ".bash_aliases": "bash",
        ".profile": "bash",
        ".zshrc": "bash",
        ".zshenv": "bash",
        ".zprofile": "bash",
        "pkgbuild": "bash",
        "apkbuild": "bash",
    }
)


def language_for_path(rel_path: str) -> str | None:
    """Return the language id for ``rel_path``, or ``None`` to index it as plain text.

    Parameters
    ----------
    rel_path:
        A workspace-relative path (POSIX or native separators); only its last
        component is looked at.
    """
    name = PurePosixPath(rel_path.replace("\\", "/")).name.lower()
    by_name = _FILE_NAMES.get(name)
    if by_name is not None:
        return by_name
    dot = name.rfind(".")
    # `dot <= 0` also rejects dot-files such as `.py` (a hidden file with no extension).
    if dot <= 0:
        return None
    return _EXTENSIONS.get(name[dot:])


def _grammar(language: str) -> Grammar:
    try:
        return GRAMMARS[language]
    except KeyError:
        raise UnsupportedLanguageError(f"no grammar for language {language!r}") from None


def load_grammar(language: str) -> ts.Language:
    """Import the grammar wheel of ``language`` and return its `tree_sitter.Language`.

    Only the one wheel is imported, on first use. Raises `UnsupportedLanguageError`
    for an unknown id, and whatever the import raises if the wheel is broken.
    """
    grammar = _grammar(language)
    module = importlib.import_module(grammar.module)
    return ts.Language(getattr(module, grammar.function)())


def query_source(language: str) -> str:
    """Return the text of ``language``'s query file (package data)."""
    grammar = _grammar(language)
    files = importlib.resources.files("minimax_lsp.indexer.queries")
    return files.joinpath(grammar.query_file).read_text(encoding="utf-8")
