"""Pure helpers of the context engine: signal fusion, quantisation, identifiers, outlines."""

from __future__ import annotations

import math

import pytest

from minimax_lsp.indexer.outline import (
    LINE_MARK,
    SourceText,
    constructor,
    enclosing_definition,
    header_range,
    outline_definitions,
    render_outline,
)
from minimax_lsp.indexer.parse import extract
from minimax_lsp.indexer.rank import (
    REGION_BUCKET_LINES,
    REGION_MAX_LINES,
    SIGNALS,
    STABLE_WEIGHTS,
    STAR,
    TASK_WEIGHTS,
    UNUSED_IMPORT_VALUE,
    ImportBinding,
    Weights,
    code_words,
    dominant_signal,
    focus_region,
    fuse,
    identifier_chains,
    import_bindings,
    imported_name_value,
    is_test_path,
    match_weight,
    name_information,
    normalised,
    personalization,
    proximity_weight,
    quantise,
    recency_scores,
    split_chain,
    text_identifiers,
    use_proximity,
)
from minimax_lsp.indexer.records import Definition

# --------------------------------------------------------------------------- fusion


def test_normalised_divides_by_the_maximum_and_drops_non_positive() -> None:
    assert normalised({"b": 2.0, "a": 4.0, "c": 0.0, "d": -1.0}) == {"a": 1.0, "b": 0.5}
    assert normalised({}) == {}
    assert normalised({"x": float("nan")}) == {}


def test_fuse_is_the_weighted_sum() -> None:
    weights = Weights(imports=3.0, lexical=2.0)
    signals = {"imports": {"a": 1.0}, "lexical": {"a": 0.5, "b": 1.0}, "graph": {"c": 1.0}}
    assert fuse(signals, weights) == {"a": 4.0, "b": 2.0}


def test_every_task_weighs_every_signal_name() -> None:
    for weights in (*TASK_WEIGHTS.values(), STABLE_WEIGHTS):
        assert list(weights.as_dict()) == list(SIGNALS)
    assert TASK_WEIGHTS["complete"].of("callers") == 0.0
    assert TASK_WEIGHTS["explain"].of("callers") > 0.0
    # The stable section of completion ignores every cursor-dependent signal.
    for name in ("definitions", "lexical", "callers"):
        assert STABLE_WEIGHTS.of(name) == 0.0


def test_dominant_signal_picks_the_largest_contribution() -> None:
    weights = Weights(imports=3.0, graph=2.0)
    signals = {"imports": {"a": 0.5}, "graph": {"a": 1.0, "b": 0.2}}
    assert dominant_signal("a", signals, weights) == "graph"
    assert dominant_signal("b", signals, weights) == "graph"
    assert dominant_signal("z", signals, weights) is None


def test_quantise_bins_by_quarter_octaves() -> None:
    assert quantise(0.0) == 0.0
    assert quantise(-1.0) == 0.0
    assert quantise(1.0) == 1.0
    assert quantise(1.05) == quantise(1.1) == 1.0  # same bin: ties, broken by path
    assert quantise(1.25) > 1.0
    for value in (0.01, 0.3, 1.7, 42.0):
        q = quantise(value)
        assert q <= value < q * 2**0.25 * (1 + 1e-12)


def test_recency_and_personalization() -> None:
    # b: open at position 1 (1/2) but also the most recent edit (0.6): the larger wins.
    assert recency_scores(("a", "b"), ("b", "c")) == {"a": 1.0, "b": 0.6, "c": 0.3}
    seed = personalization("cur", ("a",), ("a", "r"), {"m": 0.25})
    assert seed == {"a": 0.5, "cur": 1.0, "m": 0.25, "r": 0.15}
    assert personalization(None, (), ()) == {}


# --------------------------------------------------------------------------- identifiers


def test_name_information_prefers_descriptive_rare_names() -> None:
    assert name_information("load_user_accounts", 1) == pytest.approx(1.0)
    assert name_information("load_user_accounts", 1) > name_information("Index", 1)
    assert name_information("Index", 1) > name_information("Index", 10)
    assert name_information("_private_helper", 1) < name_information("public_helper", 1)
    assert name_information("x", 1) < 0.11
    assert name_information("everywhere_defined", 500) == 0.0


def test_proximity_weight_steps() -> None:
    assert proximity_weight(0) == 1.0
    assert proximity_weight(-2) == proximity_weight(3) == 0.8
    assert proximity_weight(10) == 0.6
    assert proximity_weight(50) == 0.4


