"""The context engine on small real workspaces: ranking, budgets, layout, secrets, caching."""

from __future__ import annotations

import json
import os
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minimax_lsp.indexer.context import (
    ContextDenied,
    ContextEngine,
    ContextRequest,
    Manifest,
    Span,
)
from minimax_lsp.indexer.index import Index
from minimax_lsp.indexer.outline import LINE_MARK
from minimax_lsp.indexer.scan import ScanOptions, SkipReason
from minimax_lsp.indexer.tokens import TokenCounter

OPTIONS = ScanOptions(use_git=False)
AWS_KEY = "AKIAQ3T5V7X9Z2B4D6F8"
DB_PASSWORD = "s3cr3t-Hunter42x"

MODELS = '''\
"""Accounts and how to load them."""


class UserAccount:
    """A user account."""

    def __init__(self, name: str) -> None:
        self.name = name

    def display_name(self) -> str:
        return self.name.title()


def load_accounts(path: str) -> list[UserAccount]:
    """One account per line of ``path``."""
    with open(path) as handle:
        return [UserAccount(line.strip()) for line in handle]
'''

SERVICE = """\
from shop.models import UserAccount, load_accounts


def greet_everyone(path: str) -> list[str]:
    accounts = load_accounts(path)
    return [f"hello {a.display_name()}" for a in accounts]


def find_account(path: str, name: str) -> UserAccount | None:
    for account in load_accounts(path):
        if account.name == name:
            return account
    return None
"""

REPORT = """\
from shop.service import greet_everyone


def print_report(path: str) -> None:
    for line in greet_everyone(path):
        print(line)
"""

CHECKSUM = '''\
def adler_rolling_checksum(data: bytes) -> int:
    """Rolling adler checksum of ``data`` with the usual modulus."""
    low, high = 1, 0
    for byte in data:
        low = (low + byte) % 65521
        high = (high + low) % 65521
    return (high << 16) | low
'''

STREAM = """\
def digest_stream(chunks):
    # keep a rolling adler checksum over the stream, modulus 65521
    state = 1

    return state
"""
#: The empty line inside digest_stream (1-based), where the cursor goes.
STREAM_CURSOR = 4

CONFIG = f'''\
AWS_ACCESS_KEY_ID = "{AWS_KEY}"
DB_PASSWORD = "{DB_PASSWORD}"
DEBUG = True
'''


def _filler(index: int) -> str:
    """A module of unrelated, distinctively named functions (bulk for the budgets)."""
    body = []
    for j in range(6):
        body.append(
            f"def filler_{index}_operation_{j}(value: int) -> int:\n"
            f'    """Transform value number {j} of module {index}."""\n'
            f"    result = value * {j + 3} + {index}\n"
            f"    for step in range({j + 2}):\n"
            f"        result = (result ^ step) + {index * 7 + j}\n"
            f"    return result\n\n\n"
        )
    return "".join(body)


FILES = {
    "shop/__init__.py": "",
    "shop/models.py": MODELS,
    "shop/service.py": SERVICE,
    "shop/report.py": REPORT,
    "shop/checksum.py": CHECKSUM,
    "shop/stream.py": STREAM,
    "config.py": CONFIG,
    "README.md": "# Shop\n\nA tiny shop used by the context engine tests.\n",
    **{f"misc/filler_{i}.py": _filler(i) for i in range(6)},
}


def _write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not found")


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    """The shared, read-only workspace (tests that change it build their own)."""
    root = tmp_path_factory.mktemp("shop")
    _write_tree(root / "ws", FILES)
    index = Index(root / "ws", options=OPTIONS, cache_dir=root / "cache", workers=1)
    index.refresh()
    yield index
    index.close()


@pytest.fixture(scope="module")
def engine(shop: Index, counter: TokenCounter) -> ContextEngine:
    engine = ContextEngine(shop, counter=counter)
    engine.warm()
    return engine


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Index]:
    """A private copy of the workspace that a test may modify."""
    _write_tree(tmp_path / "ws", FILES)
    index = Index(tmp_path / "ws", options=OPTIONS, cache_dir=tmp_path / "cache", workers=1)
    index.refresh()
    yield index
    index.close()


def _total_tokens(engine: ContextEngine) -> int:
    huge = engine.pack(ContextRequest(None, task="chat", budget=10**7))
    return huge.tokens


def _by_path(manifest: Manifest, path: str) -> list[Span]:
    return [s for s in manifest.items if s.path == path]


def _check_invariants(manifest: Manifest, request: ContextRequest, index: Index) -> None:
    assert manifest.tokens == sum(s.tokens for s in manifest.items)
    assert manifest.tokens <= request.budget
    assert 0 <= manifest.stable_items <= len(manifest.items)
    if request.path is not None:
        last = manifest.items[-1]
        assert last.path == request.path
        assert last.reason.startswith("current file")
        assert all(not s.reason.startswith("current file") for s in manifest.items[:-1])
    for span in manifest.items:
        entry = index.get(span.path)
        assert entry is not None
        assert 1 <= span.start_line <= span.end_line <= max(1, entry.line_count)
        assert span.mode in ("full", "outline", "snippet")
        if span.mode == "outline":
            for row in span.text.splitlines():
                number = int(row.partition(LINE_MARK)[0])
                assert span.start_line <= number <= span.end_line


# --------------------------------------------------------------------------- ranking


