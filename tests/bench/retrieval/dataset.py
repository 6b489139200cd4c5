"""Masked-call cases from real Python projects, with gold definitions found by ``ast``.

Contract
--------
- :data:`PROJECTS` pins the sdists the benchmark runs on (several sizes; Django is the
  one over 1M tokens). :func:`fetch_project` downloads one with
  ``pip download --no-deps --no-binary :all: NAME==VERSION`` into the work dir and
  unpacks it once (the shared helpers of ``tests/bench/common.py``); later runs reuse
  the tree and never touch the network.
- A *case* is a call site ``foo(...)``, ``Foo(...)``, ``mod.foo(...)`` or
  ``pkg.mod.foo(...)`` in a Python file, where the callee was imported from another
  module of the same project. Its *gold* is the ``def``/``class`` the name resolves to,
  found by this module's own resolver over Python's :mod:`ast` (module names from the
  ``__init__.py`` layout, relative imports by path, re-exports and star imports
  followed up to :data:`MAX_REEXPORT_DEPTH` hops). Nothing here uses the code under
  test (tree-sitter, ``indexer/resolve.py``), so the gold is independent of it.
- Excluded: calls whose gold is in the calling file itself, names bound more than once
  in the calling file (ambiguous), names defined or assigned in the calling file
  (shadowing), names that resolve to a module or an assignment instead of a
  ``def``/``class``, and files that do not parse.
- Masking: the call's line keeps the text before the callee expression (indentation,
  ``x = ``, ``self.assertEqual(`` ...) and loses the rest; the cursor is at the end of
  what is kept. The masked file is the case's ``masked_text``; only that one line
  differs from the file on disk (continuation lines of a multi-line call stay).
- :func:`build_cases` picks a fixed number of cases with a fixed seed, spreading them
  over files (round-robin over seeded-shuffled files) and capping the cases per gold
  definition, so one popular callee (``models.CharField``) cannot dominate.
"""

from __future__ import annotations

import ast
import hashlib
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from tests.bench.common import fetch_sdist, unpack_sdist

__all__ = [
    "FILES_PER_CASE",
    "MAX_PER_GOLD",
    "MAX_REEXPORT_DEPTH",
    "PROJECTS",
    "CallSite",
    "Case",
    "DatasetStats",
    "GoldDefinition",
    "ModuleMap",
    "ProjectSpec",
    "Resolver",
    "build_cases",
    "call_sites_in_file",
    "fetch_project",
    "find_call_sites",
    "imported_modules",
    "mask",
    "read_source",
]

#: Re-export hops followed from the imported module to the defining one
#: (``django.db.models`` -> ``django.db.models.fields`` is one hop).
MAX_REEXPORT_DEPTH: Final = 6
#: At most this many sampled cases share one gold definition.
MAX_PER_GOLD: Final = 3
#: Python files larger than this are not mined for cases (generated tables).
MAX_CASE_FILE_BYTES: Final = 400_000
#: :func:`build_cases` mines files until this many per wanted case have call sites.
FILES_PER_CASE: Final = 3

CallForm = Literal["name", "attribute"]


@dataclass(frozen=True, slots=True)
class ProjectSpec:
    """One pinned sdist.

    Parameters
    ----------
    name, version:
        What ``pip download NAME==VERSION`` fetches.
    label:
        Short id used in tables and paths.
    """

    name: str
    version: str
    label: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


#: Small to large (Python tokens of the unpacked trees: ~130k, ~230k, ~700k, ~3.7M;
#: all indexed text: ~190k, ~240k, ~1.2M, ~8.9M).
PROJECTS: Final[tuple[ProjectSpec, ...]] = (
    ProjectSpec("click", "8.1.7", "click"),
    ProjectSpec("rich", "13.7.1", "rich"),
    ProjectSpec("pytest", "8.2.2", "pytest"),
    ProjectSpec("django", "5.0.6", "django"),
)


@dataclass(frozen=True, slots=True)
class GoldDefinition:
    """Where the masked callee is defined (all lines 1-based inclusive)."""

    path: str  #: workspace-relative POSIX path
    name: str
    kind: Literal["function", "class"]
    line: int  #: the ``def``/``class`` keyword line (decorators are above it)
    end_line: int
    first_line: int  #: first decorator line, else ``line``


