"""Tests of `indexer.languages` and `indexer.parse`.

Golden files: ``golden/<dir>/`` holds one small source file and ``expected.json``
with the exact definitions (name, kind, lines, scope, signature) and imports, plus
hand-picked ``key_references`` that must be reported and ``absent_references`` (names
at their definition site) that must not. Regenerate the derived parts with::

    UPDATE_GOLDEN=1 python -m pytest tests/indexer/test_parse.py -k golden

then review the diff by hand: the expectations must be right, not just consistent.
The hand-picked reference lists are kept as they are.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from minimax_lsp.indexer.languages import (
    SUPPORTED_LANGUAGES,
    UnsupportedLanguageError,
    language_for_path,
    load_grammar,
    query_source,
)
from minimax_lsp.indexer.parse import (
    MAX_REFERENCES,
    MAX_SIGNATURE_CHARS,
    MAX_TEXT_REFERENCES,
    Extractor,
    extract,
)
from minimax_lsp.indexer.records import TEXT_LANGUAGE, FileSymbols, Reference

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_DIRS = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def _source_file(directory: Path) -> Path:
    sources = [p for p in directory.iterdir() if p.name != "expected.json"]
    assert len(sources) == 1, f"{directory} must hold exactly one source file"
    return sources[0]


def _derived(path: Path, symbols: FileSymbols) -> dict[str, Any]:
    return {
        "source": path.name,
        "language": symbols.language,
        "has_errors": symbols.has_errors,
        "definitions": [
            {
                "name": d.name,
                "kind": d.kind,
                "lines": [d.start_line, d.end_line],
                "scope": d.scope,
                "signature": d.signature,
            }
            for d in symbols.definitions
        ],
        "imports": list(symbols.imports),
    }


def _dump_golden(data: dict[str, Any]) -> str:
    """JSON with one definition, import or reference per line (reviewable diffs)."""
    lines = ["{"]
    for index, (key, value) in enumerate(data.items()):
        comma = "," if index < len(data) - 1 else ""
        if isinstance(value, list) and value:
            items = [json.dumps(item, ensure_ascii=False) for item in value]
            lines.append(f"  {json.dumps(key)}: [")
            lines.extend(f"    {item}," for item in items[:-1])
            lines.append(f"    {items[-1]}")
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    return "\n".join([*lines, "}"]) + "\n"


# ------------------------------------------------------------------------ golden


@pytest.mark.parametrize("directory", GOLDEN_DIRS)
def test_golden(directory: str) -> None:
    folder = GOLDEN / directory
    source = _source_file(folder)
    language = language_for_path(source.name)
    symbols = extract(source.read_bytes(), language)
    actual = _derived(source, symbols)
    expected_path = folder / "expected.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        kept = json.loads(expected_path.read_text()) if expected_path.exists() else {}
        actual["key_references"] = kept.get("key_references", [])
        actual["absent_references"] = kept.get("absent_references", [])
        expected_path.write_text(_dump_golden(actual))
    expected = json.loads(expected_path.read_text())
    for key in ("source", "language", "has_errors", "imports"):
        assert actual[key] == expected[key], key
    assert actual["definitions"] == expected["definitions"]
    references = {(r.name, r.line) for r in symbols.references}
    assert expected["key_references"], "pick a few key references by hand"
    missing = [ref for ref in map(tuple, expected["key_references"]) if ref not in references]
    assert missing == []
    wrong = [ref for ref in map(tuple, expected["absent_references"]) if ref in references]
    assert wrong == []


def test_every_language_has_a_golden_file() -> None:
    covered = {language_for_path(_source_file(GOLDEN / d).name) for d in GOLDEN_DIRS}
    assert covered == set(SUPPORTED_LANGUAGES)
    assert "jsx" in GOLDEN_DIRS  # JSX goes through the JavaScript grammar


# --------------------------------------------------------------------- languages


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("src/app.py", "python"),
        ("stubs/x.pyi", "python"),
        ("web/a.js", "javascript"),
        ("web/a.mjs", "javascript"),
        ("web/a.cjs", "javascript"),
        ("web/App.jsx", "javascript"),
        ("web/a.ts", "typescript"),
        ("types/index.d.ts", "typescript"),
        ("web/App.tsx", "tsx"),
        ("cmd/main.go", "go"),
        ("src/lib.rs", "rust"),
        ("src/Main.java", "java"),
        ("src/x.c", "c"),
        ("include/x.h", "cpp"),
        ("src/x.cpp", "cpp"),
        ("src/x.cc", "cpp"),
        ("src/x.hpp", "cpp"),
        ("src/Program.cs", "csharp"),
        ("lib/a.rb", "ruby"),
        ("Rakefile", "ruby"),
        ("Gemfile", "ruby"),
        ("pkg/x.gemspec", "ruby"),
        ("public/index.php", "php"),
        ("app/Main.kt", "kotlin"),
        ("build.gradle.kts", "kotlin"),
        ("Sources/App/main.swift", "swift"),
        ("src/Main.scala", "scala"),
        ("build.sbt", "scala"),
        ("lua/init.lua", "lua"),
        ("scripts/build.sh", "bash"),
        ("home/.bashrc", "bash"),
        ("SRC/UPPER.PY", "python"),
        ("win\\path\\x.go", "go"),
        ("README.md", None),
        ("Makefile", None),
        ("notes.txt", None),
        ("data.json", None),
        (".py", None),
        ("noext", None),
        ("dir.py/file", None),
        ("", None),
    ],
)
def test_language_for_path(path: str, language: str | None) -> None:
    assert language_for_path(path) == language


def test_supported_languages_load_lazily_and_unknown_ids_are_rejected() -> None:
    assert len(SUPPORTED_LANGUAGES) == 17
    assert load_grammar("python").name == "python"
    assert "@definition" in query_source("tsx")
    with pytest.raises(UnsupportedLanguageError):
        load_grammar("cobol")


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_query_loads_without_falling_back(language: str) -> None:
    # A grammar or query that fails to load gives `has_errors=True` (and a log line).
    assert extract(b"", language) == FileSymbols(language)
    assert query_source(language).isascii()


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_one_query_keeps_each_patterns_captures_apart(language: str) -> None:
    # The query file runs as one query whose structure captures are renamed after
    # their pattern, found without compiling: the split must be tree-sitter's.
    import re

    import tree_sitter as ts

    import minimax_lsp.indexer.parse as parse

    source = query_source(language)
    text, count = parse._number_captures(source.encode(), language)
    grammar = load_grammar(language)
    assert count == ts.Query(grammar, source).pattern_count
    renamed = ts.Query(grammar, text.decode())
    for index in range(count):
        span = text[renamed.start_byte_for_pattern(index) : renamed.end_byte_for_pattern(index)]
        names = set(re.findall(rb"@[\w.]+", re.sub(rb";[^\n]*", b"", span)))
        assert names == {b"@reference"} or all(n.endswith(b"__%d" % index) for n in names)


def test_captures_in_strings_and_comments_are_left_alone() -> None:
    import minimax_lsp.indexer.parse as parse

    query = (
        b'; "@x" (a)\n((identifier) @_x (#eq? @_x "@foo; \\"q")) ; @y\n(b) @name\n(c) @reference'
    )
    text, count = parse._number_captures(query, "test")
    assert count == 3
    assert text == (
        b'; "@x" (a)\n((identifier) @_x__0 (#eq? @_x__0 "@foo; \\"q")) ; @y\n'
        b"(b) @name__1\n(c) @reference"
    )


def test_broken_query_is_logged_and_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import minimax_lsp.indexer.parse as parse

    monkeypatch.setattr(parse, "query_source", lambda language: "(no_such_node) @reference")
    with caplog.at_level(logging.ERROR):
        symbols = Extractor().extract(b"def f(): pass\n", "python")
    assert symbols.language == "python" and symbols.has_errors
    assert [r.name for r in symbols.references] == ["def", "pass"]
    assert "cannot load the python grammar or query" in caplog.text


# ------------------------------------------------------------- text and garbage


def test_plain_text_has_no_symbols() -> None:
    # Lexical search reads plain text itself; words as references only cost space.
    text = b"Deploy the frontend\nthe api_server and Deploy again\n\n42 x y_ z\xff\xfeword\n"
    for language in (None, "markdown"):
        symbols = extract(text, language)
        assert symbols == FileSymbols(TEXT_LANGUAGE)
        assert symbols.references == ()


def test_unparsed_source_falls_back_to_words_per_line() -> None:
    text = b"Deploy the frontend\nthe api_server and Deploy again\n\n42 x y_ z\xff\xfeword\n"
    symbols = Extractor(max_parse_bytes=10).extract(text, "python")
    assert symbols.language == "python" and symbols.has_errors
    assert symbols.definitions == () and symbols.imports == ()
    pairs = [(r.name, r.line) for r in symbols.references]
    assert pairs == [
        ("Deploy", 1),
        ("the", 1),
        ("frontend", 1),
        ("the", 2),
        ("api_server", 2),
        ("and", 2),
        ("Deploy", 2),
        ("again", 2),
        ("word", 4),
    ]


def test_text_fallback_is_capped() -> None:
    text = "\n".join(f"word{i} other{i}" for i in range(MAX_TEXT_REFERENCES)).encode()
    symbols = Extractor(max_parse_bytes=10).extract(text, "python")
    assert len(symbols.references) == MAX_TEXT_REFERENCES
    assert symbols.references[-1] == Reference(f"other{MAX_TEXT_REFERENCES // 2 - 1}", 5000)


def test_source_must_be_bytes() -> None:
    with pytest.raises(TypeError, match="bytes"):
        extract("def f(): pass", "python")  # type: ignore[arg-type]


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_garbage_never_raises(language: str) -> None:
    rng = random.Random(f"garbage-{language}")
    blobs = [
        bytes(rng.randrange(256) for _ in range(3000)),
        b"\x00" * 500 + b"def class function {{{ ((( [[[",
        b"\xff\xfe\xfd invalid \xc3\x28 utf8 \xe2\x82 \n" * 50,
        b"x" * 200_000,  # one huge line
        "ünïcödé → 名前 = 1\n".encode() * 20,
    ]
    for blob in blobs:
        symbols = extract(blob, language)
        assert symbols.language == language
        assert all(r.line >= 1 for r in symbols.references)


def test_invalid_utf8_is_replaced_in_signatures() -> None:
    symbols = extract(b'def f(a="\xff\xfe"):\n    return go("\xc3\x28")\n', "python")
    assert [d.signature for d in symbols.definitions] == ['def f(a="\ufffd\ufffd"):']
    assert ("go", 2) in {(r.name, r.line) for r in symbols.references}


@pytest.mark.parametrize(
    ("language", "opener", "closer"),
    [("python", "(", ")"), ("javascript", "{", "}"), ("c", "(", ")"), ("lua", "{", "}")],
)
def test_deep_nesting_does_not_recurse(language: str, opener: str, closer: str) -> None:
    depth = 5_000
    source = ("x = " + opener * depth + closer * depth + "\n").encode()
    symbols = extract(source, language)
    assert symbols.language == language


@pytest.mark.parametrize("language", ["python", "javascript", "c", "rust"])
def test_degenerate_error_trees_are_not_queried(language: str) -> None:
    # Unbalanced openers recover into one ERROR node with 30,000 tokens, which the
    # query cursor would take ~3 s (quadratic) to walk.
    source = b"first_word = " + b"{(" * 15_000 + b"\nlast_word\n"
    started = time.process_time()
    symbols = extract(source, language)
    assert time.process_time() - started < 1.0
    assert symbols.has_errors and symbols.definitions == () and symbols.imports == ()
    assert [(r.name, r.line) for r in symbols.references] == [("first_word", 1), ("last_word", 2)]


def test_syntax_errors_still_give_definitions() -> None:
    symbols = extract(b"def ok(a):\n    return a\n\ndef broken(:\n    pass\n", "python")
    assert symbols.has_errors
    assert "ok" in [d.name for d in symbols.definitions]


# ------------------------------------------------------------ extraction rules


def test_signature_is_collapsed_and_truncated() -> None:
    params = ",\n    ".join(f"parameter_{i}: int" for i in range(40))
    source = f"def long_one(\n    {params},\n) -> None:\n    pass\n".encode()
    (definition,) = extract(source, "python").definitions
    assert len(definition.signature) == MAX_SIGNATURE_CHARS
    assert definition.signature.startswith("def long_one( parameter_0: int, parameter_1: int,")
    assert definition.signature.endswith("…")
    assert "\n" not in definition.signature and "  " not in definition.signature


def test_signature_drops_comments_before_the_body() -> None:
    source = b"def f(a,  # first\n      b):  # trailing\n    # inside\n    return a\n"
    (definition,) = extract(source, "python").definitions
    assert definition.signature == "def f(a, b):"


def test_each_definition_gets_the_body_of_its_own_match() -> None:
    # One query run lists each pattern's nodes apart; names and bodies are paired with
    # the innermost definition holding them. Here the outer method's body starts at
    # the byte where the nested decorated function starts (same pattern).
    source = (
        b"class Test:\n"
        b"    @patch('x')\n"
        b"    def test_it(self, mocked):\n"
        b"        @never_cache\n"
        b"        def a_view(request):\n"
        b"            return 1\n"
        b"        return a_view\n"
    )
    signatures = {d.name: d.signature for d in extract(source, "python").definitions}
    assert signatures == {
        "Test": "class Test:",
        "test_it": "@patch('x') def test_it(self, mocked):",
        "a_view": "@never_cache def a_view(request):",
    }
    # Several matches sharing one definition node, a name and a body each.
    source = b"var first = function (a) { return a }, second = (b) => { return b };\n"
    signatures = {d.name: d.signature for d in extract(source, "javascript").definitions}
    assert signatures == {
        "first": "var first = function (a)",
        "second": "var first = function (a) { return a }, second = (b) =>",
    }


def test_references_exclude_definition_sites_and_are_deduplicated() -> None:
    source = b"def run(task):\n    run(task); run(task)\n    return helper(task)\n"
    symbols = extract(source, "python")
    pairs = [(r.name, r.line) for r in symbols.references]
    assert pairs == [("task", 1), ("run", 2), ("task", 2), ("helper", 3), ("task", 3)]


def test_references_are_capped_in_line_order() -> None:
    lines = MAX_REFERENCES // 2 + 10
    source = "".join(f"run_{i}(value_{i})\n" for i in range(lines)).encode()
    references = extract(source, "python").references
    assert len(references) == MAX_REFERENCES
    assert references[:2] == (Reference("run_0", 1), Reference("value_0", 1))
    assert references[-1] == Reference(f"value_{MAX_REFERENCES // 2 - 1}", MAX_REFERENCES // 2)


def test_imports_are_deduplicated_in_source_order() -> None:
    source = b"import b\nimport a\nimport b\nfrom a import x\n"
    assert extract(source, "python").imports == ("b", "a", "a.x")


def test_oversized_source_gets_the_text_fallback() -> None:
    symbols = Extractor(max_parse_bytes=10).extract(b"def function_name(): pass\n", "python")
    assert symbols.language == "python" and symbols.has_errors
    assert symbols.definitions == ()
    assert ("function_name", 1) in {(r.name, r.line) for r in symbols.references}


def test_parse_timeout_falls_back_to_text_and_resets_the_parser() -> None:
    source = b"def handler_function(x):\n    return x\n" * 5000
    impatient = Extractor(base_timeout=0.0, timeout_per_mb=0.0)
    for _ in range(2):
        timed_out = impatient.extract(source, "python")
        assert timed_out.language == "python"
        assert timed_out.has_errors and timed_out.definitions == ()
        assert ("handler_function", 1) in {(r.name, r.line) for r in timed_out.references}
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(impatient.extract, source, "python").result() == timed_out
    # A small file parses within even a zero budget (the callback is never reached),
    # and the parser does not resume the abandoned parse.
    small = impatient.extract(b"def small_one():\n    pass\n", "python")
    assert [d.name for d in small.definitions] == ["small_one"] and not small.has_errors
    assert len(Extractor().extract(source, "python").definitions) == 5000


# ------------------------------------------------------------- size and threads


@pytest.mark.slow  # 3-10 s
def test_five_megabyte_file() -> None:
    unit = (GOLDEN / "python" / "sample.py").read_bytes()
    source = unit * (5_000_000 // len(unit) + 1)
    started = time.process_time()
    symbols = extract(source, "python")
    cpu_seconds = time.process_time() - started
    assert not symbols.has_errors
    assert len(symbols.definitions) > 10_000
    assert symbols.definitions[-1].end_line == source.count(b"\n")
    assert cpu_seconds < 30, cpu_seconds  # ~6 s of CPU on the dev VM (87k definitions)


def test_concurrent_extraction_matches_sequential() -> None:
    jobs = []
    for directory in GOLDEN_DIRS:
        source = _source_file(GOLDEN / directory)
        jobs.append((source.read_bytes(), language_for_path(source.name)))
    jobs *= 3
    sequential = [extract(data, language) for data, language in jobs]
    shared = Extractor()
    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(lambda job: shared.extract(*job), jobs))
    assert concurrent == sequential
    with ThreadPoolExecutor(4) as pool:
        module_level = list(pool.map(lambda job: extract(*job), jobs))
    assert module_level == sequential


# ------------------------------------------------- import strings (shared contract)


@pytest.mark.parametrize(
    ("language", "source", "imports"),
    [
        ("python", "import a.b as c", ["a.b"]),
        ("python", "from a.b import c, d as e", ["a.b", "a.b.c", "a.b.d"]),
        ("python", "from ..pkg import x", ["..pkg", "..pkg.x"]),
        ("python", "from . import mod", [".", ".mod"]),
        ("python", "from .. import up", ["..", "..up"]),
        ("python", "from x import *", ["x"]),
        ("python", "def f():\n    import lazy.mod\n", ["lazy.mod"]),
        ("javascript", 'import x from "x";', ["x"]),
        ("javascript", "import './side.css';", ["./side.css"]),
        ("javascript", 'export { a } from "./a";', ["./a"]),
        ("javascript", "const m = require('m');", ["m"]),
        ("javascript", 'const p = import("./p");', ["./p"]),
        ("javascript", "const t = require(`./t`);", []),
        ("typescript", 'import type { T } from "./types";', ["./types"]),
        ("typescript", 'import fs = require("fs");', ["fs"]),
        ("tsx", 'export * from "./all";', ["./all"]),
        ("go", 'import (\n\t"fmt"\n\tx "github.com/a/b"\n)', ["fmt", "github.com/a/b"]),
        ("go", "import `raw/path`", ["raw/path"]),
        ("rust", "use a::b::{c, d as e};", ["a::b::c", "a::b::d"]),
        ("rust", "use a::b;", ["a::b"]),
        ("rust", "use a::*;", ["a"]),
        ("rust", "use std::io::{self, Write};", ["std::io", "std::io::Write"]),
        ("rust", "use a::{b::{c, d}, e::*};", ["a::b::c", "a::b::d", "a::e"]),
        ("rust", "mod foo;", ["mod foo"]),
        ("rust", "mod inline { fn f() {} }", []),
        ("java", "import com.x.Y;", ["com.x.Y"]),
        ("java", "import com.x.*;", ["com.x"]),
        ("java", "package com.acme;", []),
        ("kotlin", "package com.acme\nimport com.x.Y\nimport com.z.*", ["com.x.Y", "com.z"]),
        ("scala", "package com.acme\nimport com.x.Y", ["com.x.Y"]),
        ("scala", "import com.x._", ["com.x"]),
        ("scala", "import com.x.{A, B => C}", ["com.x.A", "com.x.B"]),
        ("c", '#include "foo/bar.h"', ["foo/bar.h"]),
        ("c", "#include <stdio.h>", ["<stdio.h>"]),
        ("cpp", '#include <vector>\n#include "a.hpp"', ["<vector>", "a.hpp"]),
        ("csharp", "using System.Text;", ["System.Text"]),
        ("csharp", "using static System.Math;", ["System.Math"]),
        ("csharp", "using Json = Newtonsoft.Json;", ["Newtonsoft.Json"]),
        ("ruby", 'require "x"', ["x"]),
        ("ruby", "require_relative 'x'", ["./x"]),
        ("ruby", 'require_relative "../y"', ["../y"]),
        ("ruby", 'load "x.rb"', ["x.rb"]),
        ("ruby", 'require "#{dir}/x"', []),
        ("php", "<?php use A\\B\\C;", ["A\\B\\C"]),
        ("php", "<?php use A\\{B, C as D};", ["A\\B", "A\\C"]),
        ("php", "<?php require 'x.php';", ["x.php"]),
        ("php", '<?php include_once("y.php");', ["y.php"]),
        ("php", "<?php require_once __DIR__ . '/z.php';", ["./z.php"]),
        ("lua", 'local a = require("a.b")', ["a.b"]),
        ("lua", 'local a = require "a.b"', ["a.b"]),
        ("bash", "source x.sh", ["x.sh"]),
        ("bash", ". ./y.sh", ["./y.sh"]),
        ("bash", 'source "$(dirname "$0")/z.sh"', ['$(dirname "$0")/z.sh']),
        ("swift", "import Foundation", ["Foundation"]),
    ],
)
def test_import_strings(language: str, source: str, imports: list[str]) -> None:
    assert list(extract(source.encode(), language).imports) == imports