def test_definition_used_at_cursor_outranks_unrelated_files(engine: ContextEngine) -> None:
    line = _line_of(SERVICE, "accounts = load_accounts(path)")
    request = ContextRequest("shop/service.py", line=line, column=34, budget=700)
    manifest = engine.pack(request)

    reasons = [s.reason for s in manifest.items if s.path == "shop/models.py"]
    assert any("load_accounts" in r for r in reasons) or any("imported" in r for r in reasons)
    best_other = max(
        (s for s in manifest.items[:-1] if s.path != "shop/service.py"), key=lambda s: s.score
    )
    assert best_other.path == "shop/models.py"
    fillers = [s.score for s in manifest.items if s.path.startswith("misc/")]
    assert all(score < best_other.score for score in fillers)


def test_definition_snippet_is_the_definition_itself(engine: ContextEngine) -> None:
    line = _line_of(SERVICE, "accounts = load_accounts(path)")
    # (At 400 tokens the fill pass cannot send models.py whole instead of its snippets.)
    manifest = engine.pack(ContextRequest("shop/service.py", line=line, column=34, budget=400))
    snippets = [s for s in manifest.items if "defines `load_accounts`" in s.reason]
    assert snippets, [s.reason for s in manifest.items]
    assert snippets[0].text.startswith("def load_accounts(path: str)")


def test_callers_appear_for_explain(engine: ContextEngine) -> None:
    start = _line_of(MODELS, "def load_accounts")
    request = ContextRequest(
        "shop/models.py",
        line=start,
        task="explain",
        selection=(start, start + 3),
        budget=900,
    )
    manifest = engine.pack(request)
    callers = [s for s in manifest.items if "caller of `load_accounts`" in s.reason]
    assert callers, [(s.path, s.reason) for s in manifest.items]
    assert {s.path for s in callers} == {"shop/service.py"}
    assert any("load_accounts(path)" in s.text for s in callers)


def test_lexical_similarity_finds_the_related_chunk(engine: ContextEngine) -> None:
    request = ContextRequest("shop/stream.py", line=STREAM_CURSOR, column=4, budget=600)
    manifest = engine.pack(request)
    hits = [s for s in manifest.items if s.reason.startswith("lexically similar")]
    assert [s.path for s in hits][:1] == ["shop/checksum.py"]
    assert "adler_rolling_checksum" in hits[0].text


def test_open_buffers_boost_a_file(engine: ContextEngine) -> None:
    line = _line_of(REPORT, "print(line)")
    base = ContextRequest("shop/report.py", line=line, column=8, budget=500)
    boosted = ContextRequest(
        "shop/report.py", line=line, column=8, budget=500, open_paths=("misc/filler_3.py",)
    )

    def score(manifest: Manifest) -> float:
        return max((s.score for s in _by_path(manifest, "misc/filler_3.py")), default=0.0)

    plain, with_open = engine.pack(base), engine.pack(boosted)
    assert score(with_open) > score(plain)
    assert any(s.reason == "open buffer" for s in _by_path(with_open, "misc/filler_3.py"))


# --------------------------------------------------------------------------- budgets


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    budget=st.integers(min_value=0, max_value=50_000),
    path=st.sampled_from(
        ["shop/service.py", "shop/models.py", "misc/filler_2.py", "shop/stream.py", None]
    ),
    line=st.integers(min_value=1, max_value=60),
    task=st.sampled_from(["complete", "explain", "refactor", "chat"]),
    selection_size=st.none() | st.integers(min_value=0, max_value=12),
)
def test_never_over_budget_and_well_formed(
    engine: ContextEngine,
    shop: Index,
    counter: TokenCounter,
    budget: int,
    path: str | None,
    line: int,
    task: str,
    selection_size: int | None,
) -> None:
    selection = None if selection_size is None else (line, line + selection_size)
    request = ContextRequest(
        path,
        line=line,
        column=3,
        task=task,  # type: ignore[arg-type]
        selection=selection,
        budget=budget,
        query="how are accounts loaded?" if task == "chat" else "",
    )
    manifest = engine.pack(request)
    _check_invariants(manifest, request, shop)
    for span in manifest.items:
        # A span's declared cost covers the exact count of what it sends.
        assert span.tokens >= counter.count(span.text)


def test_tiny_budget_degrades_to_outlines_and_snippets(engine: ContextEngine) -> None:
    line = _line_of(SERVICE, "accounts = load_accounts(path)")
    manifest = engine.pack(ContextRequest("shop/service.py", line=line, column=34, budget=160))
    others = manifest.items[:-1]
    models = [s for s in others if s.path == "shop/models.py"]
    assert models
    assert {s.mode for s in models} <= {"outline", "snippet"}
    big = [s for s in others if s.path.startswith("misc/")]
    assert all(s.mode != "full" for s in big)
    outline = next(s for s in others if s.mode == "outline")
    assert LINE_MARK in outline.text
    assert all(not row.startswith(" ") for row in outline.text.splitlines())


def test_zero_budget_sends_nothing_but_keeps_the_current_file_last(engine: ContextEngine) -> None:
    manifest = engine.pack(ContextRequest("shop/service.py", line=5, budget=0))
    assert manifest.tokens == 0
    assert [s.path for s in manifest.items] == ["shop/service.py"]
    assert manifest.items[0].text == ""


def test_huge_budget_sends_every_file_whole(engine: ContextEngine, shop: Index) -> None:
    request = ContextRequest("shop/service.py", line=5, task="chat", budget=1_000_000)
    manifest = engine.pack(request)
    assert sorted(s.path for s in manifest.items) == shop.paths()
    assert all(s.mode == "full" for s in manifest.items)
    assert manifest.items[-1].path == "shop/service.py"
    for span in manifest.items:
        entry = shop.get(span.path)
        assert entry is not None
        assert (span.start_line, span.end_line) == (1, max(1, entry.line_count))