@dataclass(frozen=True, slots=True)
class Case:
    """One masked call site and its gold definition."""

    id: str  #: ``project:path:line``
    project: str
    path: str  #: the file being edited (workspace-relative POSIX)
    line: int  #: 1-based cursor line (the masked call line)
    column: int  #: 0-based character column of the cursor (end of the kept prefix)
    masked_text: str  #: the whole file with the call line cut at the callee
    original_line: str  #: the call line as it was (for leak checks and reports)
    callee: str  #: the callee expression as written (``foo``, ``models.CharField``)
    form: CallForm
    gold: GoldDefinition
    hops: int  #: re-export hops from the imported module to the defining one (0 = direct)


# ---------------------------------------------------------------------------
# Fetching sdists
# ---------------------------------------------------------------------------


def fetch_project(spec: ProjectSpec, work: Path) -> Path:
    """Download (once) and unpack (once) ``spec``; return the unpacked source root.

    Parameters
    ----------
    spec:
        The pinned sdist.
    work:
        This benchmark's work folder: archives go to ``work/dl``, trees to
        ``work/NAME-VERSION`` (a private copy: other benchmarks edit their trees to
        measure incremental updates, and a case must match the file on disk).

    The tree gets an empty ``.git`` folder: it makes the tree a workspace root of its
    own, so the scanner stops looking for ``.gitignore`` files at it instead of
    applying our repository's (which ignores ``tests/bench/_work/``, i.e. everything).
    """
    archive = fetch_sdist(spec.requirement, work / "dl")
    root = unpack_sdist(archive, work / f"{spec.label}-{spec.version}")
    (root / ".git").mkdir(exist_ok=True)
    return root


# ---------------------------------------------------------------------------
# Module layout
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModuleMap:
    """Dotted module names <-> workspace files, from the ``__init__.py`` layout.

    A file's module name is its path below the highest folder of its chain of
    packages (folders holding ``__init__.py``): ``src/_pytest/config/__init__.py`` is
    ``_pytest.config``, ``tests/admin_views/models.py`` is ``admin_views.models``. A name
    that two files claim (``conftest``) is ambiguous and resolves to nothing.
    """

    by_module: Mapping[str, str]
    by_path: Mapping[str, str]

    @classmethod
    def build(cls, paths: Iterable[str]) -> ModuleMap:
        py = sorted(p for p in paths if p.endswith(".py"))
        packages = {p.rpartition("/")[0] for p in py if p.rsplit("/", 1)[-1] == "__init__.py"}
        claims: dict[str, list[str]] = defaultdict(list)
        by_path: dict[str, str] = {}
        for path in py:
            name = _module_name(path, packages)
            if name is None:
                continue
            by_path[path] = name
            claims[name].append(path)
        by_module = {name: paths[0] for name, paths in claims.items() if len(paths) == 1}
        return cls(by_module=by_module, by_path=by_path)

    def path_of(self, module: str) -> str | None:
        return self.by_module.get(module)

    def is_module(self, module: str) -> bool:
        return module in self.by_module


def _module_name(path: str, packages: set[str]) -> str | None:
    folder, _, filename = path.rpartition("/")
    stem = filename[: -len(".py")]
    if not stem.isidentifier():
        return None
    parts: list[str] = [] if stem == "__init__" else [stem]
    while folder in packages:
        folder, _, leaf = folder.rpartition("/")
        if not leaf.isidentifier():
            return None
        parts.insert(0, leaf)
        if not folder:
            break
    return ".".join(parts) if parts else None


# ---------------------------------------------------------------------------
# Parsing and name resolution
# ---------------------------------------------------------------------------


