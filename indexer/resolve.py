"""Import and identifier resolution: raw import strings and names → workspace files.

This is the pure layer under the context engine's first ranking signal ("the files the
current file imports, and the definitions of the identifiers at the cursor"). It knows
nothing about the index, the disk or the editor: its inputs are plain data.

Contract
--------
- Paths are workspace-relative POSIX strings (``"src/pkg/mod.py"``), as in
  :mod:`records`. Every path this module returns is one of the workspace paths it was
  built from, and a file never resolves to itself.
- Raw imports are the strings :attr:`FileSymbols.imports` holds, in the exact format
  of the shared index contract (``"..pkg.x"``, ``"./util"``, ``"<stdio.h>"``,
  ``"crate::a::B"``, ``"mod foo"``, ``"com.x.Y"``, ``"A\\B\\C"`` …).
- :meth:`ImportResolver.resolve` returns a tuple of workspace paths: usually one file,
  several for directory-level imports (a Go package, a Java wildcard, a C# namespace,
  a SwiftPM module), and ``()`` for anything outside the workspace (stdlib,
  third-party, system includes) or that it cannot make sense of. It never raises on a
  hostile import string. Results are deterministic: when two candidates are equally
  plausible, the ones sharing the longest directory prefix with the importer win, and
  ties come back sorted.
- Configuration that cannot be inferred from paths alone (the Go module path in
  ``go.mod``, ``tsconfig.json``/``jsconfig.json`` ``baseUrl``/``paths``/``extends``,
  ``package.json`` names of workspace packages, ``Cargo.toml`` crate names,
  ``composer.json`` PSR-4 maps) is read once, at build time, through the caller's
  ``read_text(path) -> str | None``. Malformed config files are ignored.
- The resolver is immutable once built (apart from an internal memo of results) and
  safe to share between threads. It is cheap to rebuild: do so when a file is added
  or removed, or when :func:`affects_resolution` says a changed file is configuration.

:class:`SymbolTable` maps identifier names (bare or qualified, ``"Index.refresh"``)
to definitions, ranked for one importer: same file, then the files it imports, then
its directory, then the rest of the workspace. :class:`ImportGraph` holds the
file → imported-files edges and their reverse for the ranker.
"""

from __future__ import annotations

import bisect
import json
import posixpath
import re
import tomllib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from .records import Definition, FileSymbols

__all__ = [
    "ImportGraph",
    "ImportResolver",
    "Locality",
    "ReadText",
    "SymbolMatch",
    "SymbolTable",
    "affects_resolution",
    "build_import_graph",
    "reverse_edges",
]

#: The callable through which the resolver reads configuration files. It receives a
#: workspace-relative path and returns the text, or ``None`` when it cannot.
ReadText = Callable[[str], "str | None"]

# Longer import strings are not real imports; refusing them bounds the work per call.
_MAX_RAW_IMPORT = 512
# Configuration files larger than this are not hand-written configs; skip them.
_MAX_CONFIG_CHARS = 2_000_000
# The resolution memo is dropped wholesale when it grows past this many entries, which
# bounds memory for long sessions without a real LRU's bookkeeping.
_MAX_MEMO = 200_000
# How many ``extends`` hops we follow in tsconfig files (guards against cycles too).
_MAX_TSCONFIG_EXTENDS = 8

# Language ids (the index's, plus the LSP spellings editors send) → resolver family.
_FAMILY: Mapping[str, str] = MappingProxyType(
    {
        "python": "python",
        "javascript": "js",
        "javascriptreact": "js",
        "typescript": "js",
        "typescriptreact": "js",
        "tsx": "js",
        "jsx": "js",
        "go": "go",
        "rust": "rust",
        "java": "jvm",
        "kotlin": "jvm",
        "scala": "jvm",
        "c": "c",
        "cpp": "c",
        "objc": "c",
        "objcpp": "c",
        "csharp": "csharp",
        "ruby": "ruby",
        "php": "php",
        "lua": "lua",
        "bash": "bash",
        "shellscript": "bash",
        "sh": "bash",
        "swift": "swift",
    }
)

# File names whose *content* changes how imports resolve (see affects_resolution).
_CONFIG_NAMES = frozenset(
    {
        "go.mod",
        "package.json",
        "Cargo.toml",
        "composer.json",
        "tsconfig.json",
        "jsconfig.json",
        "pyproject.toml",
    }
)

# JS/TS: extensions tried after the exact path, then for ``dir/index``. TypeScript
# sources come first so that a compiled ``x.js`` next to ``x.ts`` loses to the source.
_JS_EXTENSIONS = (
    ".ts",
    ".tsx",
    ".js",
    ".jsx",
    ".mjs",
    ".cjs",
    ".mts",
    ".cts",
    ".d.ts",
    ".json",
)
# TypeScript's ESM rule: ``import "./x.js"`` names the file compiled from ``x.ts``.
_JS_EMITTED_TO_SOURCE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        ".js": (".ts", ".tsx", ".d.ts"),
        ".jsx": (".tsx",),
        ".mjs": (".mts", ".d.mts"),
        ".cjs": (".cts", ".d.cts"),
    }
)
# package.json fields naming a package's entry point, most source-like first.
_PACKAGE_ENTRY_FIELDS = ("source", "types", "typings", "module", "main")

_PY_EXTENSIONS = (".py", ".pyi")
# Conventional Python source roots besides the workspace root.
_PY_SOURCE_DIRS = ("src", "lib", "python", "source")

_JVM_EXTENSIONS = (".java", ".kt", ".scala")
# Source-root directory names that are also top-level JDK/stdlib package names.
_JVM_ROOT_NAMES = frozenset({"java", "kotlin", "scala"})
# Directory names that put their children on a load path (Ruby's $LOAD_PATH, Lua's
# package.path in common layouts such as Neovim plugins).
_RUBY_LOAD_DIRS = frozenset({"lib", "spec", "test"})
_LUA_LOAD_DIRS = frozenset({"lua", "src", "lib"})

# Rust path segments with a fixed meaning at the start of a path.
_RUST_EXTERN_CRATES = frozenset({"std", "core", "alloc", "proc_macro", "test"})
_RUST_IDENT = re.compile(r"^(?:r#)?[A-Za-z_][A-Za-z0-9_]*$")

_SHELL_EXPANSION = re.compile(r"[$`{}*()]")
_DOTTED_NAME = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$")
_PHP_NAME = re.compile(r"^[A-Za-z_\x80-\uffff][\w\x80-\uffff]*$")

# JSON with comments and trailing commas (tsconfig.json): match strings first so that
# comment-like text inside them is kept. Comments go in a first pass, so that a comma
# followed by a comment and then `}` is seen as trailing in the second.
_JSONC_COMMENTS = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
_JSONC_TRAILING_COMMAS = re.compile(r'"(?:\\.|[^"\\])*"|,(?=\s*[}\]])')
_GO_MODULE = re.compile(r"^\s*module\s+\"?([^\s\"]+)\"?", re.MULTILINE)
_GO_REPLACE = re.compile(
    r"^\s*(?:replace\s+)?(\S+)(?:\s+v\S+)?\s*=>\s*(\.\.?(?:/\S*)?)\s*$",
    re.MULTILINE,
)


def affects_resolution(path: str) -> bool:
    """Whether a change to the *content* of ``path`` requires rebuilding the resolver.

    Adding or removing any file always does; editing a file only matters when it is
    configuration the resolver reads (``go.mod``, ``tsconfig*.json``, ``jsconfig.json``,
    ``package.json``, ``Cargo.toml``, ``composer.json``).
    """
    name = path.rpartition("/")[2]
    return name in _CONFIG_NAMES or (name.startswith("tsconfig") and name.endswith(".json"))


# --------------------------------------------------------------------------- paths


def _dirname(path: str) -> str:
    return path.rpartition("/")[0]


def _basename(path: str) -> str:
    return path.rpartition("/")[2]


def _join(base_dir: str, relative: str) -> str | None:
    """``base_dir/relative`` normalised, or ``None`` when it leaves the workspace."""
    if relative.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(base_dir, relative)) if relative else base_dir
    if joined == ".":
        return ""
    if joined == ".." or joined.startswith(("../", "/")):
        return None
    return joined