def test_chat_without_a_file_ranks_by_the_question(engine: ContextEngine) -> None:
    request = ContextRequest(
        None, task="chat", query="How does `adler_rolling_checksum` work?", budget=300
    )
    manifest = engine.pack(request)
    assert manifest.items
    best = max(manifest.items, key=lambda s: s.score)
    assert best.path == "shop/checksum.py"
    assert manifest.items[-1].path == "shop/checksum.py"  # most relevant last


def test_current_file_too_big_becomes_a_window_around_the_cursor(engine: ContextEngine) -> None:
    line = 30
    manifest = engine.pack(ContextRequest("misc/filler_1.py", line=line, budget=250))
    current = manifest.items[-1]
    assert current.mode == "snippet"
    assert current.start_line <= line <= current.end_line
    assert current.reason == "current file (window around the cursor)"


# --------------------------------------------------------------------------- secrets


def test_planted_secrets_never_appear(engine: ContextEngine) -> None:
    requests = [
        ContextRequest("config.py", line=1, task="chat", budget=1_000_000),
        ContextRequest("shop/service.py", line=3, task="chat", query="AWS keys", budget=900),
        ContextRequest(None, task="chat", query="DB_PASSWORD AWS_ACCESS_KEY_ID", budget=400),
    ]
    seen_config = False
    for request in requests:
        manifest = engine.pack(request)
        text = json.dumps(manifest.to_json(include_text=True))
        assert AWS_KEY not in text
        assert DB_PASSWORD not in text
        for span in manifest.items:
            if span.path == "config.py":
                seen_config = True
                assert "[REDACTED:" in span.text
    assert seen_config


def test_secret_in_unsaved_current_text_is_redacted(engine: ContextEngine) -> None:
    live = SERVICE + f'\nTOKEN_KEY = "{AWS_KEY}"\n'
    manifest = engine.pack(
        ContextRequest("shop/service.py", line=2, budget=2000, current_text=live)
    )
    assert AWS_KEY not in manifest.items[-1].text
    assert "[REDACTED:aws-access-key]" in manifest.items[-1].text


# --------------------------------------------------------------------------- determinism


def test_same_inputs_give_byte_identical_manifests(shop: Index, counter: TokenCounter) -> None:
    request = ContextRequest(
        "shop/service.py",
        line=5,
        column=10,
        task="explain",
        selection=(4, 6),
        open_paths=("shop/report.py",),
        budget=1200,
    )
    first, second = ContextEngine(shop, counter=counter), ContextEngine(shop, counter=counter)
    dumps = {
        json.dumps(engine.pack(request).to_json(include_text=True), sort_keys=True)
        for engine in (first, second, first)
    }
    assert len(dumps) == 1


def test_prefix_is_stable_while_typing(fresh: Index, counter: TokenCounter) -> None:
    engine = ContextEngine(fresh, counter=counter)
    path = "shop/service.py"
    lines = SERVICE.splitlines(keepends=True)
    at = _line_of(SERVICE, "return [f")  # type below the accounts line, on a new line
    typed = '    message = "hello world, greetings"'
    prefixes = []
    for n in range(len(typed) + 1):
        live = "".join([*lines[: at - 1], typed[:n] + "\n", *lines[at - 1 :]])
        fresh.set_overlay(path, live)  # what the server does on didChange
        request = ContextRequest(path, line=at, column=n, budget=600, current_text=live)
        manifest = engine.pack(request)
        assert manifest.items[-1].path == path
        prefixes.append([(s.path, s.start_line, s.end_line, s.text) for s in manifest.items[:-1]])
    assert prefixes[0], "the prefix must not be empty"
    assert all(p == prefixes[0] for p in prefixes)


def test_repository_section_is_stable_across_cursor_moves(engine: ContextEngine) -> None:
    sections = set()
    for line in range(1, SERVICE.count("\n") + 1):
        manifest = engine.pack(ContextRequest("shop/service.py", line=line, budget=700))
        stable = manifest.items[: manifest.stable_items]
        assert stable
        sections.add(tuple((s.path, s.mode, s.text) for s in stable))
    assert len(sections) == 1


def test_concurrent_packs_and_warm_agree(fresh: Index, counter: TokenCounter) -> None:
    engine = ContextEngine(fresh, counter=counter)
    requests = [
        ContextRequest("shop/service.py", line=line, budget=budget, task=task)
        for line in (2, 5, 10)
        for budget in (150, 900)
        for task in ("complete", "explain")
    ]
    expected = [
        json.dumps(ContextEngine(fresh, counter=counter).pack(r).to_json()) for r in requests
    ]
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append([json.dumps(engine.pack(r).to_json()) for r in requests])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    threads.append(threading.Thread(target=engine.warm))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert engine.ready
    assert results == [expected] * 3


# --------------------------------------------------------------------------- overlays


def test_overlay_text_wins_over_disk(fresh: Index, counter: TokenCounter) -> None:
    engine = ContextEngine(fresh, counter=counter)
    fresh.set_overlay("shop/report.py", REPORT + "\n\ndef unsaved_marker_function():\n    pass\n")
    manifest = engine.pack(ContextRequest("shop/models.py", task="chat", budget=1_000_000))
    (report,) = _by_path(manifest, "shop/report.py")
    assert "unsaved_marker_function" in report.text
    fresh.clear_overlay("shop/report.py")
    manifest = engine.pack(ContextRequest("shop/models.py", task="chat", budget=1_000_000))
    assert "unsaved_marker_function" not in _by_path(manifest, "shop/report.py")[0].text