def test_match_weight_demotes_lesser_tiers_and_variables() -> None:
    best = match_weight("imported", "imported", True, "function")
    assert best == 1.0
    assert match_weight("workspace", "imported", True, "function") == pytest.approx(0.4 * 0.15)
    assert match_weight("imported", "imported", False, "function") == pytest.approx(0.15)
    assert match_weight("imported", "imported", True, "variable") == pytest.approx(0.5)
    assert match_weight("same-directory", "same-directory", True, "class") == pytest.approx(0.7)


def test_split_chain_drops_self_like_receivers() -> None:
    assert split_chain("self.index.refresh") == ("index", "refresh")
    assert split_chain("this.x") == ("x",)
    assert split_chain("models.CharField") == ("models", "CharField")
    assert split_chain("self") == ()


def test_identifier_chains_skip_the_identifier_being_typed() -> None:
    lines = ["result = load_accounts(path)", "    acc = make_acc"]

    def line(n: int) -> str:
        return lines[n - 1]

    chains = identifier_chains(line, 1, 2, cursor_line=2, cursor_column=len(lines[1]))
    assert "make_acc" not in chains  # half-typed, under the cursor
    assert {"result", "load_accounts", "path", "acc"} <= set(chains)
    # The cursor before an identifier is not typing it.
    chains = identifier_chains(line, 2, 2, cursor_line=2, cursor_column=4)
    assert "acc" in chains


def test_identifier_chains_weights_keywords_and_limit() -> None:
    lines = ["for item in self.items.values(): return item", "other_name"]

    def weight(n: int) -> float:
        return 1.0 if n == 2 else 0.5

    chains = identifier_chains(lambda n: lines[n - 1], 1, 2, weight_of=weight)
    assert chains["items.values"] == 0.5
    assert chains["other_name"] == 1.0
    assert "for" not in chains and "return" not in chains and "in" not in chains
    assert list(chains) == sorted(chains)
    limited = identifier_chains(lambda n: lines[n - 1], 1, 2, limit=2)
    assert len(limited) == 2


def test_identifier_chains_read_through_a_line_cache_the_same() -> None:
    """The engine keeps each line's chains between keystrokes: same answer, and the
    cache is emptied (not grown) past its size."""
    from minimax_lsp.indexer.rank import LINE_CACHE_SIZE, line_chains

    lines = ["for item in self.items.values(): return item", "    acc = make_acc(x.y)", ""]

    def line(n: int) -> str:
        return lines[n - 1]

    cache: dict[str, tuple[tuple[str, int, int], ...]] = {}
    for column in (0, 4, 10, len(lines[1])):
        plain = identifier_chains(line, 1, 3, cursor_line=2, cursor_column=column)
        cached = identifier_chains(
            line, 1, 3, cursor_line=2, cursor_column=column, line_cache=cache
        )
        assert cached == plain
    assert cache[lines[1]] == line_chains(lines[1])
    assert ("make_acc", 10, 18) in cache[lines[1]]
    cache.update({f"filler {i}": () for i in range(LINE_CACHE_SIZE)})
    lines[0] = "a_line_not_seen_yet = 1"
    identifier_chains(line, 1, 1, line_cache=cache)
    assert list(cache) == [lines[0]]


def test_text_identifiers_of_a_question() -> None:
    found = text_identifiers("How does `Index.refresh` call parse_file?\nAnd the store")
    assert {"Index.refresh", "parse_file", "store"} <= set(found)
    assert all(weight == 1.0 for weight in found.values())


# --------------------------------------------------------------------------- regions


def _def(name: str, start: int, end: int, kind: str = "function", scope: str = "") -> Definition:
    return Definition(name, kind, start, end, f"def {name}():", scope)


def test_focus_region_is_the_enclosing_definition_when_small() -> None:
    defs = [_def("outer", 10, 40), _def("inner", 20, 30, scope="outer")]
    assert focus_region(defs, 25, 500) == (20, 30)
    assert focus_region(defs, 12, 500) == (10, 40)
    assert focus_region(defs, 25, 500, selection=(3, 7)) == (3, 7)
    assert focus_region(defs, 25, 500, selection=(490, 900)) == (490, 500)
    assert focus_region([], 1, 0) == (1, 0)


def test_focus_region_buckets_long_code_and_is_stable_within_a_bucket() -> None:
    huge = [_def("giant", 1, 1000)]
    region = focus_region(huge, 100, 1000)
    assert region[1] - region[0] + 1 <= 2 * REGION_BUCKET_LINES
    bucket_start = (100 - 1) // REGION_BUCKET_LINES * REGION_BUCKET_LINES + 1
    same_bucket = range(bucket_start, bucket_start + REGION_BUCKET_LINES)
    assert {focus_region(huge, line, 1000) for line in same_bucket} == {region}
    assert region[0] <= 100 <= region[1]
    assert REGION_MAX_LINES >= REGION_BUCKET_LINES
    # Outside any definition: the bucket, clamped to the file.
    assert focus_region([], 3, 10) == (1, 10)