def _child(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _shared_depth(a_dir: str, b_dir: str) -> int:
    """Number of leading directory components two directories have in common."""
    if not a_dir or not b_dir:
        return 0
    depth = 0
    for left, right in zip(a_dir.split("/"), b_dir.split("/"), strict=False):
        if left != right:
            break
        depth += 1
    return depth


def _closest(importer_dir: str, candidates: Iterable[str]) -> tuple[str, ...]:
    """The candidates nearest the importer (longest shared directory prefix), sorted.

    This is the tie-break for every suffix-based lookup: with ``a/util.h`` and
    ``b/util.h`` both matching, a file in ``a/`` gets ``a/util.h``; a file elsewhere
    gets both, in path order.
    """
    best = -1
    kept: list[str] = []
    for candidate in candidates:
        depth = _shared_depth(importer_dir, _dirname(candidate))
        if depth > best:
            best, kept = depth, [candidate]
        elif depth == best:
            kept.append(candidate)
    return tuple(sorted(set(kept)))


def _check_path(path: object) -> str:
    if not isinstance(path, str) or not path:
        raise ValueError(f"workspace paths must be non-empty strings, got {path!r}")
    if "\x00" in path:
        # Checked first, by itself: a NUL reaching os.stat would raise a ValueError
        # ("embedded null byte") far from the caller.
        raise ValueError(f"workspace paths cannot contain a NUL character, got {path!r}")
    if path.startswith("/") or "\\" in path:
        raise ValueError(f"workspace paths must be relative POSIX paths, got {path!r}")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"workspace paths must be normalised, got {path!r}")
    return path


# ------------------------------------------------------------------------- config


def _safe_read(read_text: ReadText | None, path: str) -> str | None:
    """``read_text(path)``, treating every failure and oversized text as "no text"."""
    if read_text is None:
        return None
    try:
        text = read_text(path)
    except (OSError, UnicodeError, ValueError):
        return None
    if not isinstance(text, str) or len(text) > _MAX_CONFIG_CHARS:
        return None
    return text