def test_current_text_wins_for_the_current_file(engine: ContextEngine) -> None:
    live = SERVICE.replace("hello", "bonjour")
    manifest = engine.pack(
        ContextRequest("shop/service.py", line=5, budget=5000, current_text=live)
    )
    assert "bonjour" in manifest.items[-1].text
    assert "hello" not in manifest.items[-1].text


def test_index_changes_are_picked_up(fresh: Index, counter: TokenCounter) -> None:
    engine = ContextEngine(fresh, counter=counter)
    engine.warm()
    root = fresh.root
    (root / "shop" / "extra.py").write_text(
        "def compute_shipping_quote(weight: float) -> float:\n    return weight * 2.5\n"
    )
    (root / "shop" / "report.py").unlink()
    fresh.update([root / "shop" / "extra.py", root / "shop" / "report.py"])
    manifest = engine.pack(
        ContextRequest(None, task="chat", query="compute_shipping_quote", budget=10**6)
    )
    paths = {s.path for s in manifest.items}
    assert "shop/extra.py" in paths
    assert "shop/report.py" not in paths
    assert manifest.index_version == fresh.version


# --------------------------------------------------------------------------- denial


def test_denied_current_file_raises(fresh: Index, counter: TokenCounter) -> None:
    (fresh.root / ".env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    engine = ContextEngine(fresh, counter=counter)
    with pytest.raises(ContextDenied) as caught:
        engine.pack(ContextRequest(".env", line=1))
    assert caught.value.reason == "secret"
    with pytest.raises(ContextDenied) as outside:
        engine.pack(ContextRequest("../elsewhere.py", line=1))
    assert outside.value.reason == "outside-root"


def test_ai_ignored_current_file_raises(fresh: Index, counter: TokenCounter) -> None:
    (fresh.root / ".aiignore").write_text("shop/report.py\n")
    fresh.update([fresh.root / ".aiignore"])
    engine = ContextEngine(fresh, counter=counter)
    with pytest.raises(ContextDenied):
        engine.pack(ContextRequest("shop/report.py", line=1))
    manifest = engine.pack(ContextRequest(None, task="chat", budget=10**6))
    assert "shop/report.py" not in {s.path for s in manifest.items}


def test_new_unsaved_file_is_packed(engine: ContextEngine) -> None:
    text = "from shop.models import load_accounts\n\nload_accounts('x')\n"
    manifest = engine.pack(
        ContextRequest("shop/new_module.py", line=3, column=20, budget=800, current_text=text)
    )
    assert manifest.items[-1].path == "shop/new_module.py"
    assert manifest.items[-1].text == text
    assert any(s.path == "shop/models.py" for s in manifest.items[:-1])


def test_bad_requests_are_rejected() -> None:
    with pytest.raises(ValueError, match="budget"):
        ContextRequest("a.py", budget=-1)
    with pytest.raises(ValueError, match="line"):
        ContextRequest("a.py", line=0)
    with pytest.raises(ValueError, match="selection"):
        ContextRequest("a.py", selection=(5, 2))
    with pytest.raises(ValueError, match="task"):
        ContextRequest("a.py", task="poem")  # type: ignore[arg-type]


def test_manifest_json_shape(engine: ContextEngine) -> None:
    manifest = engine.pack(ContextRequest("shop/service.py", line=5, budget=400))
    data = manifest.to_json()
    assert set(data) == {"task", "budget", "tokens", "stable_items", "items"}
    assert data["tokens"] == manifest.tokens
    items = data["items"]
    assert isinstance(items, list)
    assert set(items[0]) == {"path", "start_line", "end_line", "mode", "tokens", "reason", "score"}
    assert "text" in manifest.to_json(include_text=True)["items"][0]  # type: ignore[index]


def test_empty_workspace(tmp_path: Path, counter: TokenCounter) -> None:
    (tmp_path / "ws").mkdir()
    with Index(tmp_path / "ws", options=OPTIONS, cache_dir=tmp_path / "c", workers=1) as index:
        index.refresh()
        engine = ContextEngine(index, counter=counter)
        assert engine.pack(ContextRequest(None, task="chat", budget=1000)).items == ()
        manifest = engine.pack(
            ContextRequest("new.py", line=1, budget=100, current_text=textwrap.dedent("x = 1\n"))
        )
        assert [s.path for s in manifest.items] == ["new.py"]


# --------------------------------------------------------------------------- imported names


def _methods(prefix: str, count: int) -> str:
    """Bulk: ``count`` methods with distinct names (makes a class too big to send whole)."""
    return "".join(
        f"    def {prefix}_step_{i}(self, value: int) -> int:\n"
        f'        """Step {i} of the {prefix} pipeline."""\n'
        f"        total = value + {i}\n"
        f"        for k in range({i % 5 + 2}):\n"
        f"            total = total * {i + 2} - k\n"
        f"        return total\n\n"
        for i in range(count)
    )


LIB_INIT = """\
from .core import Command, helper as make_helper
from .fields import *
"""

LIB_CORE = f'''\
"""Commands."""


class Command:
    """A command with a name and many steps."""

    kind = "command"

    def __init__(self, name: str, *, retries: int = 3) -> None:
        self.name = name
        self.retries = retries

{_methods("command", 40)}

def helper(text: str) -> str:
    """Normalise ``text``."""
    return text.strip().lower()
'''

LIB_FIELDS = f'''\
"""Fields."""


class IntegerField:
    """An integer field."""

    def __init__(self, default: int = 0) -> None:
        self.default = default


class _Private:
    pass


{_filler(9)}
'''

APP = """\
import lib
from lib import make_helper


def run(name):
    cmd = lib.Command(name)
    size = lib.IntegerField(3)
    for step in range(3):
        print(step)

    value =\x20
    return cmd, size, value
"""
APP_CURSOR = _line_of(APP, "value = ")

LIB_FILES = {
    "lib/__init__.py": LIB_INIT,
    "lib/core.py": LIB_CORE,
    "lib/fields.py": LIB_FIELDS,
    "app/run.py": APP,
    **{f"misc/filler_{i}.py": _filler(i) for i in range(6)},
}


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    root = tmp_path_factory.mktemp("lib")
    _write_tree(root / "ws", LIB_FILES)
    index = Index(root / "ws", options=OPTIONS, cache_dir=root / "cache", workers=1)
    index.refresh()
    yield index
    index.close()


def _app_request(budget: int, text: str = APP) -> ContextRequest:
    return ContextRequest(
        "app/run.py", line=APP_CURSOR, column=12, budget=budget, current_text=text
    )


def _covering(manifest: Manifest, path: str, line: int) -> list[Span]:
    return [s for s in manifest.items if s.path == path and s.start_line <= line <= s.end_line]


def test_imported_names_are_followed_through_reexports(lib: Index, counter: TokenCounter) -> None:
    engine = ContextEngine(lib, counter=counter)
    manifest = engine.pack(_app_request(2500))
    _check_invariants(manifest, _app_request(2500), lib)
    # `lib.IntegerField` through `from .fields import *`, the unused `make_helper` through
    # `from .core import helper as make_helper`: their definitions, sent as snippets.
    field_line = _line_of(LIB_FIELDS, "class IntegerField")
    field = [s for s in _covering(manifest, "lib/fields.py", field_line) if s.mode != "outline"]
    assert field and "`lib.IntegerField` imported by current file" in field[0].reason
    helper_line = _line_of(LIB_CORE, "def helper")
    helper = [s for s in _covering(manifest, "lib/core.py", helper_line) if s.mode == "snippet"]
    assert helper and helper[0].text.startswith("def helper(text: str) -> str:")
    assert "`make_helper` imported by current file" in helper[0].reason


def test_a_big_imported_class_is_sent_through_its_constructor(
    lib: Index, counter: TokenCounter
) -> None:
    engine = ContextEngine(lib, counter=counter)
    manifest = engine.pack(_app_request(1500))
    class_line = _line_of(LIB_CORE, "class Command")
    spans = [s for s in _covering(manifest, "lib/core.py", class_line) if s.mode == "snippet"]
    assert spans, [(s.path, s.mode, s.reason) for s in manifest.items]
    assert "through the constructor" in spans[0].reason
    assert "def __init__(self, name: str, *, retries: int = 3)" in spans[0].text
    assert "command_step_39" not in spans[0].text


def test_defining_modules_of_named_imports_rank_as_imported(
    lib: Index, counter: TokenCounter
) -> None:
    """`from lib import make_helper` makes lib/core.py (where it is defined) an import."""
    engine = ContextEngine(lib, counter=counter)
    manifest = engine.pack(_app_request(1500))
    stable = manifest.items[: manifest.stable_items]
    assert any(s.path == "lib/core.py" and s.reason == "imported by current file" for s in stable)


def test_the_budget_is_filled(lib: Index, counter: TokenCounter) -> None:
    engine = ContextEngine(lib, counter=counter)
    total = _total_tokens(engine)
    for budget in (1500, 3000, total * 2 // 3):
        manifest = engine.pack(_app_request(budget))
        assert budget * 0.9 <= manifest.tokens <= budget, (budget, manifest.tokens)


def test_imported_definitions_follow_edits_of_the_defining_module(
    tmp_path: Path, counter: TokenCounter
) -> None:
    _write_tree(tmp_path / "ws", LIB_FILES)
    with Index(tmp_path / "ws", options=OPTIONS, cache_dir=tmp_path / "c", workers=1) as index:
        index.refresh()
        engine = ContextEngine(index, counter=counter)
        engine.pack(_app_request(2500))
        moved = LIB_FIELDS.replace('"""Fields."""\n', '"""Fields."""\n\n\n# Moved down.\n')
        index.set_overlay("lib/fields.py", moved)
        after = engine.pack(_app_request(2500))
        line = _line_of(moved, "class IntegerField")
        assert [s for s in _covering(after, "lib/fields.py", line) if s.mode != "outline"]
        fresh = ContextEngine(index, counter=counter).pack(_app_request(2500))
        assert after.to_json(include_text=True) == fresh.to_json(include_text=True)


def test_history_of_keystrokes_does_not_change_the_manifest(
    lib: Index, counter: TokenCounter
) -> None:
    engine = ContextEngine(lib, counter=counter)
    typed = "make_helper(name)"
    lines = APP.split("\n")
    for n in range(len(typed) + 1):
        lines[APP_CURSOR - 1] = "    value = " + typed[:n]
        text = "\n".join(lines)
        request = ContextRequest(
            "app/run.py", line=APP_CURSOR, column=12 + n, budget=1500, current_text=text
        )
        seen = engine.pack(request)
    fresh = ContextEngine(lib, counter=counter).pack(request)
    assert seen.to_json(include_text=True) == fresh.to_json(include_text=True)


def test_memoised_keystrokes_match_a_fresh_engine_at_every_step(
    tmp_path: Path, counter: TokenCounter
) -> None:
    """What the engine memoises between requests (graph rank, BM25 hits, stable scores,
    repository section, name lookups, line chains) never shows in a manifest: typing,
    while the current file's overlay and another file change, gives at every keystroke
    what a fresh engine gives."""
    _write_tree(tmp_path / "ws", LIB_FILES)
    # Another file starts to define and use the names around the cursor, then stops.
    namesake = _filler(1) + (
        "\n\ndef cmd(name):\n"
        "    size = lib.IntegerField(name)\n"
        "    for step in range(3):\n"
        "        print(step, size)\n"
        "    return lib.Command(name)\n\n\n"
        "class IntegerField:\n"
        '    """Another integer field."""\n'
    )
    with Index(tmp_path / "ws", options=OPTIONS, cache_dir=tmp_path / "c", workers=1) as index:
        index.refresh()
        engine = ContextEngine(index, counter=counter)
        typed = "make_helper(name)"
        lines = APP.split("\n")
        for n in range(len(typed) + 1):
            lines[APP_CURSOR - 1] = "    value = " + typed[:n]
            text = "\n".join(lines)
            if n % 4 == 0:
                index.set_overlay("app/run.py", text)
            if n == 5:
                index.set_overlay("misc/filler_1.py", namesake)
            if n == 9:
                # A new default value: the same names, so the graph does not move.
                edited = LIB_CORE.replace("def helper(text: str)", 'def helper(text: str = "")')
                index.set_overlay("lib/core.py", edited)
            if n == 11:
                index.clear_overlay("misc/filler_1.py")
            request = ContextRequest(
                "app/run.py",
                line=APP_CURSOR,
                column=12 + n,
                budget=1500,
                current_text=text,
                open_paths=("lib/core.py",),
            )
            seen = engine.pack(request).to_json(include_text=True)
            fresh = ContextEngine(index, counter=counter).pack(request)
            assert seen == fresh.to_json(include_text=True), n


def test_sync_applies_an_index_change_before_the_next_pack(
    fresh: Index, counter: TokenCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server calls ``sync`` right after setting an overlay (off the request path):
    the next pack then has nothing left to re-derive."""
    from minimax_lsp.indexer import context_workspace

    engine = ContextEngine(fresh, counter=counter, background=True)
    engine.warm()
    applied: list[int] = []
    real = context_workspace.WorkspaceCache.apply

    def counting(self: context_workspace.WorkspaceCache, plan: object) -> None:
        applied.append(1)
        real(self, plan)  # type: ignore[arg-type]

    monkeypatch.setattr(context_workspace.WorkspaceCache, "apply", counting)
    fresh.set_overlay("shop/report.py", REPORT + "\n\ndef unsaved_marker_function():\n    pass\n")
    engine.sync()
    assert applied == [1]
    manifest = engine.pack(ContextRequest("shop/models.py", task="chat", budget=1_000_000))
    assert applied == [1]
    assert "unsaved_marker_function" in _by_path(manifest, "shop/report.py")[0].text


def test_typing_parses_once_per_edited_line(
    lib: Index, counter: TokenCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Completion on an unsaved buffer reads the parse of the text without the cursor
    line: the keystrokes on one line share it."""
    from minimax_lsp.indexer import parse

    calls: list[int] = []
    real = parse.extract

    def counting(source: bytes, language: str | None) -> object:
        calls.append(len(source))
        return real(source, language)

    monkeypatch.setattr(parse, "extract", counting)
    engine = ContextEngine(lib, counter=counter)
    engine.warm()
    lines = APP.split("\n")
    for n, text in enumerate(["m", "ma", "mak", "make", "make_"]):
        lines[APP_CURSOR - 1] = "    value = " + text
        engine.pack(
            ContextRequest(
                "app/run.py",
                line=APP_CURSOR,
                column=12 + n,
                budget=1500,
                current_text="\n".join(lines),
            )
        )
    assert len(calls) == 1
    engine.pack(ContextRequest("app/run.py", line=2, budget=1500, current_text="\n".join(lines)))
    assert len(calls) == 2  # another line: another parse


def test_namesakes_in_tests_rank_below_real_definitions(
    tmp_path: Path, counter: TokenCounter
) -> None:
    """The same function in a test file and in the library: code outside the tests that
    uses it (and imports neither) most likely means the library's."""
    policy = (
        "def retry_policy_for(name):\n"
        '    """How often to retry ``name``."""\n'
        "    return {'default': 3}.get(name, 1)\n\n\n"
    )
    files = {
        "lib/policy.py": policy + _filler(7),
        "tests/test_policy.py": policy + _filler(8),
        "app/main.py": "def go(name):\n    limit = retry_policy_for(name)\n    return limit\n",
        **{f"misc/filler_{i}.py": _filler(i) for i in range(3)},
    }
    _write_tree(tmp_path / "ws", files)
    with Index(tmp_path / "ws", options=OPTIONS, cache_dir=tmp_path / "c", workers=1) as index:
        index.refresh()
        engine = ContextEngine(index, counter=counter)
        manifest = engine.pack(ContextRequest("app/main.py", line=3, column=4, budget=600))
        real = _covering(manifest, "lib/policy.py", 1)
        namesake = _covering(manifest, "tests/test_policy.py", 1)
        assert real and namesake  # both are sent, the library's ranked higher
        assert max(s.score for s in namesake) < max(s.score for s in real)


# --------------------------------------------------------------------------- background mode


def _gate(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> threading.Event:
    """Make ``owner.name`` wait for the returned event (a build step the test controls)."""
    gate = threading.Event()
    real = getattr(owner, name)

    def gated(*args: object, **kwargs: object) -> object:
        assert gate.wait(30), "the test never opened the gate"
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, gated)
    return gate


def _wait_ready(engine: ContextEngine, request: ContextRequest) -> Manifest:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        manifest = engine.pack(request)
        if not manifest.partial:
            return manifest
        time.sleep(0.01)
    raise AssertionError("the background work never finished")


def test_background_pack_does_not_wait_for_the_first_build(
    fresh: Index, counter: TokenCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the engine's first build runs, a pack answers at once with the current file
    and the files it imports, marked partial."""
    from minimax_lsp.indexer import context as context_module
    from minimax_lsp.indexer import context_workspace

    # The shop is tiny (built inline by the pack): pretend it is not, and hold the build.
    monkeypatch.setattr(context_module, "INLINE_BUILD_BYTES", 0)
    gate = _gate(monkeypatch, context_workspace.RepoGraph, "build")
    engine = ContextEngine(fresh, counter=counter, background=True)
    request = ContextRequest("shop/service.py", line=5, budget=700)
    try:
        started = time.monotonic()
        manifest = engine.pack(request)
        assert time.monotonic() - started < 2.0
        assert manifest.partial == context_module.PARTIAL_BUILDING
        assert "partial" in manifest.to_json()
        assert not engine.ready
        _check_invariants(manifest, request, fresh)
        assert manifest.items[-1].path == "shop/service.py"
        others = {s.path for s in manifest.items[:-1]}
        assert "shop/models.py" in others  # imported by the current file
        assert others <= {"shop/models.py", "shop/__init__.py"}  # nothing else is known
    finally:
        gate.set()
    full = _wait_ready(engine, request)
    assert engine.ready
    assert "partial" not in full.to_json()
    expected = ContextEngine(fresh, counter=counter).pack(request)
    assert full.to_json(include_text=True) == expected.to_json(include_text=True)


def test_background_pack_serves_the_previous_structures_during_a_large_update(
    fresh: Index, counter: TokenCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minimax_lsp.indexer import context as context_module
    from minimax_lsp.indexer import context_workspace

    monkeypatch.setattr(context_module, "INLINE_BUILD_BYTES", 0)
    monkeypatch.setattr(context_module, "INLINE_SYNC_FILES", 1)
    engine = ContextEngine(fresh, counter=counter, background=True)
    engine.warm()
    request = ContextRequest(None, task="chat", query="compute_shipping_quote", budget=10**6)
    before = engine.pack(request)
    assert not before.partial
    gate = _gate(monkeypatch, context_workspace.WorkspaceCache, "prepare")
    root = fresh.root
    (root / "shop" / "extra.py").write_text(
        "def compute_shipping_quote(weight: float) -> float:\n    return weight * 2.5\n"
    )
    (root / "shop" / "report.py").unlink()
    fresh.update([root / "shop" / "extra.py", root / "shop" / "report.py"])
    try:
        started = time.monotonic()
        during = engine.pack(request)
        assert time.monotonic() - started < 2.0
        assert during.partial == context_module.PARTIAL_UPDATING
        assert during.index_version == before.index_version
        assert "shop/extra.py" not in {s.path for s in during.items}
    finally:
        gate.set()
    after = _wait_ready(engine, request)
    paths = {s.path for s in after.items}
    assert "shop/extra.py" in paths
    assert "shop/report.py" not in paths
    assert after.index_version == fresh.version
    expected = ContextEngine(fresh, counter=counter).pack(request)
    assert after.to_json(include_text=True) == expected.to_json(include_text=True)


def test_background_small_updates_are_applied_by_the_pack(
    fresh: Index, counter: TokenCounter
) -> None:
    """An edit of a few files is in the very next manifest (no background round trip)."""
    engine = ContextEngine(fresh, counter=counter, background=True)
    engine.warm()
    fresh.set_overlay("shop/report.py", REPORT + "\n\ndef unsaved_marker_function():\n    pass\n")
    manifest = engine.pack(ContextRequest("shop/models.py", task="chat", budget=1_000_000))
    assert not manifest.partial
    (report,) = _by_path(manifest, "shop/report.py")
    assert "unsaved_marker_function" in report.text


def test_a_failed_background_build_is_not_retried_until_the_index_changes(
    fresh: Index, counter: TokenCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minimax_lsp.indexer import context as context_module
    from minimax_lsp.indexer import context_workspace

    monkeypatch.setattr(context_module, "INLINE_BUILD_BYTES", 0)
    calls: list[int] = []

    def broken(*args: object, **kwargs: object) -> object:
        calls.append(1)
        raise RuntimeError("simulated build failure")

    monkeypatch.setattr(context_workspace.RepoGraph, "build", broken)
    engine = ContextEngine(fresh, counter=counter, background=True)
    request = ContextRequest("shop/service.py", line=5, budget=700)
    for _ in range(5):
        manifest = engine.pack(request)
        assert manifest.partial == context_module.PARTIAL_BUILDING
        assert manifest.items[-1].path == "shop/service.py"
        time.sleep(0.05)
    assert len(calls) == 1


def test_close_stops_the_background_build(
    fresh: Index, counter: TokenCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutting down must not wait for (nor compete with) a build: close() stops it at
    its next file, and starts none again; packs still answer."""
    from minimax_lsp.indexer import context as context_module
    from minimax_lsp.indexer import context_workspace

    monkeypatch.setattr(context_module, "INLINE_BUILD_BYTES", 0)
    builds: list[int] = []
    real = context_workspace.RepoGraph.build
    gate, entered = threading.Event(), threading.Event()

    def gated(*args: object, **kwargs: object) -> object:
        builds.append(1)
        entered.set()
        assert gate.wait(30)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(context_workspace.RepoGraph, "build", gated)
    engine = ContextEngine(fresh, counter=counter, background=True)
    request = ContextRequest("shop/service.py", line=5, budget=700)
    assert engine.pack(request).partial
    assert entered.wait(10)  # the build is under way
    engine.close()
    gate.set()
    warm = threading.Thread(target=engine.warm)  # waits for the stopped job, builds nothing
    warm.start()
    warm.join(10)
    assert not warm.is_alive()
    manifest = engine.pack(request)
    assert manifest.partial and manifest.items[-1].path == "shop/service.py"
    assert not engine.ready
    assert builds == [1]


# --------------------------------------------------------------------------- oversized buffers


def _big_module(lines: int) -> str:
    out = ["from shop.models import UserAccount, load_accounts\n"]
    out += [f"VALUE_{n} = load_accounts('accounts_{n}.txt')\n" for n in range(1, lines)]
    return "".join(out)


def test_an_oversized_live_text_is_read_through_a_window(
    tmp_path: Path, counter: TokenCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A buffer over maxFileBytes is never parsed (nor counted) whole: the cursor's
    surroundings are sent, in the file's own line numbers, with the usual context."""
    from minimax_lsp.indexer import parse

    _write_tree(tmp_path / "ws", FILES)
    options = ScanOptions(use_git=False, max_file_bytes=20_000)
    with Index(tmp_path / "ws", options=options, cache_dir=tmp_path / "c", workers=1) as index:
        index.refresh()
        engine = ContextEngine(index, counter=counter)
        engine.warm()
        parsed: list[int] = []
        real = parse.extract

        def recording(source: bytes, language: str | None) -> object:
            parsed.append(len(source))
            return real(source, language)

        monkeypatch.setattr(parse, "extract", recording)
        text = _big_module(20_000)  # ~1 MB, 50x the limit
        lines = text.splitlines(keepends=True)
        for task, line in (("complete", 12_345), ("explain", 19_000), ("complete", 3)):
            selection = (line, line + 2) if task == "explain" else None
            request = ContextRequest(
                "shop/big.py",
                line=line,
                task=task,
                selection=selection,
                budget=3000,
                current_text=text,
            )
            started = time.monotonic()
            manifest = engine.pack(request)
            assert time.monotonic() - started < 2.0
            current = manifest.items[-1]
            assert current.path == "shop/big.py" and current.mode == "snippet"
            assert current.reason.startswith("current file")
            assert current.start_line <= line <= current.end_line
            assert current.text == "".join(lines[current.start_line - 1 : current.end_line])
            assert manifest.tokens <= request.budget
            # The definition the window uses is found as for any file.
            assert any(s.path == "shop/models.py" for s in manifest.items[:-1])
        assert parsed and max(parsed) <= 2 * 20_000


def test_an_oversized_single_line_is_denied(fresh: Index, counter: TokenCounter) -> None:
    engine = ContextEngine(fresh, counter=counter)
    minified = "var x=" + "1+" * (fresh.options.max_file_bytes // 2) + "1;\n"
    with pytest.raises(ContextDenied) as denied:
        engine.pack(ContextRequest("shop/bundle.js", line=1, current_text=minified))
    assert denied.value.reason == SkipReason.TOO_LARGE.value


def test_unindexed_files_are_read_within_the_limit(tmp_path: Path, counter: TokenCounter) -> None:
    """A file the index does not hold is read only if regular, and never more than it
    holds: a huge maxFileBytes is not an allocation size."""
    root = tmp_path / "ws"
    root.mkdir()
    options = ScanOptions(use_git=False, max_file_bytes=10**12)
    with Index(root, options=options, cache_dir=tmp_path / "c", workers=1) as index:
        index.refresh()
        engine = ContextEngine(index, counter=counter)
        (root / "late.py").write_text("def late_arrival():\n    return 1\n")
        manifest = engine.pack(ContextRequest("late.py", line=2, budget=500))
        assert "def late_arrival" in manifest.items[-1].text
        os.mkfifo(root / "pipe.py")
        with pytest.raises(ContextDenied):
            engine.pack(ContextRequest("pipe.py", line=1, budget=500))


def test_the_single_buffer_manifest_of_a_huge_buffer_is_bounded(counter: TokenCounter) -> None:
    """The no-workspace fallback never redacts or counts a huge buffer whole."""
    from minimax_lsp.server.workspaces import single_file_manifest

    text = _big_module(100_000)  # ~5 MB
    started = time.monotonic()
    manifest = single_file_manifest(
        "big.py", text, line=54_321, task="complete", budget=2000, counter=counter
    )
    assert time.monotonic() - started < 2.0
    (span,) = manifest.items
    assert span.start_line <= 54_321 <= span.end_line
    lines = text.splitlines(keepends=True)
    assert span.text == "".join(lines[span.start_line - 1 : span.end_line])
    assert 0 < manifest.tokens <= 2000
    one_line = single_file_manifest(
        "min.js", "x" * 3_000_000, line=1, task="complete", budget=2000, counter=counter
    )
    assert one_line.items == ()