def read_source(data: bytes) -> str | None:
    """Decoded text with ``\\n`` line ends, or None if it is not usable UTF-8 Python."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.replace("\r\n", "\n")
    if "\r" in text or "\x00" in text:
        return None
    return text


@dataclass
class Resolver:
    """Resolves ``(module, name)`` to the ``def``/``class`` that defines it.

    Parameters
    ----------
    modules:
        The project's module layout.
    read:
        Returns the text of a workspace file (None if unreadable).
    """

    modules: ModuleMap
    read: Callable[[str], str | None]
    _trees: dict[str, ast.Module | None] = field(default_factory=dict)
    _tables: dict[str, _ModuleTable | None] = field(default_factory=dict)
    _resolved: dict[tuple[str, str], tuple[GoldDefinition, int] | None] = field(
        default_factory=dict
    )

    def tree(self, path: str) -> ast.Module | None:
        """The parsed file (cached); None when it cannot be read or parsed."""
        if path not in self._trees:
            text = self.read(path)
            parsed: ast.Module | None = None
            if text is not None:
                try:
                    parsed = ast.parse(text, filename=path)
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    parsed = None
            self._trees[path] = parsed
        return self._trees[path]

    def import_target(self, path: str, node: ast.ImportFrom) -> str | None:
        """The absolute module an ``ImportFrom`` in ``path`` names (None if outside)."""
        if node.level == 0:
            return node.module
        return self.relative_module(path, node.level, node.module)

    def relative_module(self, path: str, level: int, module: str | None) -> str | None:
        """Absolute module name of ``from {'.' * level}{module} import ...`` in ``path``."""
        folder = path.rpartition("/")[0]
        for _ in range(level - 1):
            if not folder:
                return None
            folder = folder.rpartition("/")[0]
        base = folder + "/" if folder else ""
        if module:
            base += module.replace(".", "/")
            for candidate in (base + ".py", base + "/__init__.py"):
                name = self.modules.by_path.get(candidate)
                if name is not None and self.modules.is_module(name):
                    return name
            return None
        name = self.modules.by_path.get(base + "__init__.py")
        return name if name is not None and self.modules.is_module(name) else None

    def resolve(self, module: str, name: str) -> tuple[GoldDefinition, int] | None:
        """The definition ``name`` has in ``module`` and the re-export hops to it."""
        key = (module, name)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(module, name, 0, set())
        return self._resolved[key]

    def _table(self, path: str) -> _ModuleTable | None:
        """The module-level bindings of ``path`` (cached)."""
        if path not in self._tables:
            tree = self.tree(path)
            table: _ModuleTable | None = None
            if tree is not None:
                last: dict[str, _Bound] = {}
                stars: list[ast.ImportFrom] = []
                for stmt in _module_level(tree.body):
                    # The last binding wins, as when Python runs the module.
                    for name, bound in _bindings_of(stmt):
                        last[name] = bound
                    if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
                        stars.append(stmt)
                table = _ModuleTable(last, tuple(stars))
            self._tables[path] = table
        return self._tables[path]

    def _resolve(
        self, module: str, name: str, hops: int, seen: set[tuple[str, str]]
    ) -> tuple[GoldDefinition, int] | None:
        if hops > MAX_REEXPORT_DEPTH or (module, name) in seen:
            return None
        seen.add((module, name))
        path = self.modules.path_of(module)
        table = self._table(path) if path is not None else None
        if path is None or table is None:
            return None
        binding = table.names.get(name)
        if isinstance(binding, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return _gold(path, binding), hops
        if isinstance(binding, tuple):
            node, alias = binding
            target = self.import_target(path, node)
            if target is None or self.modules.is_module(f"{target}.{alias.name}"):
                return None  # outside the project, or a submodule (not a def)
            return self._resolve(target, alias.name, hops + 1, seen)
        if binding is not None:
            return None  # an assignment or a plain import: no def/class to point at
        for star in table.stars:
            target = self.import_target(path, star)
            if target is not None:
                found_star = self._resolve(target, name, hops + 1, seen)
                if found_star is not None:
                    return found_star
        return None


_Bound = ast.stmt | tuple[ast.ImportFrom, ast.alias]


@dataclass(frozen=True, slots=True)
class _ModuleTable:
    """A module's top-level names -> their last binding, and its star imports."""

    names: Mapping[str, _Bound]
    stars: tuple[ast.ImportFrom, ...]


def _module_level(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at module level, descending into ``if``/``try``/``with``."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _module_level(stmt.body)
            yield from _module_level(stmt.orelse)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            yield from _module_level(stmt.body)
            for handler in stmt.handlers:
                yield from _module_level(handler.body)
            yield from _module_level(stmt.orelse)
            yield from _module_level(stmt.finalbody)
        elif isinstance(stmt, ast.With):
            yield from _module_level(stmt.body)


def _bindings_of(stmt: ast.stmt) -> Iterator[tuple[str, _Bound]]:
    """The names ``stmt`` binds at its own level (not inside nested blocks)."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield stmt.name, stmt
    elif isinstance(stmt, ast.ImportFrom):
        for alias in stmt.names:
            if alias.name != "*":
                yield alias.asname or alias.name, (stmt, alias)
    elif isinstance(stmt, ast.Import):
        for alias in stmt.names:
            yield alias.asname or alias.name.partition(".")[0], stmt
    elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    yield node.id, stmt


def _gold(path: str, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> GoldDefinition:
    first = min([d.lineno for d in node.decorator_list] + [node.lineno])
    return GoldDefinition(
        path=path,
        name=node.name,
        kind="class" if isinstance(node, ast.ClassDef) else "function",
        line=node.lineno,
        end_line=node.end_lineno or node.lineno,
        first_line=first,
    )


# ---------------------------------------------------------------------------
# Finding call sites
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Binding:
    """What an import in the calling file binds a local name to."""

    module: str  #: absolute module name
    name: str | None  #: the imported name; None when the local name *is* the module


@dataclass(frozen=True, slots=True)
class CallSite:
    """A call of an imported project callee, before masking (cheap to keep by the 10k)."""

    project: str
    path: str
    line: int
    column: int  #: 0-based character column where the callee expression starts
    callee: str
    form: CallForm
    gold: GoldDefinition
    hops: int

    @property
    def id(self) -> str:
        return f"{self.project}:{self.path}:{self.line}"


@dataclass
class _FileFacts:
    """What one walk over a file's tree collects."""

    imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)
    local: set[str] = field(default_factory=set)
    calls: list[ast.Call] = field(default_factory=list)