def _parse_jsonc(text: str) -> dict[str, Any] | None:
    """Parse JSON that may carry comments and trailing commas; ``None`` if malformed."""

    def keep_strings(match: re.Match[str]) -> str:
        token = match.group(0)
        return token if token.startswith('"') else ""

    try:
        without_comments = _JSONC_COMMENTS.sub(keep_strings, text)
        data = json.loads(_JSONC_TRAILING_COMMAS.sub(keep_strings, without_comments))
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _parse_toml(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return None


def _get_str(data: Mapping[str, Any], *keys: str) -> str | None:
    """``data[k1][k2]...`` when every step is a mapping and the leaf is a string."""
    node: Any = data
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node if isinstance(node, str) else None


@dataclass(frozen=True, slots=True)
class _TsPaths:
    """The effective module-resolution options of one tsconfig/jsconfig file."""

    #: Workspace-relative ``baseUrl`` directory, or ``None`` when unset.
    base_url: str | None
    #: ``(pattern, targets)`` with targets already workspace-relative; exact patterns
    #: first, then wildcard patterns by decreasing prefix length (TypeScript's order).
    paths: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class _RustContext:
    """Where a Rust file sits in its crate's module tree."""

    #: Directory that ``crate::a`` resolves under (``src/`` for a library).
    base_dir: str
    #: The crate root file (``src/lib.rs``), or ``None`` when unknown.
    root_file: str | None
    #: The file's own module path (``("a", "b")`` for ``src/a/b.rs``).
    module: tuple[str, ...]


# ---------------------------------------------------------------------- layout


class _Layout:
    """Lookup tables over the workspace's path list (directories, names, suffixes)."""

    __slots__ = ("by_name", "dir_files", "dirs", "dirs_by_name", "path_set", "paths")

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths: tuple[str, ...] = tuple(sorted({_check_path(p) for p in paths}))
        self.path_set: frozenset[str] = frozenset(self.paths)
        dir_files: dict[str, list[str]] = {}
        by_name: dict[str, list[str]] = {}
        dirs: set[str] = {""}
        for path in self.paths:
            directory, _, name = path.rpartition("/")
            dir_files.setdefault(directory, []).append(path)
            by_name.setdefault(name, []).append(path)
            # Register every ancestor directory once; stop at the first already seen.
            while directory and directory not in dirs:
                dirs.add(directory)
                directory = _dirname(directory)
        dirs_by_name: dict[str, list[str]] = {}
        for directory in sorted(dirs):
            if directory:
                dirs_by_name.setdefault(_basename(directory), []).append(directory)
        self.dir_files: Mapping[str, tuple[str, ...]] = {k: tuple(v) for k, v in dir_files.items()}
        self.by_name: Mapping[str, tuple[str, ...]] = {k: tuple(v) for k, v in by_name.items()}
        self.dirs: frozenset[str] = frozenset(dirs)
        self.dirs_by_name: Mapping[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in dirs_by_name.items()
        }

    def files_with_suffix(self, suffix: str) -> list[str]:
        """Files whose path is ``suffix`` or ends with ``/suffix`` (sorted)."""
        return [
            path
            for path in self.by_name.get(_basename(suffix), ())
            if path == suffix or path.endswith("/" + suffix)
        ]

    def dirs_with_suffix(self, suffix: str) -> list[str]:
        """Directories whose path is ``suffix`` or ends with ``/suffix`` (sorted)."""
        return [
            directory
            for directory in self.dirs_by_name.get(_basename(suffix), ())
            if directory == suffix or directory.endswith("/" + suffix)
        ]

    def files_under(self, directory: str) -> tuple[str, ...]:
        """Every file below ``directory``, recursively (sorted)."""
        prefix = directory + "/"
        start = bisect.bisect_left(self.paths, prefix)
        end = bisect.bisect_left(self.paths, prefix[:-1] + "0")  # "0" sorts right after "/"
        return self.paths[start:end]

    def first_existing(self, candidates: Iterable[str]) -> tuple[str, ...]:
        for candidate in candidates:
            if candidate in self.path_set:
                return (candidate,)
        return ()


# -------------------------------------------------------------------- resolver


class ImportResolver:
    """Resolves raw import strings to workspace files, per language.

    Parameters
    ----------
    paths:
        Every indexed workspace path (relative POSIX; order does not matter).
    read_text:
        Optional ``read_text(path) -> str | None`` used, at build time only, to read
        the configuration files found among ``paths`` (``go.mod``, ``tsconfig.json``,
        ``package.json``, ``Cargo.toml``, ``composer.json``). Without it, resolution
        relies on paths alone (no Go module path, no tsconfig aliases).

    Raises
    ------
    ValueError
        When a path is not a normalised, relative POSIX path.
    """

    def __init__(self, paths: Iterable[str], read_text: ReadText | None = None) -> None:
        self._layout = _Layout(paths)
        self._read_text = read_text
        self._memo: dict[tuple[str, str, str], tuple[str, ...]] = {}
        configs = [p for p in self._layout.paths if affects_resolution(p)]
        self._py_aliases, extra_roots = self._read_python_package_dirs(configs, read_text)
        self._init_python(extra_roots)
        self._go_modules = self._read_go_modules(configs, read_text)
        self._ts_configs = self._read_ts_configs(configs, read_text)
        self._js_packages = self._read_js_packages(configs, read_text)
        self._rust_crates = self._read_rust_crates(configs, read_text)
        self._psr4 = self._read_psr4(configs, read_text)

    # -- public ---------------------------------------------------------------

    @property
    def paths(self) -> tuple[str, ...]:
        """The workspace paths this resolver was built from (sorted)."""
        return self._layout.paths

    def __contains__(self, path: object) -> bool:
        return path in self._layout.path_set

    def updated(
        self,
        added: Iterable[str] = (),
        removed: Iterable[str] = (),
        read_text: ReadText | None = None,
    ) -> ImportResolver:
        """A new resolver for the path set with ``added`` and without ``removed``.

        Resolution depends on the whole path set (a new ``x.ts`` changes what
        ``"./x"`` means everywhere), so this rebuilds, re-reading the configuration
        files through ``read_text`` (by default the one this resolver was built
        with). It is cheap: about 10 ms for 3,000 paths.
        """
        gone = set(removed)
        kept = [p for p in self._layout.paths if p not in gone]
        return ImportResolver([*kept, *added], read_text or self._read_text)

    def resolve(self, importer_path: str, language: str, raw_import: str) -> tuple[str, ...]:
        """Workspace files that ``raw_import``, written in ``importer_path``, refers to.

        Parameters
        ----------
        importer_path:
            The importing file (workspace-relative; it need not be indexed itself,
            e.g. an unsaved buffer).
        language:
            The importer's language id (``"python"``, ``"typescript"``, ``"tsx"``,
            ``"go"`` …; LSP ids such as ``"typescriptreact"`` are accepted).
        raw_import:
            One string from :attr:`FileSymbols.imports`.

        Returns
        -------
        tuple[str, ...]
            Workspace paths, best first; ``()`` when external or unknown.
        """
        family = _FAMILY.get(language)
        if (
            family is None
            or not isinstance(raw_import, str)
            or not raw_import
            or len(raw_import) > _MAX_RAW_IMPORT
            or "\x00" in raw_import
        ):
            return ()
        if family == "python":
            # Two dict lookups at most: cheaper than the memo's own key.
            found = self._resolve_python(importer_path, raw_import.strip())
        else:
            key = (family, self._context_key(family, importer_path), raw_import)
            memo = self._memo.get(key)
            if memo is None:
                memo = _HANDLERS[family](self, importer_path, raw_import.strip())
                if len(self._memo) >= _MAX_MEMO:
                    self._memo.clear()
                self._memo[key] = memo
            found = memo
        if importer_path in found:
            return tuple(p for p in found if p != importer_path)
        return found

    def resolve_all(
        self, importer_path: str, language: str, raw_imports: Iterable[str]
    ) -> tuple[str, ...]:
        """Every file the imports resolve to, in import order, without duplicates."""
        seen: dict[str, None] = {}
        for raw in raw_imports:
            for path in self.resolve(importer_path, language, raw):
                seen.setdefault(path, None)
        return tuple(seen)

    # -- dispatch ---------------------------------------------------------------

    @staticmethod
    def _context_key(family: str, importer: str) -> str:
        """The part of the importer that can change a result (memo key)."""
        if family == "rust":
            return importer  # the file's own module path matters, not just its directory
        if family == "go":
            # Only the directory and whether it is a test file matter.
            return _dirname(importer) + ("\x00test" if importer.endswith("_test.go") else "")
        return _dirname(importer)

    # -- python -----------------------------------------------------------------

    def _init_python(self, extra_roots: Iterable[str]) -> None:
        layout = self._layout
        packages = frozenset(
            d
            for d in layout.dirs
            if _child(d, "__init__.py") in layout.path_set
            or _child(d, "__init__.pyi") in layout.path_set
        )
        self._py_packages = packages
        # Every directory's own root: the directory above its topmost enclosing package
        # (itself when it is no package: a script directory is on sys.path for its
        # scripts, and so is pytest's rootdir-less tests/ folder).
        self._py_root_of_dir: Mapping[str, str] = {
            d: self._python_package_root(d) for d in layout.dirs
        }
        # Roots searched for *any* importer, in this order: the workspace root,
        # conventional source directories and those pyproject.toml names, then every
        # directory holding a top-level package (a monorepo's `services/api/` for
        # `services/api/app/__init__.py`).
        global_roots: dict[str, None] = {"": None}
        for name in (*_PY_SOURCE_DIRS, *extra_roots):
            if name in layout.dirs:
                global_roots[name] = None
        for directory in sorted({self._py_root_of_dir[d] for d in packages}):
            global_roots[directory] = None
        all_roots = set(global_roots) | {
            self._py_root_of_dir[_dirname(p)] for p in layout.paths if p.endswith(_PY_EXTENSIONS)
        }
        tables = self._python_module_tables(all_roots)
        self._py_by_root: Mapping[str, Mapping[str, str]] = tables
        best: dict[str, str] = {}
        for root in reversed(list(global_roots)):  # earlier roots overwrite later ones
            best.update(tables.get(root, {}))
        self._py_modules: Mapping[str, str] = best

    def _python_module_tables(self, roots: Collection[str]) -> dict[str, dict[str, str]]:
        """Root → dotted module name → file, for every Python file under each root."""
        entries: dict[str, dict[str, tuple[int, str]]] = {}
        for path in self._layout.paths:
            if not path.endswith(_PY_EXTENSIONS):
                continue
            stem, _, ext = path.rpartition(".")
            is_init = _basename(stem) == "__init__"
            # A package's __init__ beats a same-named module; .py beats a .pyi stub.
            order = (0 if is_init else 2) + (ext == "pyi")
            if is_init:
                stem = _dirname(stem)
            directory = path
            while directory:
                directory = _dirname(directory)
                if directory not in roots:
                    continue
                relative = stem[len(directory) + 1 :] if directory else stem
                if not relative:
                    continue
                table = entries.setdefault(directory, {})
                name = relative.replace("/", ".")
                current = table.get(name)
                if current is None or (order, path) < current:
                    table[name] = (order, path)
        return {
            root: {name: entry[1] for name, entry in table.items()}
            for root, table in entries.items()
        }

    def _python_package_root(self, directory: str) -> str:
        """The directory above the topmost package containing ``directory``."""
        while directory and directory in self._py_packages:
            directory = _dirname(directory)
        return directory

    def _python_module_at(self, base: str, dotted: str) -> tuple[str, ...]:
        """``base/a/b.py``-style candidates for ``a.b`` (``dotted`` may be empty)."""
        stem = _child(base, dotted.replace(".", "/")) if dotted else base
        return self._layout.first_existing(
            (
                _child(stem, "__init__.py"),
                stem + ".py",
                _child(stem, "__init__.pyi"),
                stem + ".pyi",
            )
            if stem
            else ("__init__.py", "__init__.pyi")
        )

    def _resolve_python(self, importer: str, raw: str) -> tuple[str, ...]:
        dots = len(raw) - len(raw.lstrip("."))
        dotted = raw[dots:]
        if dotted and not _DOTTED_NAME.match(dotted):
            return ()
        importer_dir = _dirname(importer)
        if dots:
            # Relative import: the importer's package is its directory (also for
            # __init__.py); each extra dot climbs one package.
            base = importer_dir
            for _ in range(dots - 1):
                if not base:
                    return ()
                base = _dirname(base)
            return self._python_module_at(base, dotted)
        if not dotted:
            return ()
        # The importer's own root wins (its top-level package's parent, or its own
        # directory for a script), then the global roots in their fixed order.
        own_root = self._py_root_of_dir.get(importer_dir)
        if own_root is None:  # an importer outside the indexed tree (unsaved buffer)
            own_root = self._python_package_root(importer_dir)
        table = self._py_by_root.get(own_root)
        module = table.get(dotted) if table is not None else None
        if module is not None:
            return (module,)
        # Packages installed from a directory of another name (setuptools
        # `package-dir = {"name.sub" = "folder"}`) before the global roots, since
        # the build configuration says so explicitly.
        for prefix, directory in self._py_aliases:
            if dotted == prefix or dotted.startswith(prefix + "."):
                found = self._python_module_at(directory, dotted[len(prefix) + 1 :])
                if found:
                    return found
        module = self._py_modules.get(dotted)
        return (module,) if module is not None else ()

    # -- javascript / typescript ------------------------------------------------

    def _js_probe(self, target: str | None) -> tuple[str, ...]:
        """Node/TypeScript file probing for a workspace-relative target path."""
        if target is None:
            return ()
        layout = self._layout
        if target in layout.path_set:
            return (target,)
        stem, dot, ext = target.rpartition(".")
        if dot and "/" not in ext:
            sources = _JS_EMITTED_TO_SOURCE.get("." + ext, ())
            found = layout.first_existing(stem + source for source in sources)
            if found:
                return found
        found = layout.first_existing(target + ext for ext in _JS_EXTENSIONS)
        if found:
            return found
        index = _child(target, "index")
        return layout.first_existing(index + ext for ext in _JS_EXTENSIONS)

    def _resolve_js(self, importer: str, raw: str) -> tuple[str, ...]:
        # Bundler query suffixes (`./x.svg?raw`) are not part of the file name.
        spec = raw.split("?", 1)[0].split("#", 1)[0] if not raw.startswith("#") else raw
        if not spec:
            return ()
        importer_dir = _dirname(importer)
        if spec in (".", "..") or spec.startswith(("./", "../")):
            return self._js_probe(_join(importer_dir, spec))
        if spec.startswith("/"):
            return self._js_probe(_join("", spec.lstrip("/")))
        if ":" in spec.split("/", 1)[0]:
            return ()  # node:fs, https://…, virtual: modules
        config = self._ts_config_for(importer_dir)
        if config is not None:
            found = self._resolve_ts_paths(config, spec)
            if found:
                return found
        found = self._resolve_js_package(spec)
        if found:
            return found
        if spec.startswith(("@/", "~/")):
            # The common bundler alias for the project's source directory.
            base = self._nearest_package_dir(importer_dir)
            return self._js_probe(_join(_child(base, "src"), spec[2:])) or self._js_probe(
                _join(base, spec[2:])
            )
        return ()

    def _resolve_ts_paths(self, config: _TsPaths, spec: str) -> tuple[str, ...]:
        for pattern, targets in config.paths:
            prefix, star, suffix = pattern.partition("*")
            if star:
                if not (
                    spec.startswith(prefix)
                    and spec.endswith(suffix)
                    and len(spec) >= len(prefix) + len(suffix)
                ):
                    continue
                middle = spec[len(prefix) : len(spec) - len(suffix)]
            elif spec != pattern:
                continue
            else:
                middle = ""
            for target in targets:
                found = self._js_probe(_join("", target.replace("*", middle, 1)))
                if found:
                    return found
            return ()  # TypeScript stops at the first matching pattern
        if config.base_url is not None:
            return self._js_probe(_join(config.base_url, spec))
        return ()

    def _resolve_js_package(self, spec: str) -> tuple[str, ...]:
        """A bare specifier naming a package of this (mono)repo."""
        parts = spec.split("/")
        count = 2 if spec.startswith("@") else 1
        if len(parts) < count:
            return ()
        package = self._js_packages.get("/".join(parts[:count]))
        if package is None:
            return ()
        directory, entries = package
        rest = "/".join(parts[count:])
        if rest:
            return self._js_probe(_join(directory, rest)) or self._js_probe(
                _join(_child(directory, "src"), rest)
            )
        for entry in entries:
            found = self._js_probe(_join(directory, entry))
            if found:
                return found
        return self._js_probe(_child(directory, "src/index")) or self._js_probe(
            _child(directory, "index")
        )

    def _nearest_package_dir(self, directory: str) -> str:
        while directory:
            if _child(directory, "package.json") in self._layout.path_set:
                return directory
            directory = _dirname(directory)
        return ""

    def _ts_config_for(self, directory: str) -> _TsPaths | None:
        while True:
            config = self._ts_configs.get(directory)
            if config is not None:
                return config
            if not directory:
                return None
            directory = _dirname(directory)

    # -- go ---------------------------------------------------------------------

    def _resolve_go(self, importer: str, raw: str) -> tuple[str, ...]:
        target: str | None = None
        for module, directory in self._go_modules:
            if raw == module:
                target = directory
            elif raw.startswith(module + "/"):
                target = _join(directory, raw[len(module) + 1 :])
            if target is not None:
                break
        if target is None and raw.startswith(("./", "../")):
            target = _join(_dirname(importer), raw)
        candidates = [target] if target is not None else []
        if target is None and not self._go_modules:
            # No go.mod known: a GOPATH-style tree rooted at the workspace or at src/.
            candidates = [c for c in (_join("", raw), _join("src", raw)) if c is not None]
        with_tests = importer.endswith("_test.go")
        for directory in candidates:
            # A test file sees its own package's other _test.go files (export_test.go);
            # importers elsewhere never compile another package's tests.
            keep_tests = with_tests and directory == _dirname(importer)
            files = tuple(
                path
                for path in self._layout.dir_files.get(directory, ())
                if path.endswith(".go") and (keep_tests or not path.endswith("_test.go"))
            )
            if files:
                return files
        return ()

    # -- rust -------------------------------------------------------------------

    def _rust_context(self, importer: str) -> _RustContext:
        layout = self._layout
        directory = _dirname(importer)
        name = _basename(importer)
        # Binaries under src/bin/ are crate roots of their own.
        parts = importer.split("/")
        if "bin" in parts[:-1]:
            at = len(parts) - 1 - parts[::-1].index("bin")
            if at >= 1 and parts[at - 1] == "src" and at < len(parts) - 1:
                bin_dir = "/".join(parts[: at + 1])
                if at == len(parts) - 2:  # src/bin/x.rs
                    return _RustContext(bin_dir, importer, ())
                own = _child(bin_dir, parts[at + 1])  # src/bin/x/main.rs and its modules
                return self._rust_context_under(own, _child(own, "main.rs"), importer)
        ancestor = directory
        while True:
            if _basename(ancestor) == "src" and (
                _child(ancestor, "lib.rs") in layout.path_set
                or _child(ancestor, "main.rs") in layout.path_set
            ):
                if directory == ancestor and name in ("lib.rs", "main.rs"):
                    return _RustContext(ancestor, importer, ())
                root = _child(ancestor, "lib.rs")
                if root not in layout.path_set:
                    root = _child(ancestor, "main.rs")
                return self._rust_context_under(ancestor, root, importer)
            if not ancestor:
                break
            ancestor = _dirname(ancestor)
        # No crate found (tests/, examples/, build.rs, loose files): the file is its
        # own crate root, except a mod.rs, which is the module named by its directory.
        if name == "mod.rs" and directory:
            return _RustContext(_dirname(directory), None, (_basename(directory),))
        return _RustContext(directory, importer, ())

    @staticmethod
    def _rust_context_under(base_dir: str, root: str, importer: str) -> _RustContext:
        if importer == root:
            return _RustContext(base_dir, root, ())
        relative = importer[len(base_dir) + 1 :] if base_dir else importer
        segments = relative[: -len(".rs")].split("/") if relative.endswith(".rs") else []
        if segments and segments[-1] == "mod":
            segments.pop()
        return _RustContext(base_dir, root, tuple(segments))

    def _rust_module_file(self, context: _RustContext, module: tuple[str, ...]) -> str | None:
        if not module:
            if context.root_file is not None and context.root_file in self._layout.path_set:
                return context.root_file
            return None
        stem = _child(context.base_dir, "/".join(module))
        found = self._layout.first_existing((stem + ".rs", _child(stem, "mod.rs")))
        return found[0] if found else None

    def _rust_walk(
        self, context: _RustContext, start: tuple[str, ...], rest: list[str], minimum: int
    ) -> tuple[str, ...]:
        """The deepest existing module file along ``start + rest`` (items are not files).

        ``minimum`` is the shortest module path accepted (``len(start)`` lets the walk
        end on ``start`` itself; more forces at least one step down).
        """
        full = start + tuple(rest)
        for length in range(len(full), minimum - 1, -1):
            found = self._rust_module_file(context, full[:length])
            if found is not None:
                return (found,)
        return ()

    def _resolve_rust(self, importer: str, raw: str) -> tuple[str, ...]:
        if raw.startswith("mod "):
            return self._resolve_rust_mod(importer, raw[4:].strip())
        segments = raw.removeprefix("::").split("::")
        # Keep the leading well-formed segments (a stray `{`, `*` or `as` ends the path).
        clean: list[str] = []
        for segment in segments:
            segment = segment.strip()
            if not _RUST_IDENT.match(segment):
                break
            clean.append(segment.removeprefix("r#"))
        if not clean:
            return ()
        context = self._rust_context(importer)
        head, rest = clean[0], clean[1:]
        if head == "crate":
            return self._rust_walk(context, (), rest, 0)
        if head in ("self", "super"):
            module = context.module
            climbs = (head == "super") + len(rest) - len(_drop_leading(rest, "super"))
            rest = _drop_leading(rest, "super")
            if climbs > len(module):
                return ()  # `super` above the crate root
            module = module[: len(module) - climbs]
            return self._rust_walk(context, module, rest, len(module))
        if raw.startswith("::") or head in _RUST_EXTERN_CRATES:
            return ()
        # Rust 2018: a child module of the current module, then a crate of this
        # workspace, then (2015 style) a module at the crate root.
        found = self._rust_walk(context, context.module, clean, len(context.module) + 1)
        if found:
            return found
        crate_root = self._rust_crates.get(head)
        if crate_root is not None:
            crate = _RustContext(_dirname(crate_root), crate_root, ())
            return self._rust_walk(crate, (), rest, 0)
        if context.module:
            return self._rust_walk(context, (), clean, 1)
        return ()

    def _resolve_rust_mod(self, importer: str, name: str) -> tuple[str, ...]:
        if not _RUST_IDENT.match(name):
            return ()
        name = name.removeprefix("r#")
        directory = _dirname(importer)
        file_name = _basename(importer)
        siblings = (_child(directory, name + ".rs"), _child(directory, f"{name}/mod.rs"))
        context = self._rust_context(importer)
        order: tuple[str, ...] = siblings
        if not (file_name == "mod.rs" or context.root_file == importer or not context.module):
            # A non-mod.rs module `a.rs` keeps its children in `a/`.
            own = _child(directory, file_name.removesuffix(".rs"))
            order = (_child(own, name + ".rs"), _child(own, f"{name}/mod.rs"), *siblings)
        return self._layout.first_existing(order)

    # -- java / kotlin / scala --------------------------------------------------

    def _resolve_jvm(self, importer: str, raw: str) -> tuple[str, ...]:
        head, brace, selectors = raw.partition(".{")
        if brace:
            # Scala `import a.b.{C, D => E, _}`, should a parser keep the braces.
            merged: dict[str, None] = {}
            for selector in selectors.rstrip("}").split(","):
                original = selector.split("=>", 1)[0].strip()
                target = head if original == "_" else f"{head}.{original}"
                merged.update(dict.fromkeys(self._resolve_jvm(importer, target)))
            return tuple(merged)
        name = raw.removesuffix(".*").removesuffix("._")
        if not _DOTTED_NAME.match(name):
            return ()
        segments = name.split(".")
        importer_dir = _dirname(importer)
        # A class: com/x/Y.{java,kt,scala} under any source root.
        found = self._jvm_class(importer_dir, segments)
        if found:
            return found
        # A package (wildcard import): its directory's sources, in every source root
        # (src/main/java/com/x and src/test/java/com/x are one package).
        package_files = self._package_files("/".join(segments), _JVM_EXTENSIONS)
        if package_files:
            return package_files
        # A nested class or a static member: drop trailing segments down to a class.
        for length in range(len(segments) - 1, 1, -1):
            found = self._jvm_class(importer_dir, segments[:length])
            if found:
                return found
        return ()

    def _jvm_class(self, importer_dir: str, segments: list[str]) -> tuple[str, ...]:
        stem = "/".join(segments)
        candidates = [
            path
            for ext in _JVM_EXTENSIONS
            for path in self._layout.files_with_suffix(stem + ext)
            if not _jvm_root_clash(path, stem + ext)
        ]
        return _closest(importer_dir, candidates) if candidates else ()

    def _package_files(self, dir_suffix: str, extensions: tuple[str, ...]) -> tuple[str, ...]:
        files: list[str] = []
        for directory in self._layout.dirs_with_suffix(dir_suffix):
            if _jvm_root_clash(directory, dir_suffix):
                continue
            files.extend(
                path
                for path in self._layout.dir_files.get(directory, ())
                if path.endswith(extensions)
            )
        return tuple(sorted(files))

    # -- c / c++ ----------------------------------------------------------------

    def _resolve_c(self, importer: str, raw: str) -> tuple[str, ...]:
        system = raw.startswith("<") and raw.endswith(">")
        name = raw[1:-1].strip() if system else raw.strip('"')
        if not name or name.startswith("/"):
            return ()
        importer_dir = _dirname(importer)
        if not system:
            relative = _join(importer_dir, name)
            if relative is not None and relative in self._layout.path_set:
                return (relative,)
        # Anything else is found through an include path: match by path suffix, with
        # `../` and `./` prefixes stripped since they only make sense relatively.
        tail = posixpath.normpath(name)
        while tail.startswith("../"):
            tail = tail[3:]
        if tail in (".", "..", "") or tail.startswith("/"):
            return ()
        candidates = self._layout.files_with_suffix(tail)
        if system:
            # <…> is external unless exactly one workspace file can be meant.
            return (candidates[0],) if len(candidates) == 1 else ()
        return _closest(importer_dir, candidates)

    # -- c# ---------------------------------------------------------------------

    def _resolve_csharp(self, importer: str, raw: str) -> tuple[str, ...]:
        name = raw.removeprefix("global::").removeprefix("static ").strip()
        if "=" in name:  # `using Alias = A.B.C;` if a parser keeps the alias
            name = name.split("=", 1)[1].strip()
        if not _DOTTED_NAME.match(name):
            return ()
        segments = name.split(".")
        # `using static A.B.C;` names a type: A/B/C.cs by suffix.
        candidates = self._layout.files_with_suffix("/".join(segments) + ".cs")
        if candidates:
            return _closest(_dirname(importer), candidates)
        for suffix in self._csharp_dir_suffixes(segments):
            files = self._package_files(suffix, (".cs",))
            if files:
                return files
        return ()

    @staticmethod
    def _csharp_dir_suffixes(segments: list[str]) -> Iterator[str]:
        """Directory spellings of a namespace, most specific first.

        ``A.B.C`` may live in ``A/B/C``, in a project folder ``A.B.C`` or ``A.B/C``,
        or, with the root namespace left implicit, in ``B/C``.
        """
        count = len(segments)
        yield "/".join(segments)
        yield ".".join(segments)
        for split in range(count - 1, 0, -1):
            yield ".".join(segments[:split]) + "/" + "/".join(segments[split:])
        for start in range(1, count - 1):  # keep at least two segments: `C` alone is noise
            yield "/".join(segments[start:])

    # -- ruby -------------------------------------------------------------------

    def _resolve_ruby(self, importer: str, raw: str) -> tuple[str, ...]:
        name = raw if raw.endswith(".rb") else raw + ".rb"
        importer_dir = _dirname(importer)
        if raw.startswith("."):
            target = _join(importer_dir, name)
            return (target,) if target is not None and target in self._layout.path_set else ()
        tail = _join("", name)
        if tail is None or not tail:
            return ()
        candidates = [
            path
            for path in self._layout.files_with_suffix(tail)
            if _load_root_ok(path, tail, _RUBY_LOAD_DIRS)
        ]
        return _closest(importer_dir, candidates)

    # -- php --------------------------------------------------------------------

    def _resolve_php(self, importer: str, raw: str) -> tuple[str, ...]:
        if "\\" in raw or ("/" not in raw and "." not in raw):
            return self._resolve_php_class(importer, raw)
        importer_dir = _dirname(importer)
        name = raw.lstrip("/")
        for base in (importer_dir, ""):
            target = _join(base, name)
            if target is not None and target in self._layout.path_set:
                return (target,)
        tail = _join("", name)
        if not tail:
            return ()
        candidates = self._layout.files_with_suffix(tail)
        return (candidates[0],) if len(candidates) == 1 else ()

    def _resolve_php_class(self, importer: str, raw: str) -> tuple[str, ...]:
        name = raw.strip().lstrip("\\")
        for prefix in ("function ", "const "):
            name = name.removeprefix(prefix)
        segments = name.split("\\")
        if not all(_PHP_NAME.match(segment) for segment in segments):
            return ()
        # composer.json PSR-4 maps first: the authoritative answer when present.
        for prefix, directory in self._psr4:
            if name.startswith(prefix):
                rest = name[len(prefix) :].replace("\\", "/")
                target = _join(directory, rest + ".php")
                if target is not None and target in self._layout.path_set:
                    return (target,)
        # Then PSR-4 by suffix: `App\Models\User` in `app/Models/User.php` (the vendor
        # prefix maps to a source directory), keeping at least two segments.
        importer_dir = _dirname(importer)
        minimum = 2 if len(segments) >= 2 else 1
        for start in range(len(segments) - minimum + 1):
            candidates = self._layout.files_with_suffix("/".join(segments[start:]) + ".php")
            if len(segments) == 1 and len(candidates) != 1:
                return ()
            if candidates:
                return _closest(importer_dir, candidates)
        return ()

    # -- lua --------------------------------------------------------------------

    def _resolve_lua(self, importer: str, raw: str) -> tuple[str, ...]:
        name = raw.removesuffix(".lua")
        if not name or name.startswith((".", "/")) or ".." in name:
            return ()
        stem = name.replace(".", "/")
        importer_dir = _dirname(importer)
        candidates = [
            path
            for suffix in (stem + ".lua", stem + "/init.lua")
            for path in self._layout.files_with_suffix(suffix)
            if _load_root_ok(path, suffix, _LUA_LOAD_DIRS)
        ]
        return _closest(importer_dir, candidates)

    # -- bash -------------------------------------------------------------------

    def _resolve_bash(self, importer: str, raw: str) -> tuple[str, ...]:
        name = raw.strip("\"'")
        if name.startswith(("~", "/")):
            return ()
        # `"$(dirname "$0")/lib.sh"`, `${DIR}/lib.sh`: the variable part is almost
        # always the script's own directory, so keep what follows it.
        parts = name.split("/")
        while parts and _SHELL_EXPANSION.search(parts[0]):
            parts = parts[1:]
        if not parts or any(_SHELL_EXPANSION.search(part) for part in parts):
            return ()
        relative = "/".join(parts)
        for base in (_dirname(importer), ""):
            target = _join(base, relative)
            if target is not None and target in self._layout.path_set:
                return (target,)
        return ()

    # -- swift ------------------------------------------------------------------

    def _resolve_swift(self, importer: str, raw: str) -> tuple[str, ...]:
        # SwiftPM: `import Foo` is the target in Sources/Foo/. Anything else is a
        # framework (Foundation, UIKit) or a dependency: external.
        name = raw.split(".", 1)[0].strip()
        if not name.isidentifier():
            return ()
        files: list[str] = []
        for directory in self._layout.dirs_by_name.get(name, ()):
            if _basename(_dirname(directory)) == "Sources":
                files.extend(p for p in self._layout.files_under(directory) if p.endswith(".swift"))
        return tuple(sorted(files))

    # -- configuration readers --------------------------------------------------

    @staticmethod
    def _read_python_package_dirs(
        configs: list[str], read_text: ReadText | None
    ) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
        """pyproject.toml package directories: ``(aliases, extra roots)``.

        Aliases are ``(dotted package, directory)`` pairs from setuptools'
        ``package-dir`` (longest package first); extra roots are the directories that
        hold top-level packages (``package-dir`` key ``""``, Poetry's ``from``).
        """
        aliases: dict[str, str] = {}
        roots: list[str] = []
        for path in configs:
            if _basename(path) != "pyproject.toml":
                continue
            text = _safe_read(read_text, path)
            data = _parse_toml(text) if text is not None else None
            if data is None:
                continue
            base = _dirname(path)
            tool = data.get("tool")
            tool = tool if isinstance(tool, Mapping) else {}
            setuptools = tool.get("setuptools")
            package_dir = setuptools.get("package-dir") if isinstance(setuptools, Mapping) else None
            for name, folder in (package_dir or {}).items():
                local = _join(base, folder) if isinstance(folder, str) else None
                if local is None or not isinstance(name, str):
                    continue
                if name:
                    aliases.setdefault(name, local)
                else:
                    roots.append(local)
            poetry = tool.get("poetry")
            packages = poetry.get("packages") if isinstance(poetry, Mapping) else None
            for entry in packages if isinstance(packages, list) else []:
                source = entry.get("from") if isinstance(entry, Mapping) else None
                local = _join(base, source) if isinstance(source, str) else None
                if local is not None:
                    roots.append(local)
        ordered = sorted(aliases.items(), key=lambda item: (-len(item[0]), item[0]))
        return tuple(ordered), tuple(roots)

    @staticmethod
    def _read_go_modules(
        configs: list[str], read_text: ReadText | None
    ) -> tuple[tuple[str, str], ...]:
        """``(module path, directory)`` pairs, longest module path first."""
        modules: dict[str, str] = {}
        # Shallow go.mod files first: a copy under testdata/ must not shadow the root.
        for path in sorted(configs, key=lambda p: (p.count("/"), p)):
            if _basename(path) != "go.mod":
                continue
            text = _safe_read(read_text, path)
            if text is None:
                continue
            directory = _dirname(path)
            match = _GO_MODULE.search(text)
            if match:
                modules.setdefault(match.group(1), directory)
            # `replace example.com/x => ./x` points a module at a local directory.
            for replaced, target in _GO_REPLACE.findall(text):
                local = _join(directory, target)
                if local is not None:
                    modules.setdefault(replaced, local)
        return tuple(sorted(modules.items(), key=lambda item: (-len(item[0]), item[0])))

    def _read_ts_configs(
        self, configs: list[str], read_text: ReadText | None
    ) -> Mapping[str, _TsPaths]:
        """Directory → effective tsconfig/jsconfig paths options (tsconfig wins)."""
        result: dict[str, _TsPaths] = {}
        for name in ("jsconfig.json", "tsconfig.json"):
            for path in configs:
                if _basename(path) != name:
                    continue
                options = self._ts_options(path, read_text)
                if options is not None:
                    result[_dirname(path)] = options
        return result

    def _ts_options(self, path: str, read_text: ReadText | None) -> _TsPaths | None:
        chain = self._ts_extends_chain(path, read_text)
        if not chain:
            return None
        base_url: str | None = None
        paths: Mapping[str, Any] | None = None
        paths_owner = ""
        # Later (child) configs override earlier (parent) ones, key by key. Relative
        # values are relative to the file that wrote them.
        for config_path, data in chain:
            options = data.get("compilerOptions")
            if not isinstance(options, Mapping):
                continue
            config_dir = _dirname(config_path)
            raw_base = options.get("baseUrl")
            if isinstance(raw_base, str):
                base_url = _join(config_dir, raw_base)
            raw_paths = options.get("paths")
            if isinstance(raw_paths, Mapping):
                paths, paths_owner = raw_paths, config_dir
        if base_url is None and paths is None:
            # A project config without aliases: its parents' aliases do not apply.
            return _TsPaths(None, ())
        targets_base = base_url if base_url is not None else paths_owner
        entries: list[tuple[str, tuple[str, ...]]] = []
        for pattern, targets in (paths or {}).items():
            if not isinstance(pattern, str) or pattern.count("*") > 1:
                continue
            if not isinstance(targets, list):
                continue
            joined = tuple(
                target_path
                for target in targets
                if isinstance(target, str)
                and (target_path := _join(targets_base, target)) is not None
            )
            if joined:
                entries.append((pattern, joined))
        # Exact patterns first, then the longest prefix before `*` (TypeScript's rule).
        entries.sort(key=lambda e: ("*" in e[0], -len(e[0].partition("*")[0]), e[0]))
        return _TsPaths(base_url, tuple(entries))

    def _ts_extends_chain(
        self, path: str, read_text: ReadText | None
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """``[(path, parsed)]`` from the root-most ``extends`` parent down to ``path``."""
        chain: list[tuple[str, Mapping[str, Any]]] = []
        seen: set[str] = set()
        pending: str | None = path
        while pending is not None and pending not in seen and len(chain) <= _MAX_TSCONFIG_EXTENDS:
            seen.add(pending)
            text = _safe_read(read_text, pending)
            data = _parse_jsonc(text) if text is not None else None
            if data is None:
                break
            chain.append((pending, data))
            pending = self._ts_extends_target(_dirname(pending), data.get("extends"))
        chain.reverse()
        return chain

    def _ts_extends_target(self, config_dir: str, extends: object) -> str | None:
        """The workspace file a relative ``extends`` names (first one for a list)."""
        if isinstance(extends, list):
            extends = next((e for e in extends if isinstance(e, str)), None)
        if not isinstance(extends, str) or not extends.startswith("."):
            return None  # package-provided bases (`@tsconfig/node20`) are not ours
        target = _join(config_dir, extends)
        if target is None:
            return None
        if target in self._layout.path_set:
            return target
        return target + ".json" if target + ".json" in self._layout.path_set else None

    @staticmethod
    def _read_js_packages(
        configs: list[str], read_text: ReadText | None
    ) -> Mapping[str, tuple[str, tuple[str, ...]]]:
        """Workspace package name → (directory, entry-point candidates)."""
        packages: dict[str, tuple[str, tuple[str, ...]]] = {}
        for path in configs:
            if _basename(path) != "package.json":
                continue
            text = _safe_read(read_text, path)
            data = _parse_jsonc(text) if text is not None else None
            if data is None:
                continue
            name = data.get("name")
            if not isinstance(name, str) or not name or name in packages:
                continue
            entries = tuple(
                value
                for field in _PACKAGE_ENTRY_FIELDS
                if isinstance(value := data.get(field), str) and value
            )
            packages[name] = (_dirname(path), entries)
        return packages

    def _read_rust_crates(
        self, configs: list[str], read_text: ReadText | None
    ) -> Mapping[str, str]:
        """Workspace crate name (as written in `use`) → its library root file."""
        crates: dict[str, str] = {}
        for path in configs:
            if _basename(path) != "Cargo.toml":
                continue
            text = _safe_read(read_text, path)
            data = _parse_toml(text) if text is not None else None
            if data is None:
                continue
            name = _get_str(data, "lib", "name") or _get_str(data, "package", "name")
            if not name:
                continue
            directory = _dirname(path)
            lib_path = _get_str(data, "lib", "path") or "src/lib.rs"
            root = _join(directory, lib_path)
            if root is not None and root in self._layout.path_set:
                crates.setdefault(name.replace("-", "_"), root)
        return crates

    @staticmethod
    def _read_psr4(configs: list[str], read_text: ReadText | None) -> tuple[tuple[str, str], ...]:
        """composer.json PSR-4 ``(namespace prefix, directory)``, longest prefix first."""
        mapping: list[tuple[str, str]] = []
        for path in configs:
            if _basename(path) != "composer.json":
                continue
            text = _safe_read(read_text, path)
            data = _parse_jsonc(text) if text is not None else None
            if data is None:
                continue
            for section in ("autoload", "autoload-dev"):
                psr4 = data.get(section)
                psr4 = psr4.get("psr-4") if isinstance(psr4, Mapping) else None
                if not isinstance(psr4, Mapping):
                    continue
                for prefix, dirs in psr4.items():
                    for directory in dirs if isinstance(dirs, list) else [dirs]:
                        if not isinstance(prefix, str) or not isinstance(directory, str):
                            continue
                        local = _join(_dirname(path), directory.strip("/"))
                        if local is not None:
                            mapping.append((prefix.lstrip("\\"), local))
        mapping.sort(key=lambda item: (-len(item[0]), item))
        return tuple(mapping)


def _load_root_ok(path: str, suffix: str, load_dirs: Collection[str]) -> bool:
    """Whether ``path`` (ending in ``suffix``) sits under a load-path-like directory.

    The part before the suffix must be the workspace root (the usual working
    directory) or a directory whose name is in ``load_dirs`` (``lib/``, ``lua/``).
    """
    prefix = path[: len(path) - len(suffix)].rstrip("/")
    return not prefix or _basename(prefix) in load_dirs


def _drop_leading(items: list[str], value: str) -> list[str]:
    """``items`` without its leading run of ``value``."""
    start = 0
    while start < len(items) and items[start] == value:
        start += 1
    return items[start:]


def _jvm_root_clash(path: str, suffix: str) -> bool:
    """Whether a match only exists because a source root is named like a package.

    ``java.util`` would otherwise match the project's own ``src/main/java/util/``:
    there the ``java`` directory is the source root, not the package ``java``.
    """
    first = suffix.partition("/")[0]
    if first not in _JVM_ROOT_NAMES:
        return False
    parent = _basename(path[: len(path) - len(suffix)].rstrip("/"))
    return parent == "src" or parent.lower().endswith(("main", "test"))


_Handler = Callable[[ImportResolver, str, str], tuple[str, ...]]
_HANDLERS: Mapping[str, _Handler] = MappingProxyType(
    {
        "python": ImportResolver._resolve_python,
        "js": ImportResolver._resolve_js,
        "go": ImportResolver._resolve_go,
        "rust": ImportResolver._resolve_rust,
        "jvm": ImportResolver._resolve_jvm,
        "c": ImportResolver._resolve_c,
        "csharp": ImportResolver._resolve_csharp,
        "ruby": ImportResolver._resolve_ruby,
        "php": ImportResolver._resolve_php,
        "lua": ImportResolver._resolve_lua,
        "bash": ImportResolver._resolve_bash,
        "swift": ImportResolver._resolve_swift,
    }
)


# ------------------------------------------------------------------ import graph


def build_import_graph(
    symbols_by_path: Mapping[str, FileSymbols], resolver: ImportResolver
) -> Mapping[str, tuple[str, ...]]:
    """File → the workspace files it imports (import order, no duplicates, no self).

    Every file of ``symbols_by_path`` gets an entry (possibly empty). Imports that
    resolve outside the workspace are dropped.
    """
    return ImportGraph.build(symbols_by_path, resolver).imports


def reverse_edges(graph: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
    """File → the files that import it (sorted); files nobody imports are absent."""
    reverse: dict[str, list[str]] = {}
    for source in sorted(graph):
        for target in graph[source]:
            reverse.setdefault(target, []).append(source)
    return MappingProxyType({target: tuple(sources) for target, sources in reverse.items()})


@dataclass(frozen=True, slots=True)
class ImportGraph:
    """Import edges of the whole workspace, both ways.

    Build it with :meth:`build`. When a file's *content* changes, :meth:`with_file`
    re-resolves that file only. When files are added or removed, rebuild the resolver
    and the graph (a new file can satisfy imports that were external before).
    """

    #: File → files it imports, in import order.
    imports: Mapping[str, tuple[str, ...]]
    #: File → files importing it, sorted.
    importers: Mapping[str, tuple[str, ...]]

    @classmethod
    def build(
        cls, symbols_by_path: Mapping[str, FileSymbols], resolver: ImportResolver
    ) -> ImportGraph:
        """Resolve every file's imports with ``resolver``."""
        imports = {
            path: resolver.resolve_all(path, symbols.language, symbols.imports)
            for path, symbols in sorted(symbols_by_path.items())
        }
        return cls(MappingProxyType(imports), reverse_edges(imports))

    def imports_of(self, path: str) -> tuple[str, ...]:
        """The files ``path`` imports (``()`` when unknown)."""
        return self.imports.get(path, ())

    def importers_of(self, path: str) -> tuple[str, ...]:
        """The files that import ``path`` (``()`` when none)."""
        return self.importers.get(path, ())

    @property
    def edge_count(self) -> int:
        return sum(len(targets) for targets in self.imports.values())

    def with_file(
        self, path: str, symbols: FileSymbols | None, resolver: ImportResolver
    ) -> ImportGraph:
        """A graph with ``path``'s imports re-resolved (``symbols=None``: file gone).

        For a removed file, edges pointing at it are dropped too, which is what a
        rebuild gives unless another file now matches the same imports.
        """
        imports = dict(self.imports)
        old = imports.pop(path, ())
        if symbols is not None:
            imports[path] = resolver.resolve_all(path, symbols.language, symbols.imports)
        # Copy the reverse map shallowly and rewrite only the targets that changed.
        importers: dict[str, tuple[str, ...]] = dict(self.importers)
        new = imports.get(path, ())
        for target in set(old) | set(new):
            sources = [s for s in importers.get(target, ()) if s != path]
            if target in new:
                bisect.insort(sources, path)
            if sources:
                importers[target] = tuple(sources)
            else:
                importers.pop(target, None)
        if symbols is None:
            for source in importers.pop(path, ()):
                imports[source] = tuple(t for t in imports.get(source, ()) if t != path)
        return ImportGraph(MappingProxyType(imports), MappingProxyType(importers))


# ------------------------------------------------------------------ symbol table


class Locality(StrEnum):
    """Where a definition sits relative to the file asking, best first."""

    SAME_FILE = "same-file"
    IMPORTED = "imported"  #: in a file the asking file imports
    SAME_DIRECTORY = "same-directory"  #: Go/Java packages see these without an import
    WORKSPACE = "workspace"


# Definitions worth showing before plain variables and fields of the same locality.
_PRIMARY_KINDS = frozenset(
    {
        "class",
        "interface",
        "struct",
        "enum",
        "type",
        "function",
        "method",
        "module",
        "macro",
        "constant",
    }
)
# Receivers that qualify a name without saying where it is defined.
_SELF_QUALIFIERS = frozenset({"self", "this", "cls", "Self", "super", "$this"})
_QUALIFIER_SEPARATORS = re.compile(r"::|->|\\|#")


@dataclass(frozen=True, slots=True)
class SymbolMatch:
    """One ranked answer of :meth:`SymbolTable.lookup`."""

    path: str
    definition: Definition
    locality: Locality
    #: For a qualified lookup, whether the qualifier matched (fully or partially).
    qualifier_matched: bool = False


class SymbolTable:
    """Definitions of the workspace by name, ranked for the file asking.

    Parameters
    ----------
    symbols_by_path:
        Path → :class:`FileSymbols` for every indexed file.

    Notes
    -----
    :meth:`update` replaces one file's definitions in place. Readers on other threads
    see either the old or the new entry for a name, never a broken one (each entry is
    an immutable tuple swapped atomically); there must be a single writer.
    """

    def __init__(self, symbols_by_path: Mapping[str, FileSymbols]) -> None:
        by_name: dict[str, list[tuple[str, Definition]]] = {}
        names_by_path: dict[str, frozenset[str]] = {}
        for path in sorted(symbols_by_path):
            definitions = symbols_by_path[path].definitions
            names_by_path[path] = frozenset(d.name for d in definitions)
            for definition in definitions:
                by_name.setdefault(definition.name, []).append((path, definition))
        # Entries are kept in the lookup's tie-break order (primary kinds, then path
        # and line) so that lookups only bucket them, never sort.
        self._by_name: dict[str, tuple[tuple[str, Definition], ...]] = {
            name: tuple(sorted(entries, key=_entry_order)) for name, entries in by_name.items()
        }
        self._names_by_path = names_by_path

    def __len__(self) -> int:
        """Number of distinct names defined."""
        return len(self._by_name)

    def definitions(self, name: str) -> tuple[tuple[str, Definition], ...]:
        """Every ``(path, definition)`` defining bare ``name``.

        Ordered by kind (classes, functions and the like before variables and
        fields), then path, then line.
        """
        return self._by_name.get(name, ())

    def update(self, path: str, symbols: FileSymbols | None) -> None:
        """Replace ``path``'s definitions (``None``: the file is gone)."""
        old_names = self._names_by_path.pop(path, frozenset())
        new_definitions = symbols.definitions if symbols is not None else ()
        new_names = frozenset(d.name for d in new_definitions)
        for name in old_names | new_names:
            kept = [entry for entry in self._by_name.get(name, ()) if entry[0] != path]
            kept.extend((path, d) for d in new_definitions if d.name == name)
            if kept:
                self._by_name[name] = tuple(sorted(kept, key=_entry_order))
            else:
                self._by_name.pop(name, None)
        if symbols is not None:
            self._names_by_path[path] = new_names

    def lookup(
        self,
        name: str,
        importer: str | None = None,
        imported: Collection[str] = (),
        limit: int = 20,
    ) -> tuple[SymbolMatch, ...]:
        """Definitions of ``name`` ranked for ``importer``, at most ``limit`` of them.

        Parameters
        ----------
        name:
            A bare identifier (``"refresh"``) or a qualified one (``"Index.refresh"``,
            ``"a::b::C"``, ``"self.refresh"``). The last segment is looked up; the
            qualifier ranks first the definitions whose scope ends with it, or that
            sit at the top of a file/directory named like it (``"utils.helper"``).
        importer:
            The file asking (the cursor's file), or ``None`` for no preference.
        imported:
            The files ``importer`` imports (e.g. ``graph.imports_of(importer)``).
        limit:
            Maximum number of results (``0`` gives none).

        Returns
        -------
        tuple[SymbolMatch, ...]
            Ordered by: qualifier match for qualified lookups (full scope match, then
            partial or module-name match, then none), locality (same file, imported,
            same directory, workspace), primary kinds before variables and fields,
            then path and line.

        Raises
        ------
        ValueError
            When ``limit`` is negative.
        """
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        qualifier, bare = _split_qualified(name)
        entries = self._by_name.get(bare, ())
        if not entries or limit == 0:
            return ()
        # Membership is tested once per definition: make it O(1) whatever came in.
        imported_set = imported if isinstance(imported, (set, frozenset)) else frozenset(imported)
        importer_dir = _dirname(importer) if importer is not None else None
        # One bucket per (qualifier rank, locality); entries arrive in tie-break order,
        # so concatenating the buckets is the full ranking.
        width = len(Locality)
        buckets: list[list[tuple[str, Definition]]] = [[] for _ in range(3 * width)]
        for entry in entries:
            path = entry[0]
            if path == importer:
                rank = 0
            elif path in imported_set:
                rank = 1
            elif importer_dir is not None and _dirname(path) == importer_dir:
                rank = 2
            else:
                rank = 3
            if qualifier is not None:
                rank += width * _qualifier_rank(qualifier, path, entry[1])
            buckets[rank].append(entry)
        localities = tuple(Locality)
        result: list[SymbolMatch] = []
        for rank, bucket in enumerate(buckets):
            locality = localities[rank % width]
            matched = qualifier is not None and rank < 2 * width
            for path, definition in bucket[: limit - len(result)]:
                result.append(SymbolMatch(path, definition, locality, matched))
            if len(result) >= limit:
                break
        return tuple(result)


def _entry_order(entry: tuple[str, Definition]) -> tuple[int, str, int, str]:
    definition = entry[1]
    kind_rank = 0 if definition.kind in _PRIMARY_KINDS else 1
    return (kind_rank, entry[0], definition.start_line, definition.qualified_name)


def _split_qualified(name: str) -> tuple[str | None, str]:
    """``"a.B.c"`` → ``("a.B", "c")``; self-like receivers count as no qualifier."""
    normalised = _QUALIFIER_SEPARATORS.sub(".", name.strip()).strip(".")
    qualifier, _, bare = normalised.rpartition(".")
    if not qualifier or qualifier in _SELF_QUALIFIERS:
        return None, bare
    return qualifier, bare


def _qualifier_rank(qualifier: str, path: str, definition: Definition) -> int:
    """0: the scope ends with the whole qualifier; 1: a partial or module match; 2: none.

    ``Index.refresh`` matches scope ``Index`` and ``pkg.Index`` fully; ``pkg.Index.refresh``
    matches scope ``Index`` partially; ``utils.helper`` matches a top-level ``helper``
    in ``utils.py`` (or in a directory ``utils/``) partially.
    """
    scope = definition.scope
    if scope:
        if scope == qualifier or scope.endswith("." + qualifier):
            return 0
        return 1 if qualifier.endswith("." + scope) else 2
    last = qualifier.rpartition(".")[2]
    stem = _basename(path).partition(".")[0]
    return 1 if last in (stem, _basename(_dirname(path))) else 2
