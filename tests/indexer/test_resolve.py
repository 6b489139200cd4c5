"""Tests for indexer/resolve.py: import resolution, the import graph, the symbol table.

Workspaces are small hand-made path lists; configuration files (go.mod, tsconfig.json,
Cargo.toml, package.json, composer.json) are written to ``tmp_path`` and read back
through a real ``read_text``. FileSymbols are built by hand in the contract's raw import
format, so these tests do not depend on the parser.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

import pytest

from minimax_lsp.indexer.records import Definition, FileSymbols
from minimax_lsp.indexer.resolve import (
    ImportGraph,
    ImportResolver,
    Locality,
    SymbolTable,
    affects_resolution,
    build_import_graph,
    reverse_edges,
)


def resolver(paths: Iterable[str]) -> ImportResolver:
    return ImportResolver(paths)


def workspace(tmp_path: Path, files: dict[str, str]) -> ImportResolver:
    """Write ``files`` under tmp_path and build a resolver that reads them from disk."""
    for rel, text in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def read_text(rel: str) -> str | None:
        try:
            return (tmp_path / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return ImportResolver(files, read_text)


# --------------------------------------------------------------------------- python


PY_WORKSPACE = [
    "app/__init__.py",
    "app/core/__init__.py",
    "app/core/models.py",
    "app/core/db/__init__.py",
    "app/core/db/session.py",
    "app/api/__init__.py",
    "app/api/routes.py",
    "app/api/v1/__init__.py",
    "app/api/v1/users.py",
    "app/utils.py",
    "scripts/run.py",
    "scripts/helper.py",
    "setup.py",
]


@pytest.mark.parametrize(
    ("importer", "raw", "expected"),
    [
        # absolute: module file, package __init__, nested package
        ("app/api/routes.py", "app.core.models", ("app/core/models.py",)),
        ("app/api/routes.py", "app.core", ("app/core/__init__.py",)),
        ("app/api/routes.py", "app.core.db.session", ("app/core/db/session.py",)),
        # `from app.core import models, Base` -> "app.core", "app.core.models", "app.core.Base"
        ("app/api/routes.py", "app.core.Base", ()),
        # external: stdlib and third-party
        ("app/api/routes.py", "os.path", ()),
        ("app/api/routes.py", "numpy", ()),
        # relative at several depths
        ("app/api/v1/users.py", ".", ("app/api/v1/__init__.py",)),
        ("app/api/routes.py", ".v1.users", ("app/api/v1/users.py",)),
        ("app/api/v1/users.py", "..routes", ("app/api/routes.py",)),
        ("app/api/v1/users.py", "...core.models", ("app/core/models.py",)),
        ("app/api/v1/users.py", "...utils", ("app/utils.py",)),
        ("app/api/v1/users.py", "..", ("app/api/__init__.py",)),
        ("app/api/v1/users.py", "...", ("app/__init__.py",)),
        ("app/api/v1/users.py", ".missing", ()),
        # above the workspace root
        ("app/utils.py", "...x", ()),
        # __init__.py: "." is its own package
        ("app/core/__init__.py", ".models", ("app/core/models.py",)),
        # a script's directory is on sys.path for it
        ("scripts/run.py", "helper", ("scripts/helper.py",)),
        ("app/utils.py", "helper", ()),
        # hostile or malformed strings
        ("app/utils.py", "", ()),
        ("app/utils.py", "app..core", ()),
        ("app/utils.py", "app.core; rm -rf /", ()),
        ("app/utils.py", "a\x00b", ()),
        ("app/utils.py", "a." * 400, ()),
    ],
)
def test_python_imports(importer: str, raw: str, expected: tuple[str, ...]) -> None:
    assert resolver(PY_WORKSPACE).resolve(importer, "python", raw) == expected


def test_python_from_import_expansion_keeps_what_exists() -> None:
    r = resolver(PY_WORKSPACE)
    # `from app.core import models, Base` as the contract emits it.
    raws = ["app.core", "app.core.models", "app.core.Base"]
    assert r.resolve_all("app/api/routes.py", "python", raws) == (
        "app/core/__init__.py",
        "app/core/models.py",
    )


def test_python_src_layout_and_tests_outside_it() -> None:
    r = resolver(
        [
            "src/mypkg/__init__.py",
            "src/mypkg/engine.py",
            "tests/test_engine.py",
            "tests/conftest.py",
        ]
    )
    assert r.resolve("tests/test_engine.py", "python", "mypkg.engine") == ("src/mypkg/engine.py",)
    assert r.resolve("src/mypkg/engine.py", "python", "mypkg") == ("src/mypkg/__init__.py",)
    assert r.resolve("tests/test_engine.py", "python", "conftest") == ("tests/conftest.py",)


def test_python_monorepo_service_root_wins_for_its_own_files() -> None:
    r = resolver(
        [
            "services/api/app/__init__.py",
            "services/api/app/models.py",
            "services/worker/app/__init__.py",
            "services/worker/app/models.py",
        ]
    )
    assert r.resolve("services/worker/app/__init__.py", "python", "app.models") == (
        "services/worker/app/models.py",
    )
    assert r.resolve("services/api/app/__init__.py", "python", "app.models") == (
        "services/api/app/models.py",
    )
    # A file outside both services still finds one, deterministically (first root).
    assert r.resolve("tools/check.py", "python", "app.models") == ("services/api/app/models.py",)


def test_python_pyproject_package_dir_and_poetry_from(tmp_path: Path) -> None:
    files = {
        # this repository's own layout: the import name differs from the folder
        "pyproject.toml": """
            [tool.setuptools.package-dir]
            "acme" = "server/_root"
            "acme.server" = "server"
            "acme.indexer" = "indexer"
            "" = "python"
            [tool.poetry]
            packages = [{ include = "tool", from = "tools/src" }]
            """,
        "server/_root/__init__.py": "",
        "server/__init__.py": "",
        "server/app.py": "",
        "indexer/__init__.py": "",
        "indexer/records.py": "",
        "python/plain/__init__.py": "",
        "tools/src/tool/cli.py": "",
        "tests/test_app.py": "",
    }
    r = workspace(tmp_path, files)
    test = "tests/test_app.py"
    assert r.resolve(test, "python", "acme") == ("server/_root/__init__.py",)
    assert r.resolve(test, "python", "acme.server.app") == ("server/app.py",)
    assert r.resolve(test, "python", "acme.indexer") == ("indexer/__init__.py",)
    assert r.resolve(test, "python", "acme.indexer.records") == ("indexer/records.py",)
    assert r.resolve(test, "python", "acme.indexer.nothing") == ()
    assert r.resolve(test, "python", "plain") == ("python/plain/__init__.py",)
    assert r.resolve(test, "python", "tool.cli") == ("tools/src/tool/cli.py",)


def test_python_package_beats_module_and_stub_is_a_fallback() -> None:
    r = resolver(["lib_a.py", "lib_a/__init__.py", "typed.pyi", "both.py", "both.pyi"])
    assert r.resolve("main.py", "python", "lib_a") == ("lib_a/__init__.py",)
    assert r.resolve("main.py", "python", "typed") == ("typed.pyi",)
    assert r.resolve("main.py", "python", "both") == ("both.py",)


def test_python_never_resolves_to_the_importer_itself() -> None:
    r = resolver(["pkg/__init__.py", "pkg/a.py"])
    assert r.resolve("pkg/__init__.py", "python", ".") == ()
    assert r.resolve("pkg/a.py", "python", "pkg.a") == ()


# ----------------------------------------------------------------------- js / ts


def test_js_extension_order_prefers_typescript_sources() -> None:
    r = resolver(
        [
            "web/app.ts",
            "web/util.ts",
            "web/util.js",
            "web/view.tsx",
            "web/legacy.jsx",
            "web/esm.mjs",
            "web/common.cjs",
            "web/types.d.ts",
            "web/data.json",
            "web/widgets/index.tsx",
            "web/lib/index.js",
            "web/lib.ts",
        ]
    )

    def res(spec: str) -> tuple[str, ...]:
        return r.resolve("web/app.ts", "typescript", spec)

    assert res("./util") == ("web/util.ts",)
    assert res("./util.js") == ("web/util.js",)  # exact file exists
    assert res("./view") == ("web/view.tsx",)
    assert res("./legacy") == ("web/legacy.jsx",)
    assert res("./esm") == ("web/esm.mjs",)
    assert res("./common") == ("web/common.cjs",)
    assert res("./types") == ("web/types.d.ts",)
    assert res("./data") == ("web/data.json",)
    assert res("./data.json") == ("web/data.json",)
    assert res("./widgets") == ("web/widgets/index.tsx",)
    # a file beats a directory index of the same name
    assert res("./lib") == ("web/lib.ts",)
    assert res("./lib/index") == ("web/lib/index.js",)
    assert res("./missing") == ()


def test_js_emitted_extension_maps_back_to_typescript_source() -> None:
    r = resolver(["src/a.ts", "src/b.tsx", "src/c.mts", "src/main.ts"])
    assert r.resolve("src/main.ts", "typescript", "./a.js") == ("src/a.ts",)
    assert r.resolve("src/main.ts", "typescript", "./b.js") == ("src/b.tsx",)
    assert r.resolve("src/main.ts", "typescript", "./c.mjs") == ("src/c.mts",)


def test_js_parent_dirs_and_root_index() -> None:
    r = resolver(["index.js", "src/deep/x.js", "src/shared.js", "src/index.ts"])
    assert r.resolve("src/deep/x.js", "javascript", "../shared") == ("src/shared.js",)
    assert r.resolve("src/deep/x.js", "javascript", "..") == ("src/index.ts",)
    assert r.resolve("src/deep/x.js", "javascript", "../../index") == ("index.js",)
    assert r.resolve("src/deep/x.js", "javascript", "../../../outside") == ()
    assert r.resolve("src/deep/x.js", "javascript", "./x.js?raw") == ()  # itself


@pytest.mark.parametrize("spec", ["react", "lodash/fp", "@types/node", "node:fs", "https://x/y.js"])
def test_js_bare_specifiers_are_external(spec: str) -> None:
    r = resolver(["src/app.tsx", "src/react.ts", "src/lodash/fp.ts"])
    assert r.resolve("src/app.tsx", "tsx", spec) == ()


def test_tsconfig_paths_base_url_comments_and_extends(tmp_path: Path) -> None:
    files = {
        "tsconfig.base.json": """{
            // shared options
            "compilerOptions": {
                "baseUrl": ".",
                "paths": {
                    "@app/*": ["packages/app/src/*"],
                    "@lib": ["packages/lib/src/index.ts"],
                    "@/*": ["packages/fallback/*", "packages/app/src/*"], /* tried in order */
                },
            },
        }""",
        "packages/app/tsconfig.json": '{ "extends": "../../tsconfig.base", }',
        "packages/app/src/main.ts": "",
        "packages/app/src/ui/button.tsx": "",
        "packages/app/src/store/index.ts": "",
        "packages/lib/src/index.ts": "",
        "packages/other/src/x.ts": "",
        "packages/other/tsconfig.json": '{"compilerOptions": {"strict": true}}',
        "shared/strings.ts": "",
    }
    r = workspace(tmp_path, files)
    main = "packages/app/src/main.ts"
    assert r.resolve(main, "typescript", "@app/ui/button") == ("packages/app/src/ui/button.tsx",)
    assert r.resolve(main, "typescript", "@app/store") == ("packages/app/src/store/index.ts",)
    assert r.resolve(main, "typescript", "@lib") == ("packages/lib/src/index.ts",)
    assert r.resolve(main, "typescript", "@/ui/button") == ("packages/app/src/ui/button.tsx",)
    # baseUrl "." (the base config's directory) resolves non-relative specifiers
    assert r.resolve(main, "typescript", "shared/strings") == ("shared/strings.ts",)
    assert r.resolve(main, "typescript", "react") == ()
    # A nested project config without aliases: the parent's aliases do not leak in.
    assert r.resolve("packages/other/src/x.ts", "typescript", "@app/ui/button") == ()


def test_malformed_tsconfig_is_ignored(tmp_path: Path) -> None:
    r = workspace(tmp_path, {"tsconfig.json": "{ not json", "src/a.ts": "", "src/b.ts": ""})
    assert r.resolve("src/a.ts", "typescript", "./b") == ("src/b.ts",)
    assert r.resolve("src/a.ts", "typescript", "src/b") == ()


def test_js_workspace_packages_by_package_json_name(tmp_path: Path) -> None:
    files = {
        "package.json": '{"name": "root", "private": true}',
        "packages/core/package.json": '{"name": "@acme/core", "main": "dist/index.js"}',
        "packages/core/src/index.ts": "",
        "packages/core/src/math.ts": "",
        "packages/ui/package.json": '{"name": "acme-ui", "source": "lib/entry.tsx"}',
        "packages/ui/lib/entry.tsx": "",
        "apps/web/main.ts": "",
    }
    r = workspace(tmp_path, files)
    web = "apps/web/main.ts"
    # dist/ is not indexed: fall back to src/index
    assert r.resolve(web, "typescript", "@acme/core") == ("packages/core/src/index.ts",)
    assert r.resolve(web, "typescript", "@acme/core/math") == ("packages/core/src/math.ts",)
    assert r.resolve(web, "typescript", "acme-ui") == ("packages/ui/lib/entry.tsx",)
    assert r.resolve(web, "typescript", "@acme/other") == ()


def test_js_source_alias_without_tsconfig() -> None:
    r = resolver(["src/components/Nav.vue", "src/store.ts", "src/main.ts"])
    assert r.resolve("src/main.ts", "typescript", "@/store") == ("src/store.ts",)
    assert r.resolve("src/main.ts", "typescript", "@/components/Nav.vue") == (
        "src/components/Nav.vue",
    )


# ---------------------------------------------------------------------------- go


GO_FILES = {
    "go.mod": "\n".join(
        ["module github.com/acme/svc", "go 1.22", "replace github.com/acme/tools => ./third/tools"]
    ),
    "cmd/svc/main.go": "",
    "internal/store/store.go": "",
    "internal/store/cache.go": "",
    "internal/store/store_test.go": "",
    "internal/store/export_test.go": "",
    "internal/store/testdata/fixture.json": "",
    "third/tools/tools.go": "",
    "plugins/go.mod": "module github.com/acme/svc/plugins\n",
    "plugins/auth/auth.go": "",
    "testdata/copy/go.mod": "module github.com/acme/svc\n",
}


def test_go_module_path_to_package_directory(tmp_path: Path) -> None:
    r = workspace(tmp_path, GO_FILES)
    main = "cmd/svc/main.go"
    assert r.resolve(main, "go", "github.com/acme/svc/internal/store") == (
        "internal/store/cache.go",
        "internal/store/store.go",
    )
    assert r.resolve(main, "go", "fmt") == ()
    assert r.resolve(main, "go", "github.com/other/lib") == ()
    assert r.resolve(main, "go", "github.com/acme/svc/internal/missing") == ()
    # a nested module (longest module path wins) and a local replace
    assert r.resolve(main, "go", "github.com/acme/svc/plugins/auth") == ("plugins/auth/auth.go",)
    assert r.resolve(main, "go", "github.com/acme/tools") == ("third/tools/tools.go",)


def test_go_test_files_only_for_tests_of_the_same_package(tmp_path: Path) -> None:
    r = workspace(tmp_path, GO_FILES)
    store = "github.com/acme/svc/internal/store"
    # An external test package (package store_test) sees export_test.go.
    assert r.resolve("internal/store/store_test.go", "go", store) == (
        "internal/store/cache.go",
        "internal/store/export_test.go",
        "internal/store/store.go",
    )
    # A test elsewhere never compiles another package's tests.
    assert r.resolve("cmd/svc/main_test.go", "go", store) == (
        "internal/store/cache.go",
        "internal/store/store.go",
    )


def test_go_without_go_mod_falls_back_to_gopath_layout() -> None:
    r = resolver(["src/github.com/x/y/y.go", "src/github.com/x/app/main.go"])
    assert r.resolve("src/github.com/x/app/main.go", "go", "github.com/x/y") == (
        "src/github.com/x/y/y.go",
    )


# -------------------------------------------------------------------------- rust


RUST_PATHS = [
    "Cargo.toml",
    "src/lib.rs",
    "src/main.rs",
    "src/model.rs",
    "src/model/item.rs",
    "src/net/mod.rs",
    "src/net/http.rs",
    "src/bin/tool.rs",
    "src/bin/tool_util.rs",
    "tests/it.rs",
    "tests/common/mod.rs",
]


@pytest.mark.parametrize(
    ("importer", "raw", "expected"),
    [
        # crate:: walks down to the longest existing module prefix
        ("src/net/http.rs", "crate::model::item::Item", ("src/model/item.rs",)),
        ("src/net/http.rs", "crate::model::Model", ("src/model.rs",)),
        ("src/net/http.rs", "crate::net", ("src/net/mod.rs",)),
        ("src/net/http.rs", "crate::Config", ("src/lib.rs",)),
        ("src/main.rs", "crate::model::item", ("src/model/item.rs",)),
        # super:: and self::
        ("src/net/http.rs", "super::Client", ("src/net/mod.rs",)),
        ("src/model/item.rs", "super::super::net::http::get", ("src/net/http.rs",)),
        ("src/net/mod.rs", "super::model::Model", ("src/model.rs",)),
        ("src/net/mod.rs", "self::http::get", ("src/net/http.rs",)),
        ("src/lib.rs", "super::x", ()),
        # Rust 2018 paths: a child module of the current module
        ("src/lib.rs", "model::item::Item", ("src/model/item.rs",)),
        ("src/net/mod.rs", "http::get", ("src/net/http.rs",)),
        # external crates
        ("src/lib.rs", "std::collections::HashMap", ()),
        ("src/lib.rs", "serde::Deserialize", ()),
        ("src/lib.rs", "::core::fmt", ()),
        # `mod foo;`: next to lib.rs / mod.rs, under the module dir for model.rs
        ("src/lib.rs", "mod model", ("src/model.rs",)),
        ("src/lib.rs", "mod net", ("src/net/mod.rs",)),
        ("src/model.rs", "mod item", ("src/model/item.rs",)),
        ("src/net/mod.rs", "mod http", ("src/net/http.rs",)),
        ("src/lib.rs", "mod missing", ()),
        # binaries and integration tests are crate roots of their own
        ("src/bin/tool.rs", "mod tool_util", ("src/bin/tool_util.rs",)),
        ("tests/it.rs", "mod common", ("tests/common/mod.rs",)),
        ("tests/it.rs", "crate::common::setup", ("tests/common/mod.rs",)),
        # malformed
        ("src/lib.rs", "crate::{", ("src/lib.rs",)),
        ("src/model.rs", "mod 9bad", ()),
        ("src/model.rs", ":::", ()),
    ],
)
def test_rust_paths(importer: str, raw: str, expected: tuple[str, ...]) -> None:
    r = resolver(RUST_PATHS)
    found = r.resolve(importer, "rust", raw)
    assert found == tuple(p for p in expected if p != importer)


def test_rust_workspace_crates_by_cargo_name(tmp_path: Path) -> None:
    files = {
        "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
        "crates/my-core/Cargo.toml": '[package]\nname = "my-core"\nversion = "0.1.0"\n',
        "crates/my-core/src/lib.rs": "",
        "crates/my-core/src/parse.rs": "",
        "crates/cli/Cargo.toml": '[package]\nname = "cli"\n',
        "crates/cli/src/main.rs": "",
        "crates/broken/Cargo.toml": "[package\nname = ",
    }
    r = workspace(tmp_path, files)
    main = "crates/cli/src/main.rs"
    assert r.resolve(main, "rust", "my_core::parse::parse") == ("crates/my-core/src/parse.rs",)
    assert r.resolve(main, "rust", "my_core::Thing") == ("crates/my-core/src/lib.rs",)
    assert r.resolve(main, "rust", "my_core") == ("crates/my-core/src/lib.rs",)


# ------------------------------------------------------------ java / kotlin / scala


JVM_PATHS = [
    "core/src/main/java/com/acme/model/User.java",
    "core/src/main/java/com/acme/model/Order.java",
    "core/src/main/java/com/acme/model/package-info.java",
    "core/src/test/java/com/acme/model/Fixtures.java",
    "core/src/test/java/com/acme/model/UserTest.java",
    "app/src/main/kotlin/com/acme/app/Main.kt",
    "app/src/main/kotlin/com/acme/app/Helpers.kt",
    "app/src/main/scala/com/acme/jobs/Job.scala",
    "app/src/main/java/util/List.java",
]


@pytest.mark.parametrize(
    ("importer", "raw", "expected"),
    [
        (
            "core/src/test/java/com/acme/model/UserTest.java",
            "com.acme.model.User",
            ("core/src/main/java/com/acme/model/User.java",),
        ),
        # Kotlin importing Java, and a nested class / static member
        (
            "app/src/main/kotlin/com/acme/app/Main.kt",
            "com.acme.model.User",
            ("core/src/main/java/com/acme/model/User.java",),
        ),
        (
            "app/src/main/kotlin/com/acme/app/Main.kt",
            "com.acme.model.User.Builder",
            ("core/src/main/java/com/acme/model/User.java",),
        ),
        (
            "core/src/main/java/com/acme/model/Order.java",
            "com.acme.app.Helpers.format",
            ("app/src/main/kotlin/com/acme/app/Helpers.kt",),
        ),
        (
            "app/src/main/kotlin/com/acme/app/Main.kt",
            "com.acme.jobs.Job",
            ("app/src/main/scala/com/acme/jobs/Job.scala",),
        ),
        # wildcard: the package directory in every source root
        (
            "app/src/main/kotlin/com/acme/app/Main.kt",
            "com.acme.model",
            (
                "core/src/main/java/com/acme/model/Order.java",
                "core/src/main/java/com/acme/model/User.java",
                "core/src/main/java/com/acme/model/package-info.java",
                "core/src/test/java/com/acme/model/Fixtures.java",
                "core/src/test/java/com/acme/model/UserTest.java",
            ),
        ),
        # JDK: even though a source root is called `java/` and holds util/List.java
        ("app/src/main/kotlin/com/acme/app/Main.kt", "java.util.List", ()),
        ("app/src/main/kotlin/com/acme/app/Main.kt", "java.util", ()),
        ("app/src/main/kotlin/com/acme/app/Main.kt", "kotlin.collections.List", ()),
        ("app/src/main/kotlin/com/acme/app/Main.kt", "org.junit.Test", ()),
        # Scala selector braces, should a parser keep them
        (
            "app/src/main/scala/com/acme/jobs/Job.scala",
            "com.acme.model.{User, Order => O}",
            (
                "core/src/main/java/com/acme/model/User.java",
                "core/src/main/java/com/acme/model/Order.java",
            ),
        ),
    ],
)
def test_jvm_imports(importer: str, raw: str, expected: tuple[str, ...]) -> None:
    language = {"java": "java", "kt": "kotlin", "scala": "scala"}[importer.rpartition(".")[2]]
    assert resolver(JVM_PATHS).resolve(importer, language, raw) == expected


def test_jvm_same_class_in_two_modules_prefers_the_importers_module() -> None:
    r = resolver(
        [
            "a/src/main/java/com/x/Util.java",
            "a/src/main/java/com/x/Main.java",
            "b/src/main/java/com/x/Util.java",
            "c/src/main/java/com/y/Other.java",
        ]
    )
    assert r.resolve("a/src/main/java/com/x/Main.java", "java", "com.x.Util") == (
        "a/src/main/java/com/x/Util.java",
    )
    # No nearer one: both, in path order (deterministic).
    assert r.resolve("c/src/main/java/com/y/Other.java", "java", "com.x.Util") == (
        "a/src/main/java/com/x/Util.java",
        "b/src/main/java/com/x/Util.java",
    )


# -------------------------------------------------------------------------- c/c++


C_PATHS = [
    "src/main.c",
    "src/util.h",
    "src/net/socket.c",
    "src/net/socket.h",
    "include/acme/config.h",
    "include/acme/log.h",
    "third/acme/log.h",
    "lib/a/common.h",
    "lib/b/common.h",
    "lib/b/b.c",
]


@pytest.mark.parametrize(
    ("importer", "raw", "expected"),
    [
        # quoted: relative to the importer first
        ("src/main.c", "util.h", ("src/util.h",)),
        ("src/main.c", "net/socket.h", ("src/net/socket.h",)),
        ("src/net/socket.c", "../util.h", ("src/util.h",)),
        ("src/net/socket.c", "socket.h", ("src/net/socket.h",)),
        # quoted: then by suffix through include roots
        ("src/main.c", "acme/config.h", ("include/acme/config.h",)),
        ("src/main.c", "missing.h", ()),
        # angle brackets: system unless exactly one workspace file matches
        ("src/main.c", "<stdio.h>", ()),
        ("src/main.c", "<acme/config.h>", ("include/acme/config.h",)),
        ("src/main.c", "<acme/log.h>", ()),  # ambiguous -> external
        # ambiguity for quoted includes: nearest first, else all in path order
        ("lib/b/b.c", "common.h", ("lib/b/common.h",)),
        ("src/main.c", "common.h", ("lib/a/common.h", "lib/b/common.h")),
        ("src/main.c", "acme/log.h", ("include/acme/log.h", "third/acme/log.h")),
    ],
)
def test_c_includes(importer: str, raw: str, expected: tuple[str, ...]) -> None:
    for language in ("c", "cpp"):
        assert resolver(C_PATHS).resolve(importer, language, raw) == expected


# ---------------------------------------------------------------------------- c#


def test_csharp_namespaces_best_effort() -> None:
    r = resolver(
        [
            "src/Acme.Shop/Services/OrderService.cs",
            "src/Acme.Shop/Services/PaymentService.cs",
            "src/Acme.Shop/Program.cs",
            "src/Acme.Data/Repository.cs",
            "Acme/Util/Strings.cs",
            "tests/Acme.Shop.Tests/OrderTests.cs",
        ]
    )
    test = "tests/Acme.Shop.Tests/OrderTests.cs"
    assert r.resolve(test, "csharp", "Acme.Shop.Services") == (
        "src/Acme.Shop/Services/OrderService.cs",
        "src/Acme.Shop/Services/PaymentService.cs",
    )
    assert r.resolve(test, "csharp", "Acme.Data") == ("src/Acme.Data/Repository.cs",)
    assert r.resolve(test, "csharp", "Acme.Util") == ("Acme/Util/Strings.cs",)
    # `using static Acme.Util.Strings;` names a type
    assert r.resolve(test, "csharp", "Acme.Util.Strings") == ("Acme/Util/Strings.cs",)
    assert r.resolve(test, "csharp", "System.Text") == ()
    assert r.resolve(test, "csharp", "Microsoft.Extensions.Logging") == ()


# -------------------------------------------------------------------------- ruby


def test_ruby_require_relative_and_load_path() -> None:
    r = resolver(
        [
            "lib/acme.rb",
            "lib/acme/client.rb",
            "lib/acme/errors.rb",
            "spec/spec_helper.rb",
            "spec/acme/client_spec.rb",
            "bin/console.rb",
            "app/models/user.rb",
        ]
    )
    client = "lib/acme/client.rb"
    assert r.resolve(client, "ruby", "./errors") == ("lib/acme/errors.rb",)
    assert r.resolve(client, "ruby", "../acme") == ("lib/acme.rb",)
    assert r.resolve("spec/acme/client_spec.rb", "ruby", "../../lib/acme/client") == (client,)
    assert r.resolve("spec/acme/client_spec.rb", "ruby", "acme/client") == (client,)
    assert r.resolve("spec/acme/client_spec.rb", "ruby", "spec_helper") == ("spec/spec_helper.rb",)
    assert r.resolve("bin/console.rb", "ruby", "app/models/user") == ("app/models/user.rb",)
    assert r.resolve("bin/console.rb", "ruby", "user") == ()  # app/models is no load path
    assert r.resolve(client, "ruby", "json") == ()
    assert r.resolve(client, "ruby", "./missing") == ()


# --------------------------------------------------------------------------- php


def test_php_psr4_from_composer_and_by_suffix(tmp_path: Path) -> None:
    files = {
        "composer.json": '{"autoload": {"psr-4": {"Acme\\\\Shop\\\\": "src/"}},'
        ' "autoload-dev": {"psr-4": {"Acme\\\\Shop\\\\Tests\\\\": ["tests/"]}}}',
        "src/Order/Order.php": "",
        "src/Order/Repository.php": "",
        "tests/Order/OrderTest.php": "",
        "app/Models/User.php": "",
        "public/index.php": "",
        "config/app.php": "",
        "public/partials/header.php": "",
    }
    r = workspace(tmp_path, files)
    test = "tests/Order/OrderTest.php"
    assert r.resolve(test, "php", "Acme\\Shop\\Order\\Order") == ("src/Order/Order.php",)
    assert r.resolve("src/Order/Order.php", "php", "Acme\\Shop\\Tests\\Order\\OrderTest") == (test,)
    # Laravel: App\ maps to app/ — found by suffix, keeping two segments at least
    assert r.resolve(test, "php", "\\App\\Models\\User") == ("app/Models/User.php",)
    assert r.resolve(test, "php", "Symfony\\Component\\Console\\Command") == ()
    # include/require paths
    assert r.resolve("public/index.php", "php", "partials/header.php") == (
        "public/partials/header.php",
    )
    assert r.resolve("public/index.php", "php", "config/app.php") == ("config/app.php",)
    assert r.resolve("public/index.php", "php", "/partials/header.php") == (
        "public/partials/header.php",
    )
    assert r.resolve("public/index.php", "php", "vendor/autoload.php") == ()


# --------------------------------------------------------------------- lua, bash


def test_lua_modules_and_init_files() -> None:
    r = resolver(
        [
            "lua/myplugin/init.lua",
            "lua/myplugin/config.lua",
            "lua/myplugin/ui/init.lua",
            "plugin/myplugin.lua",
            "spec/config_spec.lua",
            "util.lua",
            "deep/nested/util.lua",
        ]
    )
    assert r.resolve("plugin/myplugin.lua", "lua", "myplugin") == ("lua/myplugin/init.lua",)
    assert r.resolve("plugin/myplugin.lua", "lua", "myplugin.config") == (
        "lua/myplugin/config.lua",
    )
    assert r.resolve("lua/myplugin/init.lua", "lua", "myplugin.ui") == ("lua/myplugin/ui/init.lua",)
    assert r.resolve("spec/config_spec.lua", "lua", "util") == ("util.lua",)
    assert r.resolve("spec/config_spec.lua", "lua", "vim.lsp") == ()
    assert r.resolve("spec/config_spec.lua", "lua", "../x") == ()


def test_bash_source_paths() -> None:
    r = resolver(["scripts/build.sh", "scripts/lib/common.sh", "env.sh"])
    build = "scripts/build.sh"
    assert r.resolve(build, "bash", "lib/common.sh") == ("scripts/lib/common.sh",)
    assert r.resolve(build, "bash", "./lib/common.sh") == ("scripts/lib/common.sh",)
    assert r.resolve(build, "bash", '"$(dirname "$0")/lib/common.sh"') == ("scripts/lib/common.sh",)
    assert r.resolve(build, "bash", "${BASH_SOURCE%/*}/lib/common.sh") == ("scripts/lib/common.sh",)
    assert r.resolve(build, "bash", "env.sh") == ("env.sh",)  # from the workspace root
    assert r.resolve(build, "bash", "~/.bashrc") == ()
    assert r.resolve(build, "bash", "/etc/profile") == ()
    assert r.resolve(build, "bash", "$HOME/$NAME.sh") == ()


def test_swift_framework_imports_are_external_swiftpm_targets_are_not() -> None:
    r = resolver(
        [
            "Sources/Core/Model.swift",
            "Sources/Core/Net/Client.swift",
            "Sources/App/main.swift",
            "Tests/CoreTests/ModelTests.swift",
        ]
    )
    assert r.resolve("Sources/App/main.swift", "swift", "Foundation") == ()
    assert r.resolve("Sources/App/main.swift", "swift", "Core") == (
        "Sources/Core/Model.swift",
        "Sources/Core/Net/Client.swift",
    )


# --------------------------------------------------------------- resolver basics


def test_unknown_language_and_text_resolve_to_nothing() -> None:
    r = resolver(["a.py", "b.py"])
    assert r.resolve("a.py", "text", "b") == ()
    assert r.resolve("a.py", "cobol", "b") == ()
    assert r.resolve("a.py", "python", "b") == ("b.py",)


def test_lsp_language_ids_are_accepted() -> None:
    r = resolver(["src/a.tsx", "src/b.tsx"])
    assert r.resolve("src/a.tsx", "typescriptreact", "./b") == ("src/b.tsx",)


@pytest.mark.parametrize("bad", ["/abs/path.py", "a/../b.py", "a//b.py", "a\\b.py", "", "./a"])
def test_bad_workspace_paths_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="workspace paths"):
        ImportResolver(["ok.py", bad])


def test_hostile_import_strings_never_raise() -> None:
    r = resolver(PY_WORKSPACE + C_PATHS + RUST_PATHS + JVM_PATHS)
    rng = random.Random(1)
    alphabet = "./\\:<>*{}$`'\"@#?~ aZ_09-\x00é"
    languages = ["python", "typescript", "go", "rust", "java", "c", "csharp", "ruby", "php"]
    languages += ["lua", "bash", "swift", "kotlin", "scala"]
    for _ in range(3000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 20)))
        for language in languages:
            found = r.resolve("app/api/routes.py", language, raw)
            assert set(found) <= set(r.paths)


def test_updated_rebuilds_with_added_and_removed_files() -> None:
    r = resolver(["src/main.ts", "src/x.js"])
    assert r.resolve("src/main.ts", "typescript", "./x") == ("src/x.js",)
    grown = r.updated(added=["src/x.ts"])
    assert grown.resolve("src/main.ts", "typescript", "./x") == ("src/x.ts",)
    shrunk = grown.updated(removed=["src/x.ts", "src/x.js"])
    assert shrunk.resolve("src/main.ts", "typescript", "./x") == ()
    assert "src/x.ts" in grown and "src/x.ts" not in shrunk
    assert r.resolve("src/main.ts", "typescript", "./x") == ("src/x.js",)  # unchanged


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("go.mod", True),
        ("web/tsconfig.app.json", True),
        ("jsconfig.json", True),
        ("packages/a/package.json", True),
        ("crates/x/Cargo.toml", True),
        ("composer.json", True),
        ("pyproject.toml", True),
        ("src/main.py", False),
        ("package-lock.json", False),
    ],
)
def test_affects_resolution(path: str, expected: bool) -> None:
    assert affects_resolution(path) is expected


# ------------------------------------------------------------------ import graph


def py(*imports: str, definitions: tuple[Definition, ...] = ()) -> FileSymbols:
    return FileSymbols("python", definitions=definitions, imports=imports)


GRAPH_SYMBOLS = {
    "app/__init__.py": py(),
    "app/core/__init__.py": py(".models"),
    "app/core/models.py": py("dataclasses", "..utils", "..utils.slug"),
    "app/api/__init__.py": py(),
    "app/api/routes.py": py("app.core", "app.core.models", "app.core.Base", "app.utils", "os"),
    "app/utils.py": py("re"),
    "README.md": FileSymbols("text"),
}


def test_import_graph_edges_and_reverse_edges() -> None:
    r = resolver(GRAPH_SYMBOLS)
    graph = build_import_graph(GRAPH_SYMBOLS, r)
    assert set(graph) == set(GRAPH_SYMBOLS)
    assert graph["app/api/routes.py"] == (
        "app/core/__init__.py",
        "app/core/models.py",
        "app/utils.py",
    )
    assert graph["app/core/models.py"] == ("app/utils.py",)
    assert graph["app/core/__init__.py"] == ("app/core/models.py",)
    assert graph["README.md"] == ()
    reverse = reverse_edges(graph)
    assert reverse["app/utils.py"] == ("app/api/routes.py", "app/core/models.py")
    assert reverse["app/core/models.py"] == ("app/api/routes.py", "app/core/__init__.py")
    assert "app/api/routes.py" not in reverse


def test_import_graph_incremental_update_matches_rebuild() -> None:
    r = resolver(GRAPH_SYMBOLS)
    graph = ImportGraph.build(GRAPH_SYMBOLS, r)
    changed = py("app.core.models", "app.api.routes")
    updated = graph.with_file("app/utils.py", changed, r)
    rebuilt = ImportGraph.build({**GRAPH_SYMBOLS, "app/utils.py": changed}, r)
    assert dict(updated.imports) == dict(rebuilt.imports)
    assert dict(updated.importers) == dict(rebuilt.importers)
    assert updated.importers_of("app/api/routes.py") == ("app/utils.py",)
    assert graph.importers_of("app/api/routes.py") == ()  # the original is untouched


def test_import_graph_removing_a_file_drops_edges_both_ways() -> None:
    r = resolver(GRAPH_SYMBOLS)
    graph = ImportGraph.build(GRAPH_SYMBOLS, r).with_file("app/utils.py", None, r)
    assert "app/utils.py" not in graph.imports
    assert graph.importers_of("app/utils.py") == ()
    assert graph.imports_of("app/core/models.py") == ()
    assert graph.imports_of("app/api/routes.py") == (
        "app/core/__init__.py",
        "app/core/models.py",
    )


# ------------------------------------------------------------------ symbol table


def d(name: str, line: int, kind: str = "function", scope: str = "") -> Definition:
    return Definition(name, kind, line, line + 2, f"def {name}()", scope)


SYMBOLS = {
    "pkg/a.py": py("pkg.b", definitions=(d("run", 10), d("helper", 20))),
    "pkg/b.py": py(definitions=(d("run", 5), d("Index", 30, "class"))),
    "pkg/c.py": py(definitions=(d("run", 1, "variable"), d("run", 40))),
    "other/d.py": py(definitions=(d("run", 3), d("refresh", 8, "method", "Index"))),
    "other/index.py": py(definitions=(d("refresh", 2, "method", "Store"),)),
    "other/e.py": py(definitions=(d("refresh", 9, "method", "pkg.Index"),)),
    "utils.py": py(definitions=(d("helper", 1),)),
}


def test_symbol_lookup_prefers_same_file_then_imports_then_directory() -> None:
    table = SymbolTable(SYMBOLS)
    matches = table.lookup("run", importer="pkg/a.py", imported=("pkg/b.py",))
    assert [(m.path, m.definition.start_line, m.locality) for m in matches] == [
        ("pkg/a.py", 10, Locality.SAME_FILE),
        ("pkg/b.py", 5, Locality.IMPORTED),
        # same directory: the function before the variable, despite line order
        ("pkg/c.py", 40, Locality.SAME_DIRECTORY),
        ("pkg/c.py", 1, Locality.SAME_DIRECTORY),
        ("other/d.py", 3, Locality.WORKSPACE),
    ]
    capped = table.lookup("run", importer="pkg/a.py", imported=("pkg/b.py",), limit=2)
    assert [m.path for m in capped] == ["pkg/a.py", "pkg/b.py"]
    assert table.lookup("run", limit=0) == ()
    assert table.lookup("nothing") == ()
    # no importer: kind, then path order
    assert [m.path for m in table.lookup("run")][:2] == ["other/d.py", "pkg/a.py"]


def test_symbol_qualified_lookup_ranks_matching_scope_first() -> None:
    table = SymbolTable(SYMBOLS)
    matches = table.lookup("Index.refresh", importer="other/index.py")
    assert [(m.path, m.qualifier_matched) for m in matches] == [
        ("other/d.py", True),
        ("other/e.py", True),  # scope "pkg.Index" ends with the qualifier
        ("other/index.py", False),  # same file, but scope Store
    ]
    # the full qualifier beats a partial one (scope "Index" for "pkg.Index")
    rust_style = table.lookup("pkg::Index::refresh")
    assert [(m.path, m.qualifier_matched) for m in rust_style] == [
        ("other/e.py", True),
        ("other/d.py", True),
        ("other/index.py", False),
    ]
    # a module qualifier: `utils.helper` is the top-level helper of utils.py
    assert table.lookup("utils.helper", importer="pkg/a.py")[0].path == "utils.py"
    # a receiver says nothing about where: behaves like a bare lookup
    assert table.lookup("self.helper", importer="pkg/a.py")[0].path == "pkg/a.py"


def test_symbol_table_update_replaces_a_files_definitions() -> None:
    table = SymbolTable(SYMBOLS)
    table.update("pkg/c.py", py(definitions=(d("fresh", 1),)))
    assert [p for p, _ in table.definitions("run")] == ["other/d.py", "pkg/a.py", "pkg/b.py"]
    assert [p for p, _ in table.definitions("fresh")] == ["pkg/c.py"]
    table.update("pkg/c.py", None)
    assert table.definitions("fresh") == ()
    table.update("new.py", py(definitions=(d("run", 7),)))
    assert ("new.py", d("run", 7)) in table.definitions("run")
    assert SymbolTable(SYMBOLS).definitions("run") != table.definitions("run")


def test_symbol_lookup_rejects_negative_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        SymbolTable(SYMBOLS).lookup("run", limit=-1)


# ------------------------------------------------------------- performance smoke


def synthetic_python_workspace(files: int, imports_per_file: int) -> dict[str, FileSymbols]:
    """A src/ layout of packages with absolute, relative and external imports."""
    rng = random.Random(42)
    unique: set[str] = set()
    package = 0
    while len(unique) < files:
        top, sub = f"src/pkg{package % 12}", f"src/pkg{package % 12}/sub{package}"
        unique.update((f"{top}/__init__.py", f"{sub}/__init__.py"))
        unique.update(f"{sub}/mod{i}.py" for i in range(20))
        package += 1
    paths = sorted(unique)[:files]
    modules = [p[4:-3].replace("/", ".") for p in paths if not p.endswith("__init__.py")]
    externals = ["os", "sys", "typing", "numpy", "collections.abc", "json"]
    symbols: dict[str, FileSymbols] = {}
    for path in paths:
        imports: list[str] = []
        for _ in range(imports_per_file):
            roll = rng.random()
            if roll < 0.5:
                module = rng.choice(modules)
                imports += [module, f"{module}.thing"]
            elif roll < 0.75:
                imports.append(f".mod{rng.randrange(25)}")
            elif roll < 0.85:
                imports.append(f"..sub{rng.randrange(package)}.mod{rng.randrange(25)}")
            else:
                imports.append(rng.choice(externals))
        definitions = tuple(d(f"f{rng.randrange(400)}", 1 + 5 * i) for i in range(10))
        symbols[path] = py(*imports, definitions=definitions)
    return symbols


def test_performance_smoke_3000_python_files() -> None:
    symbols = synthetic_python_workspace(3000, 10)
    r = ImportResolver(symbols)
    graph = ImportGraph.build(symbols, r)
    table = SymbolTable(symbols)
    paths = set(symbols)
    assert len(paths) == 3000
    assert graph.edge_count > 3000 * 5  # most internal imports resolve
    for source, targets in graph.imports.items():
        assert source not in targets
        assert set(targets) <= paths
        for target in targets:
            assert source in graph.importers_of(target)
    some = next(iter(sorted(symbols)))
    for match in table.lookup("f1", importer=some, imported=graph.imports_of(some), limit=50):
        assert match.path in paths