def _facts(tree: ast.Module) -> _FileFacts:
    facts = _FileFacts()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            facts.calls.append(node)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            facts.imports.append(node)
        elif isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                facts.local.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            facts.local.add(node.name)
        elif isinstance(node, ast.arg):
            facts.local.add(node.arg)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            facts.local.update(node.names)
    return facts


def _file_bindings(path: str, facts: _FileFacts, resolver: Resolver) -> dict[str, _Binding]:
    """Local names bound by imports anywhere in the file; ambiguous or shadowed ones removed."""
    found: dict[str, set[_Binding]] = defaultdict(set)
    modules = resolver.modules
    for node in facts.imports:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname].add(_Binding(alias.name, None))
                else:
                    top = alias.name.partition(".")[0]
                    found[top].add(_Binding(top, None))
            continue
        target = resolver.import_target(path, node)
        for alias in node.names:
            if alias.name == "*" or target is None:
                continue
            local = alias.asname or alias.name
            submodule = f"{target}.{alias.name}"
            if modules.is_module(submodule):
                found[local].add(_Binding(submodule, None))
            else:
                found[local].add(_Binding(target, alias.name))
    return {
        name: next(iter(bound))
        for name, bound in found.items()
        if len(bound) == 1 and name not in facts.local
    }


def _attribute_chain(node: ast.expr) -> list[str] | None:
    """``a.b.c`` -> ``["a", "b", "c"]``; None for anything but names and attributes."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.insert(0, node.id)
    return parts


def _callee_target(
    chain: list[str], bindings: Mapping[str, _Binding], modules: ModuleMap
) -> tuple[str, str] | None:
    """``(module, name)`` the called chain refers to, if it is a project import."""
    binding = bindings.get(chain[0])
    if binding is None:
        return None
    if binding.name is not None:
        return (binding.module, binding.name) if len(chain) == 1 else None
    if len(chain) < 2:
        return None
    module = binding.module
    for part in chain[1:-1]:
        module = f"{module}.{part}"
        if not modules.is_module(module):
            return None
    return module, chain[-1]


def call_sites_in_file(project: str, path: str, resolver: Resolver) -> list[CallSite]:
    """Usable call sites of ``path`` (one per line: the leftmost callee), by line."""
    text = resolver.read(path)
    if text is None or len(text.encode("utf-8")) > MAX_CASE_FILE_BYTES:
        return []
    tree = resolver.tree(path)
    if tree is None:
        return []
    facts = _facts(tree)
    bindings = _file_bindings(path, facts, resolver)
    if not bindings:
        return []
    lines = text.split("\n")
    best: dict[int, CallSite] = {}
    for node in facts.calls:
        chain = _attribute_chain(node.func)
        if chain is None:
            continue
        target = _callee_target(chain, bindings, resolver.modules)
        resolved = resolver.resolve(*target) if target is not None else None
        if resolved is None or resolved[0].path == path:
            continue
        line = node.func.lineno
        if not 1 <= line <= len(lines):
            continue
        # ast columns are UTF-8 byte offsets; the request's column is in characters.
        prefix = lines[line - 1].encode("utf-8")[: node.func.col_offset]
        column = len(prefix.decode("utf-8", errors="ignore"))
        if line in best and best[line].column <= column:
            continue  # one case per line: the leftmost callee's prefix hides the others
        best[line] = CallSite(
            project=project,
            path=path,
            line=line,
            column=column,
            callee=".".join(chain),
            form="name" if len(chain) == 1 else "attribute",
            gold=resolved[0],
            hops=resolved[1],
        )
    return [best[line] for line in sorted(best)]


def find_call_sites(
    project: str, paths: Iterable[str], read: Callable[[str], str | None]
) -> list[CallSite]:
    """Every usable call site of the project, sorted by path and line.

    Parameters
    ----------
    project:
        Label written into the ids.
    paths:
        The workspace files (only ``.py`` files are used); gold definitions are only
        looked for among them.
    read:
        Text of a workspace file with ``\\n`` line ends (see :func:`read_source`).
    """
    all_paths = sorted(paths)
    resolver = Resolver(ModuleMap.build(all_paths), read)
    sites: list[CallSite] = []
    for path in all_paths:
        if path.endswith(".py"):
            sites.extend(call_sites_in_file(project, path, resolver))
    return sites


def mask(site: CallSite, text: str) -> Case:
    """The case of ``site``: ``text`` (the file) with the call line cut at the callee."""
    lines = text.split("\n")
    original = lines[site.line - 1]
    lines[site.line - 1] = original[: site.column]
    return Case(
        id=site.id,
        project=site.project,
        path=site.path,
        line=site.line,
        column=site.column,
        masked_text="\n".join(lines),
        original_line=original,
        callee=site.callee,
        form=site.form,
        gold=site.gold,
        hops=site.hops,
    )


# ---------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatasetStats:
    """How a project's cases were found (for the report)."""

    python_files: int
    files_mined: int
    files_with_sites: int
    call_sites: int
    cases: int