# --------------------------------------------------------------------------- outlines

PYTHON = b'''\
import os


@decorator
def build(
    first: int,
    second: str = "x",
) -> None:
    """Doc."""
    def helper():
        pass
    return None


class Store:
    """A store."""

    LIMIT = 10

    def save(self, item):
        local = item
        return local
'''


def test_source_text_cuts_lines_exactly() -> None:
    source = SourceText("a\nbb\n\nccc")
    assert source.line_count == 4
    assert source.lines(2, 3) == "bb\n\n"
    assert source.lines(4, 9) == "ccc"
    assert source.lines(0, 1) == "a\n"
    assert source.line(2) == "bb"
    assert source.line(9) == ""
    assert source.line_length(2) == 3
    assert source.char_count(1, 4) == len("a\nbb\n\nccc")
    assert SourceText("").line_count == 0
    assert SourceText("").lines(1, 1) == ""
    assert SourceText("x\n").line_count == 1


def test_outline_shows_headers_with_line_numbers() -> None:
    symbols = extract(PYTHON, "python")
    source = SourceText(PYTHON.decode())
    shown = outline_definitions(symbols.definitions)
    names = [d.name for d in shown]
    assert "helper" not in names  # local to a function
    assert names[:2] == ["build", "Store"]
    text = render_outline(source, shown)
    rows = text.splitlines()
    numbers = [int(row.partition(LINE_MARK)[0]) for row in rows]
    assert numbers == sorted(set(numbers))
    lines = PYTHON.decode().splitlines()
    for row in rows:
        number, _, code = row.partition(LINE_MARK)
        assert code == lines[int(number) - 1].rstrip()
    # The multi-line signature is shown whole, decorator included.
    assert [n for n in numbers if n <= 8] == [4, 5, 6, 7, 8]
    store_line = lines.index("class Store:") + 1
    assert f"{store_line}{LINE_MARK}class Store:" in rows
    assert any(row.endswith("def save(self, item):") for row in rows)
    assert all("local = item" not in row for row in rows)


def test_outline_depth_and_ranges() -> None:
    symbols = extract(PYTHON, "python")
    source = SourceText(PYTHON.decode())
    top = outline_definitions(symbols.definitions, max_depth=0)
    assert {d.name for d in top} == {"build", "Store"}
    store = next(d for d in symbols.definitions if d.name == "Store")
    members = render_outline(
        source, outline_definitions(symbols.definitions), store.start_line, store.end_line
    )
    assert members.splitlines()[0] == f"{store.start_line}{LINE_MARK}class Store:"
    assert "LIMIT = 10" in members and "def save(self, item):" in members
    assert "build" not in members
    assert render_outline(source, []) == ""
    assert header_range(source, store) == (store.start_line, store.start_line)


def test_enclosing_definition_is_the_innermost() -> None:
    defs = [_def("outer", 1, 50), _def("inner", 10, 20), _def("Klass", 5, 60, kind="class")]
    assert enclosing_definition(defs, 15) == defs[1]
    assert enclosing_definition(defs, 30) == defs[0]
    assert enclosing_definition(defs, 55) == defs[2]
    assert enclosing_definition(defs, 15, kinds=frozenset({"class"})) == defs[2]
    assert enclosing_definition(defs, 15, max_lines=5) is None
    assert enclosing_definition(defs, 99) is None


def test_weights_are_finite_and_non_negative() -> None:
    for weights in TASK_WEIGHTS.values():
        assert all(math.isfinite(w) and w >= 0 for w in weights.as_dict().values())


# --------------------------------------------------------------------------- imported names


def _bound(bindings: tuple[ImportBinding, ...]) -> list[tuple[str, str, str | None]]:
    return [(b.local, b.module, b.name) for b in bindings]