def build_cases(
    project: str,
    paths: Iterable[str],
    read: Callable[[str], str | None],
    *,
    count: int,
    seed: int,
    max_per_gold: int = MAX_PER_GOLD,
) -> tuple[list[Case], DatasetStats]:
    """``count`` masked cases of the project, chosen deterministically.

    The ``.py`` files are shuffled (seeded by ``seed`` and ``project``) and mined in
    that order until :data:`FILES_PER_CASE` times ``count`` files have yielded call
    sites (mining all of Django's would take minutes). Then files are taken
    round-robin in the same order: each round adds at most one case per file, in a
    seeded order within the file, skipping call sites whose gold definition already
    has ``max_per_gold`` cases.
    """
    all_paths = sorted(paths)
    resolver = Resolver(ModuleMap.build(all_paths), read)
    rng = random.Random(_seed_for(seed, project))
    py = [p for p in all_paths if p.endswith(".py")]
    rng.shuffle(py)
    mined: list[list[CallSite]] = []
    files_mined = 0
    for path in py:
        if len(mined) >= count * FILES_PER_CASE:
            break
        files_mined += 1
        sites = call_sites_in_file(project, path, resolver)
        if sites:
            rng.shuffle(sites)
            mined.append(sites)
    per_gold: dict[tuple[str, int], int] = defaultdict(int)
    chosen: list[CallSite] = []
    queues = [list(sites) for sites in mined]
    while len(chosen) < count and any(queues):
        for queue in queues:
            while queue:
                site = queue.pop()
                key = (site.gold.path, site.gold.line)
                if per_gold[key] < max_per_gold:
                    per_gold[key] += 1
                    chosen.append(site)
                    break
            if len(chosen) >= count:
                break
    cases = []
    for site in sorted(chosen, key=lambda s: (s.path, s.line)):
        text = read(site.path)
        if text is not None:
            cases.append(mask(site, text))
    stats = DatasetStats(
        python_files=len(py),
        files_mined=files_mined,
        files_with_sites=len(mined),
        call_sites=sum(len(s) for s in mined),
        cases=len(cases),
    )
    return cases, stats


def _seed_for(seed: int, project: str) -> int:
    digest = hashlib.blake2b(f"{seed}:{project}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


# ---------------------------------------------------------------------------
# Imports of the current file (for the imports-only baseline)
# ---------------------------------------------------------------------------


def imported_modules(case: Case, resolver: Resolver) -> list[str]:
    """Project files the current file imports directly, in source order, deduplicated.

    ``from pkg import a`` names the module ``pkg.a`` when that is a module, else
    ``pkg`` (its ``__init__.py``); ``import a.b`` names ``a.b``. Statements on the
    masked line are ignored (there are none: the masked line is a call).
    """
    tree = resolver.tree(case.path)
    if tree is None:
        return []
    modules = resolver.modules
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) == case.line:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node.lineno, node.col_offset, alias.name))
        elif isinstance(node, ast.ImportFrom):
            target = resolver.import_target(case.path, node)
            if target is None:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append(
                    (node.lineno, node.col_offset, sub if modules.is_module(sub) else target)
                )
    paths: list[str] = []
    for _, _, module in sorted(found):
        path = modules.path_of(module)
        if path is not None and path != case.path and path not in paths:
            paths.append(path)
    return paths