def test_python_import_bindings_cover_aliases_parentheses_and_stars() -> None:
    text = (
        "import os, sys as system\n"
        "import a.b.c\n"
        "from . import sibling\n"
        "from ..pkg.mod import (First,\n"
        "    Second as Alias,  # a comment\n"
        "    Third)\n"
        "from star import *\n"
        "def f():\n"
        "    from django.db import models\n"
        "from q import \\\n"
        "    r\n"
        "x = 'from nowhere import nothing'\n"
    )
    bindings = import_bindings(text, "python")
    assert _bound(bindings) == [
        ("os", "os", None),
        ("system", "sys", None),
        ("a", "a", None),
        ("sibling", ".", "sibling"),
        ("First", "..pkg.mod", "First"),
        ("Alias", "..pkg.mod", "Second"),
        ("Third", "..pkg.mod", "Third"),
        ("", "star", STAR),
        ("models", "django.db", "models"),
        ("r", "q", "r"),
    ]
    parenthesised = [b for b in bindings if b.module == "..pkg.mod"]
    assert {(b.start_line, b.end_line) for b in parenthesised} == {(4, 6)}
    assert [(b.start_line, b.end_line) for b in bindings if b.local == "r"] == [(10, 11)]


def test_javascript_import_bindings() -> None:
    text = (
        "import D, {A, B as C} from './m'\n"
        'import * as NS from "ns"\n'
        "export {E, F as G} from './e'\n"
        "export * from './all'\n"
        "export class K { run() { return 1 } }\n"
        "import type {T} from './t'\n"
        "const {P, Q: R} = require('./pq')\n"
        "const M = require('./mm')\n"
        "import {\n  X1,\n  X2,\n} from './xs'\n"
    )
    assert _bound(import_bindings(text, "typescript")) == [
        ("D", "./m", None),
        ("A", "./m", "A"),
        ("C", "./m", "B"),
        ("NS", "ns", None),
        ("E", "./e", "E"),
        ("G", "./e", "F"),
        ("", "./all", STAR),
        ("T", "./t", "T"),
        ("P", "./pq", "P"),
        ("R", "./pq", "Q"),
        ("M", "./mm", None),
        ("X1", "./xs", "X1"),
        ("X2", "./xs", "X2"),
    ]


def test_import_bindings_of_other_languages_and_hostile_text() -> None:
    assert import_bindings('import "fmt"\n', "go") == ()
    hostile = "from " + "a." * 5000 + " import (" + "x, " * 5000 + "\x00\n" + "import \n"
    bindings = import_bindings(hostile, "python")
    assert all(b.local.isidentifier() or b.name == STAR for b in bindings)
    assert import_bindings("import {", "javascript") == ()


def test_imported_name_value_prefers_near_and_not_yet_used_names() -> None:
    anchor = (50, 50)
    assert use_proximity([], anchor) == 0.0
    assert use_proximity([50], anchor) == 1.0
    assert use_proximity([40, 200], anchor) > use_proximity([30, 200], anchor) > 0
    assert use_proximity([45], (44, 60)) == 1.0  # inside a selection
    assert imported_name_value([], anchor, explicit=True) == UNUSED_IMPORT_VALUE
    assert imported_name_value([], anchor, explicit=False) == 0.0
    assert imported_name_value([52], anchor, explicit=True) > imported_name_value(
        [500], anchor, explicit=True
    )


def test_code_words_skip_strings_and_comments() -> None:
    assert code_words('    x = call(arg, "not these words") # nor these') == ["x", "call", "arg"]
    assert code_words("y = 'unterminated string") == ["y"]
    assert code_words("total += value // note") == ["total", "value"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_app.py", True),
        ("src/test_app.py", True),
        ("pkg/app_test.go", True),
        ("web/app.test.ts", True),
        ("web/app.spec.js", True),
        ("conftest.py", True),
        ("src/main/java/AppTest.java", True),
        ("testing/helpers.py", True),
        ("src/latest.py", False),
        ("src/_pytest/python.py", False),
        ("contest.py", False),
    ],
)
def test_is_test_path(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


def test_constructor_of_a_class() -> None:
    source = (
        "class Point:\n"
        "    def norm(self):\n"
        "        return 0\n"
        "    def __init__(self, x, y):\n"
        "        self.x = x\n"
        "class Bare:\n"
        "    def run(self):\n"
        "        pass\n"
    )
    defs = extract(source.encode(), "python").definitions
    point = next(d for d in defs if d.name == "Point")
    bare = next(d for d in defs if d.name == "Bare")
    init = constructor(defs, point)
    assert init is not None and (init.name, init.start_line) == ("__init__", 4)
    assert constructor(defs, bare) is None


def test_source_text_line_at_maps_offsets_to_lines() -> None:
    text = SourceText("ab\ncd\n\nef")
    assert [text.line_at(i) for i in range(len(text.text) + 2)] == [
        1, 1, 1, 2, 2, 2, 3, 4, 4, 4, 4,
    ]  # fmt: skip
    assert SourceText("").line_at(0) == 1
