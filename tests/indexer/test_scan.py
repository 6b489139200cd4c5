"""The workspace scanner: which files get indexed, on real trees (and real git repos)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from minimax_lsp.indexer.ignore import (
    AI_IGNORE_FILES,
    DATA_FILE_BYTES,
    DATA_NAMES,
    GENERATED_NAMES,
    SECRET_DENY_LIST,
    VENDORED_DIRS,
    NameRules,
)
from minimax_lsp.indexer.scan import (
    PathPolicy,
    ScannedFile,
    ScanOptions,
    ScanResult,
    SkipReason,
    classify_content,
    is_ignore_file,
    scan,
)

WALK = ScanOptions(use_git=False)
GIT_AVAILABLE = shutil.which("git") is not None
needs_git = pytest.mark.skipif(not GIT_AVAILABLE, reason="git is not installed")
needs_symlinks = pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
PYTHON = b"def f():\n    return 1\n"


def write(root: Path, rel: str, content: bytes | str = PYTHON) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def paths(result: ScanResult) -> list[str]:
    return [item.path for item in result.files]


def example_for(pattern: str) -> str:
    """A concrete path covered by one built-in pattern."""
    if pattern.endswith("/"):
        return pattern.replace("*", "sample") + "notes.txt"
    return pattern.replace("*", "sample")


@pytest.fixture
def git_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate git from the machine's global and system configuration."""
    if not GIT_AVAILABLE:
        pytest.skip("git is not installed")
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.email=a@b",
            "-c",
            "user.name=n",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def commit_all(root: Path, *, force: bool = False) -> None:
    git(root, "add", "-A", *(["-f"] if force else []), ".")
    git(root, "commit", "-q", "-m", "snapshot")


# --- the secret deny-list -----------------------------------------------------------------


@pytest.mark.parametrize("pattern", SECRET_DENY_LIST)
def test_every_deny_list_entry_is_skipped_as_secret(tmp_path: Path, pattern: str) -> None:
    example = example_for(pattern)
    write(tmp_path, example, "API_KEY=hunter2\n")
    write(tmp_path, "keep.py")
    result = scan(tmp_path, WALK)
    assert paths(result) == ["keep.py"]
    assert result.skipped == {"secret": 1}
    policy = PathPolicy(tmp_path, WALK)
    assert policy.check_path(example) is SkipReason.SECRET
    # Matched case-insensitively: `SERVER.KEY` and `ID_RSA` are just as secret.
    assert policy.check_path(example.upper(), is_dir=False) is SkipReason.SECRET
    assert policy.check_file(example) is SkipReason.SECRET


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("credentials", SkipReason.SECRET),
        ("config/credentials.json", SkipReason.SECRET),
        ("config/secrets.yml", SkipReason.SECRET),
        ("secret.toml", SkipReason.SECRET),
        (".env.example", SkipReason.SECRET),
        ("deploy/.env.production", SkipReason.SECRET),
        ("server.key", SkipReason.SECRET),
        # Source files named like secrets are code that reads secrets, not secrets.
        ("botocore/credentials.py", None),
        ("auth/credentials_test.go", None),
        ("server/model/secret.py", None),
        ("lib/secrets.ts", None),
        # A Go package folder called `credentials` is code too (file patterns skip files).
        ("grpc/credentials/tls.go", None),
        # Public certificates and look-alike names are not secrets.
        ("certs/ca.crt", None),
        ("environment.py", None),
        ("docs/envelope.md", None),
    ],
)
def test_secret_names(tmp_path: Path, rel: str, expected: SkipReason | None) -> None:
    assert PathPolicy(tmp_path, WALK).check_path(rel, is_dir=False) is expected


@needs_git
@pytest.mark.usefixtures("git_env")
def test_secrets_never_listed_even_when_git_tracks_them(tmp_path: Path) -> None:
    # One folder per entry: `.env` (a file) and `.env/` (a folder) cannot share one.
    planted = [f"c{n}/{example_for(pattern)}" for n, pattern in enumerate(SECRET_DENY_LIST)]
    planted += [".env", "id_rsa", "server.key", "config/.env.example", "deploy/credentials.json"]
    for rel in planted:
        write(tmp_path, rel, "password=hunter2\n")
    write(tmp_path, "keep.py")
    git(tmp_path, "init", "-q")
    commit_all(tmp_path, force=True)
    assert set(planted) <= set(git(tmp_path, "ls-files").splitlines())

    result = scan(tmp_path)
    assert result.mode == "git"
    assert paths(result) == ["keep.py"]
    assert result.skipped == {"secret": len(set(planted))}
    policy = PathPolicy(tmp_path)
    assert all(policy.check_path(rel) is SkipReason.SECRET for rel in planted)


def test_private_key_content_is_secret_whatever_the_name(tmp_path: Path) -> None:
    key = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    write(tmp_path, "notes.txt", "deploy key below\n" + key)
    write(tmp_path, "backup.bin.txt", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxyz\n")
    # Code that merely mentions the header is not a key.
    write(tmp_path, "pem.py", 'HEADER = "-----BEGIN RSA PRIVATE KEY-----"\n')
    result = scan(tmp_path, WALK)
    assert paths(result) == ["pem.py"]
    assert result.skipped == {"secret": 2}
    assert PathPolicy(tmp_path, WALK).check_file("notes.txt") is SkipReason.SECRET


# --- gitignore ------------------------------------------------------------------------------

IGNORE_TREE = {
    ".gitignore": "*.log\nbuild_out/\nlogs/\n!logs/keep.txt\n/only_top.txt\n",
    "sub/.gitignore": "!keep.log\n/local.txt\n# a comment\n\\#hash.txt\n",
    "a.log": "x",
    "main.py": PYTHON,
    "only_top.txt": "x",
    "sub/only_top.txt": "x",
    "sub/keep.log": "x",
    "sub/other.log": "x",
    "sub/deeper/keep.log": "x",
    "sub/local.txt": "x",
    "sub/deeper/local.txt": "x",
    "sub/#hash.txt": "x",
    "sub/build_out": "a file, not a folder: `build_out/` does not match it\n",
    "build_out/gen.py": PYTHON,
    "logs/keep.txt": "x",
}
IGNORE_TREE_EXPECTED = [
    ".gitignore",
    "main.py",
    "sub/.gitignore",
    "sub/build_out",
    "sub/deeper/keep.log",
    "sub/deeper/local.txt",
    "sub/keep.log",
    "sub/only_top.txt",
]


def test_nested_gitignore_with_anchoring_and_negation(tmp_path: Path) -> None:
    for rel, content in IGNORE_TREE.items():
        write(tmp_path, rel, content)
    result = scan(tmp_path, WALK)
    assert result.mode == "walk"
    assert paths(result) == IGNORE_TREE_EXPECTED
    # Five files, and two folders counted once each: build_out/ and logs/ (whose
    # `!logs/keep.txt` cannot re-include a file below an excluded folder, as in git).
    assert result.skipped == {"ignored": 7}


@needs_git
@pytest.mark.usefixtures("git_env")
def test_git_agrees_with_our_gitignore_reading(tmp_path: Path) -> None:
    for rel, content in IGNORE_TREE.items():
        write(tmp_path, rel, content)
    git(tmp_path, "init", "-q")
    # Git itself is the oracle for the untracked files it does not ignore.
    untracked = sorted(git(tmp_path, "ls-files", "-o", "--exclude-standard").splitlines())
    assert untracked == IGNORE_TREE_EXPECTED
    result = scan(tmp_path)
    assert result.mode == "git"
    assert paths(result) == IGNORE_TREE_EXPECTED
    policy = PathPolicy(tmp_path)
    verdicts = {rel: policy.check_path(rel) for rel in IGNORE_TREE}
    assert sorted(rel for rel, reason in verdicts.items() if reason is None) == IGNORE_TREE_EXPECTED
    assert {verdicts[rel] for rel in IGNORE_TREE if rel not in IGNORE_TREE_EXPECTED} == {
        SkipReason.IGNORED
    }


def test_git_info_exclude_is_honoured_when_walking(tmp_path: Path) -> None:
    write(tmp_path, ".git/info/exclude", "scratch/\n")
    write(tmp_path, ".git/HEAD", "ref: refs/heads/main\n")
    write(tmp_path, "scratch/try.py")
    write(tmp_path, "main.py")
    result = scan(tmp_path, WALK)
    assert paths(result) == ["main.py"]
    assert result.skipped == {"ignored": 1}
    assert PathPolicy(tmp_path, WALK).check_path(".git/HEAD") is SkipReason.IGNORED


def test_malformed_ignore_lines_do_not_disable_the_others(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", b"!\n\xff\xfe garbage\n*.tmp\n")
    write(tmp_path, "a.tmp", "x")
    write(tmp_path, "a.py")
    assert paths(scan(tmp_path, WALK)) == [".gitignore", "a.py"]


# --- AI-ignore files, user globs -------------------------------------------------------------


@pytest.mark.parametrize("name", AI_IGNORE_FILES)
def test_each_ai_ignore_file_format(tmp_path: Path, name: str) -> None:
    write(tmp_path, name, "private/\n*.md\n!README.md\n")
    write(tmp_path, f"pkg/{name}", "/local.py\n")
    write(tmp_path, "private/plan.py")
    write(tmp_path, "notes.md", "x")
    write(tmp_path, "README.md", "x")
    write(tmp_path, "pkg/local.py")
    write(tmp_path, "pkg/deep/local.py")
    result = scan(tmp_path, WALK)
    assert paths(result) == sorted([name, "README.md", f"pkg/{name}", "pkg/deep/local.py"])
    assert result.skipped == {"ai-ignored": 3}
    policy = PathPolicy(tmp_path, WALK)
    assert policy.check_path("pkg/local.py") is SkipReason.AI_IGNORED
    assert policy.check_path("private/new_file.py") is SkipReason.AI_IGNORED
    assert is_ignore_file(name) and is_ignore_file(f"pkg/{name}")


@needs_git
@pytest.mark.usefixtures("git_env")
def test_ai_ignore_applies_to_git_tracked_files(tmp_path: Path) -> None:
    write(tmp_path, ".cursorignore", "internal/\n")
    write(tmp_path, ".aiderignore", "big_table.py\n")
    write(tmp_path, "internal/algo.py")
    write(tmp_path, "big_table.py")
    write(tmp_path, "app.py")
    git(tmp_path, "init", "-q")
    commit_all(tmp_path)
    result = scan(tmp_path)
    assert result.mode == "git"
    assert paths(result) == [".aiderignore", ".cursorignore", "app.py"]
    assert result.skipped == {"ai-ignored": 2}


def test_ai_ignore_file_names_match_case_insensitively(tmp_path: Path) -> None:
    # Read from one listing of each folder; an oddly cased name still counts (as on a
    # case-insensitive file system): reading one ignore file too many errs on privacy.
    write(tmp_path, ".CursorIgnore", "secret_plan.py\n")
    write(tmp_path, "pkg/.AIIGNORE", "*.py\n")
    write(tmp_path, "secret_plan.py")
    write(tmp_path, "pkg/mod.py")
    write(tmp_path, "app.py")
    result = scan(tmp_path, WALK)
    assert paths(result) == [".CursorIgnore", "app.py", "pkg/.AIIGNORE"]
    assert result.skipped == {"ai-ignored": 2}


def test_extra_ignore_globs_from_settings(tmp_path: Path) -> None:
    for rel in ("docs/guide.py", "notes.txt", "sub/notes.txt", "top.py", "sub/top.py", "app.py"):
        write(tmp_path, rel)
    options = ScanOptions(use_git=False, extra_ignore_globs=("docs/", "*.txt", "/top.py"))
    result = scan(tmp_path, options)
    assert paths(result) == ["app.py", "sub/top.py"]
    assert result.skipped == {"user-ignored": 4}
    assert PathPolicy(tmp_path, options).check_path("docs/new.py") is SkipReason.USER_IGNORED


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="max_file_bytes"):
        ScanOptions(max_file_bytes=0)
    with pytest.raises(TypeError, match="tuple of strings"):
        ScanOptions(extra_ignore_globs="*.txt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid ignore glob"):
        ScanOptions(extra_ignore_globs=("!",))
    # A list from a settings layer is stored as a tuple (the record stays immutable).
    assert ScanOptions(extra_ignore_globs=["a/"]).extra_ignore_globs == ("a/",)  # type: ignore[arg-type]


# --- vendored, binary, size, generated ----------------------------------------------------


@pytest.mark.parametrize("pattern", VENDORED_DIRS)
def test_vendored_folders(tmp_path: Path, pattern: str) -> None:
    example = example_for(pattern).replace("notes.txt", "lib.py")
    write(tmp_path, example)
    write(tmp_path, "app.py")
    result = scan(tmp_path, WALK)
    assert paths(result) == ["app.py"]
    assert result.skipped == {"vendored": 1}
    folder = example.rsplit("/", 1)[0]
    policy = PathPolicy(tmp_path, WALK)
    assert policy.check_path(folder) is SkipReason.VENDORED  # an existing folder
    assert policy.check_path(example) is SkipReason.VENDORED
    included = scan(tmp_path, ScanOptions(use_git=False, include_vendored=True))
    assert paths(included) == sorted(["app.py", example])


def test_folder_rules_apply_to_folders_only(tmp_path: Path) -> None:
    write(tmp_path, "build", "#!/bin/sh\nmake all\n")  # a script called build, not a folder
    write(tmp_path, "tools/dist/pack.py")
    policy = PathPolicy(tmp_path, WALK)
    assert policy.check_path("build") is None
    assert policy.check_path("build/") is SkipReason.VENDORED
    assert policy.check_path("missing/build", is_dir=True) is SkipReason.VENDORED
    assert policy.check_path("tools/dist") is SkipReason.VENDORED
    assert paths(scan(tmp_path, WALK)) == ["build"]


def test_binary_files(tmp_path: Path) -> None:
    write(tmp_path, "data.txt", b"header\x00\x01\x02")
    write(tmp_path, "logo.PNG", "not really an image, skipped by name without being read\n")
    write(tmp_path, "app.py")
    result = scan(tmp_path, WALK)
    assert paths(result) == ["app.py"]
    assert result.skipped == {"binary": 2}
    policy = PathPolicy(tmp_path, WALK)
    assert policy.check_path("logo.PNG") is SkipReason.BINARY
    assert policy.check_path("data.txt") is None  # content is not looked at by check_path
    assert policy.check_file("data.txt") is SkipReason.BINARY


def test_too_large_files(tmp_path: Path) -> None:
    write(tmp_path, "big.py", b"#" * 101)
    write(tmp_path, "fits.py", b"#" * 100)
    result = scan(tmp_path, ScanOptions(use_git=False, max_file_bytes=100))
    assert paths(result) == ["fits.py"]
    assert result.files[0].size == 100
    assert result.skipped == {"too-large": 1}


@pytest.mark.parametrize("pattern", DATA_NAMES)
def test_data_by_name(tmp_path: Path, pattern: str) -> None:
    rel = "locale/fr/LC_MESSAGES/" + pattern.replace("*", "django").upper()
    write(tmp_path, rel, 'msgid "Hello"\nmsgstr "Bonjour"\n')
    write(tmp_path, "app.py")
    result = scan(tmp_path, WALK)
    assert paths(result) == ["app.py"]
    assert result.skipped == {"data": 1}
    assert PathPolicy(tmp_path, WALK).check_path(rel) is SkipReason.DATA


def test_large_data_files_by_size(tmp_path: Path) -> None:
    big = b'{"rows": [' + b"[1, 2, 3]," * (DATA_FILE_BYTES // 10) + b"[]]}\n"
    write(tmp_path, "fixtures/big.json", big)
    write(tmp_path, "fixtures/small.json", b'{"rows": []}\n')
    write(tmp_path, "words.TXT", b"word\n" * (DATA_FILE_BYTES // 5 + 1))
    write(tmp_path, "big_module.py", b"x = 1\n" * (DATA_FILE_BYTES // 6 + 1))  # code stays
    result = scan(tmp_path, WALK)
    assert paths(result) == ["big_module.py", "fixtures/small.json"]
    assert result.skipped == {"data": 2}
    policy = PathPolicy(tmp_path, WALK)
    assert policy.check_path("fixtures/big.json") is None  # the size needs a stat
    assert policy.check_file("fixtures/big.json") is SkipReason.DATA
    # max_file_bytes still comes first.
    tight = scan(tmp_path, ScanOptions(use_git=False, max_file_bytes=DATA_FILE_BYTES))
    assert tight.skipped == {"too-large": 3}


@pytest.mark.parametrize("use_git", [False, True])
def test_known_unchanged_files_are_not_sniffed_again(
    tmp_path: Path, use_git: bool, request: pytest.FixtureRequest
) -> None:
    if use_git:
        request.getfixturevalue("git_env")
        git(tmp_path, "init", "-q")
    write(tmp_path, "a.txt", "plain text\n")
    write(tmp_path, "b.txt", "plain text\n")
    options = ScanOptions(use_git=use_git)
    first = {f.path: f for f in scan(tmp_path, options).files}
    # Same size and mtime, new content that the sniff would refuse.
    for name in ("a.txt", "b.txt"):
        write(tmp_path, name, "binary\x00\x00\x00\x00\n")  # as long as "plain text\n"
        os.utime(tmp_path / name, ns=(first[name].mtime_ns, first[name].mtime_ns))
    a = first["a.txt"]
    known = {"a.txt": (a.size, a.mtime_ns), "b.txt": (a.size, a.mtime_ns - 1)}
    trusted = scan(tmp_path, options, known=known)
    assert paths(trusted) == ["a.txt"]  # b.txt's mtime differs from the known one
    assert trusted.skipped == {"binary": 1}
    assert paths(scan(tmp_path, options)) == []  # without `known`, everything is sniffed


def test_sniff_false_leaves_the_content_rules_to_the_caller(tmp_path: Path) -> None:
    write(tmp_path, "data.txt", "binary\x00\n")
    write(tmp_path, "key.txt", "-----BEGIN EC PRIVATE KEY-----\nMHc=\n")
    write(tmp_path, ".env", "KEY=1\n")
    write(tmp_path, "big.txt", "x" * 2000)
    unsniffed = PathPolicy(tmp_path, WALK).scan(sniff=False)
    # Name and size rules still apply; the minified-looking big.txt is not sniffed either.
    assert paths(unsniffed) == ["big.txt", "data.txt", "key.txt"]
    assert unsniffed.skipped == {"secret": 1}
    big = ScanOptions(max_file_bytes=1000, use_git=False)
    assert PathPolicy(tmp_path, big).scan(sniff=False).skipped == {"secret": 1, "too-large": 1}


@pytest.mark.parametrize("pattern", GENERATED_NAMES)
def test_generated_by_name(tmp_path: Path, pattern: str) -> None:
    example = "pkg/" + example_for(pattern)
    write(tmp_path, example, "ordinary = 1\n")
    assert scan(tmp_path, WALK).skipped == {"generated": 1}
    assert PathPolicy(tmp_path, WALK).check_path(example) is SkipReason.GENERATED


@pytest.mark.parametrize(
    "header",
    [
        "// Code generated by protoc-gen-go. DO NOT EDIT.\n",
        "# @generated by tools/codegen\n",
        "// <auto-generated>\n//   This code was generated by a tool.\n// </auto-generated>\n",
        '"""Module docstring."""\n# This file is maintained by a script; do not edit.\n',
    ],
)
def test_generated_by_content_marker(tmp_path: Path, header: str) -> None:
    write(tmp_path, "api.go", header + "package api\n")
    result = scan(tmp_path, WALK)
    assert paths(result) == []
    assert result.skipped == {"generated": 1}


def test_marker_far_from_the_top_is_not_generated(tmp_path: Path) -> None:
    body = "".join(f"line_{n} = {n}\n" for n in range(10))
    write(tmp_path, "lint.py", body + 'MESSAGE = "@generated files are skipped; DO NOT EDIT"\n')
    assert paths(scan(tmp_path, WALK)) == ["lint.py"]


def test_minified_code_is_generated_but_long_prose_is_not(tmp_path: Path) -> None:
    minified = "var a=1;" + ";".join(f"function f{n}(x){{return x*{n}}}" for n in range(400))
    write(tmp_path, "static/app.js", "/*! lib v1 | MIT */\n" + minified + "\n")
    paragraph = " ".join(["word"] * 150)  # ~750 characters: an unwrapped paragraph
    write(tmp_path, "README.md", "# Title\n\n" + "\n\n".join([paragraph] * 12) + "\n")
    short = "".join(f"x{n} = {n}\n" for n in range(200))
    write(tmp_path, "table.py", short + "BLOB = '" + "A" * 3000 + "'\n" + short)
    result = scan(tmp_path, WALK)
    assert paths(result) == ["README.md", "table.py"]
    assert result.skipped == {"generated": 1}


def test_classify_content_directly() -> None:
    assert classify_content(b"") is None
    assert classify_content(b"print('hi')\n") is None
    assert classify_content(b"\x00\x01") is SkipReason.BINARY
    assert classify_content(b"-----BEGIN EC PRIVATE KEY-----\nMHc=\n") is SkipReason.SECRET
    assert classify_content(b"// Code generated by go generate; DO NOT EDIT.\n") is (
        SkipReason.GENERATED
    )
    assert classify_content(b"x" * 8192) is SkipReason.GENERATED


# --- symlinks, unreadable files, special files ----------------------------------------------


@needs_symlinks
def test_symlink_loops_terminate_without_duplicates(tmp_path: Path) -> None:
    write(tmp_path, "a/b/mod.py")
    (tmp_path / "a/b/up").symlink_to("../..", target_is_directory=True)
    (tmp_path / "a/self").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "spin").symlink_to("spin")  # a link to itself
    (tmp_path / "ping").symlink_to("pong")
    (tmp_path / "pong").symlink_to("ping")
    result = scan(tmp_path, WALK)
    assert paths(result) == ["a/b/mod.py"]
    assert result.skipped == {"unreadable": 3}
    policy = PathPolicy(tmp_path, WALK)
    assert policy.check_file("spin") is SkipReason.UNREADABLE
    assert policy.check_file("a/b/up") is SkipReason.NOT_A_FILE
    # A path through a folder symlink inside the root is judged by its real location.
    assert isinstance(policy.check_file("a/self/b/mod.py"), ScannedFile)


@needs_symlinks
def test_symlinks_out_of_the_root_are_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    write(outside, "leak.py", "SECRET = 1\n")
    write(root, "real.py")
    write(root, ".env", "TOKEN=1\n")
    (root / "leak.py").symlink_to(outside / "leak.py")
    (root / "leakdir").symlink_to(outside, target_is_directory=True)
    (root / "alias.py").symlink_to("real.py")
    (root / "innocent.txt").symlink_to(".env")
    (root / "dangling.py").symlink_to("nowhere.py")
    result = scan(root, WALK)
    # A file symlink to a file inside the root is indexed under the link's own path.
    assert paths(result) == ["alias.py", "real.py"]
    assert result.files[0].size == result.files[1].size
    assert result.skipped == {"secret": 2, "outside-root": 2, "unreadable": 1}
    policy = PathPolicy(root, WALK)
    assert policy.check_file("leak.py") is SkipReason.OUTSIDE_ROOT
    assert policy.check_file("leakdir/leak.py") is SkipReason.OUTSIDE_ROOT
    assert policy.check_file("innocent.txt") is SkipReason.SECRET
    assert policy.check_file("../outside/leak.py") is SkipReason.OUTSIDE_ROOT
    assert policy.check_path(str(outside / "leak.py")) is SkipReason.OUTSIDE_ROOT


@needs_git
@needs_symlinks
@pytest.mark.usefixtures("git_env")
def test_git_mode_refuses_symlinks_out_of_the_root_too(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    write(outside, "leak.py")
    write(root, "real.py")
    (root / "leak.py").symlink_to(outside / "leak.py")
    git(root, "init", "-q")
    commit_all(root)
    # The work tree changes under git's index: a tracked folder becomes a symlink out.
    write(root, "pkg/mod.py")
    git(root, "add", "pkg/mod.py")
    shutil.rmtree(root / "pkg")
    (root / "pkg").symlink_to(outside, target_is_directory=True)
    write(outside, "mod.py")
    result = scan(root)
    assert result.mode == "git"
    assert paths(result) == ["real.py"]
    # leak.py, the tracked pkg/mod.py behind the folder link, and the link `pkg` itself
    # (git lists it as an untracked file).
    assert result.skipped == {"outside-root": 3}


def test_fifo_is_never_opened(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(tmp_path / "pipe")
    write(tmp_path, "app.py")
    result = scan(tmp_path, WALK)  # would hang forever if the FIFO were opened
    assert paths(result) == ["app.py"]
    assert result.skipped == {}
    assert PathPolicy(tmp_path, WALK).check_file("pipe") is SkipReason.NOT_A_FILE


CHILD_SCAN = """
import json, sys
from pathlib import Path
try:
    from minimax_lsp.indexer.scan import PathPolicy, ScanOptions, scan
except Exception as error:
    print("IMPORT-FAILED", error)
    sys.exit(3)
root, options = Path(sys.argv[1]), ScanOptions(use_git=False)
result = scan(root, options)
check = PathPolicy(root, options).check_file("locked.py")
print(json.dumps({"files": [f.path for f in result.files], "skipped": dict(result.skipped),
                  "check": check.value}))
"""


def _make_unreadable_tree(root: Path) -> None:
    write(root, "ok.py")
    write(root, "locked.py")
    write(root, "lockdir/inner.py")
    (root / "locked.py").chmod(0)
    (root / "lockdir").chmod(0)


def _restore_modes(root: Path) -> None:
    (root / "locked.py").chmod(0o644)
    (root / "lockdir").chmod(0o755)


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_unreadable_file_and_folder_are_counted_not_fatal(tmp_path: Path) -> None:
    _make_unreadable_tree(tmp_path)
    try:
        if os.geteuid() != 0:
            result = scan(tmp_path, WALK)
            check = PathPolicy(tmp_path, WALK).check_file("locked.py")
            observed = {
                "files": paths(result),
                "skipped": dict(result.skipped),
                "check": check.value if isinstance(check, SkipReason) else check,
            }
        else:
            # Root reads through chmod 000 thanks to CAP_DAC_OVERRIDE, so the scan runs in
            # a child process that has dropped that capability (and its read-only twin).
            setpriv = shutil.which("setpriv")
            child = [sys.executable, "-c", CHILD_SCAN, str(tmp_path)]
            if setpriv is None:
                pytest.skip("running as root and setpriv is not installed")
            done = subprocess.run(
                [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *child],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if done.returncode == 3:
                pytest.skip(f"the child cannot import the package: {done.stdout.strip()}")
            assert done.returncode == 0, done.stderr
            observed = json.loads(done.stdout)
    finally:
        _restore_modes(tmp_path)
    assert observed == {"files": ["ok.py"], "skipped": {"unreadable": 2}, "check": "unreadable"}


# --- git mode -----------------------------------------------------------------------------

MIXED_TREE: dict[str, str | bytes] = {
    ".gitignore": "*.log\n/tmp/\ncache/\n",
    ".aiignore": "drafts/\n",
    "README.md": "# project\n",
    "src/app.py": PYTHON,
    "src/util/helpers.py": PYTHON,
    "src/.gitignore": "generated_*.py\n",
    "src/generated_x.py": PYTHON,
    "src/api.pb.go": "package api\n",
    "node_modules/lib/index.js": "module.exports = 1\n",
    ".env": "TOKEN=1\n",
    "secrets/key.txt": "k\n",
    "static/app.min.js": "var a=1\n",
    "image.png": b"\x89PNG\r\n",
    "data.bin.txt": b"\x00\x01",
    "drafts/d.py": PYTHON,
    "debug.log": "x\n",
    "tmp/t.py": PYTHON,
    "docs/guide.md": "guide\n",
    "cache/c.py": PYTHON,
    "vendor/v.go": "package v\n",
}
MIXED_EXPECTED = [
    ".aiignore",
    ".gitignore",
    "README.md",
    "docs/guide.md",
    "src/.gitignore",
    "src/app.py",
    "src/new_module.py",
    "src/util/helpers.py",
]


@pytest.mark.usefixtures("git_env")
def test_git_mode_and_walk_mode_give_the_same_files(tmp_path: Path) -> None:
    for rel, content in MIXED_TREE.items():
        write(tmp_path, rel, content)
    git(tmp_path, "init", "-q")
    commit_all(tmp_path)
    write(tmp_path, "src/new_module.py")  # untracked, not ignored
    write(tmp_path, "later.log", "x\n")  # untracked, ignored
    via_git, walked = scan(tmp_path), scan(tmp_path, WALK)
    assert (via_git.mode, walked.mode) == ("git", "walk")
    assert paths(via_git) == MIXED_EXPECTED
    assert via_git.files == walked.files  # same paths, sizes and mtimes


@pytest.mark.usefixtures("git_env")
def test_root_that_is_a_subfolder_of_a_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo, ".gitignore", "*.tmp\nsub/ignored/\nscratch/\n")
    write(repo, ".aiignore", "sub/notes.md\n")
    for rel in ("other.py", "sub/a.py", "sub/x.tmp", "sub/ignored/b.py", "sub/pkg/c.py"):
        write(repo, rel)
    write(repo, "sub/notes.md", "notes\n")
    write(repo, "scratch/s.py")
    git(repo, "init", "-q")
    commit_all(repo)
    write(repo, "sub/new.py")
    root = repo / "sub"
    for options in (ScanOptions(), WALK):
        result = scan(root, options)
        assert paths(result) == ["a.py", "new.py", "pkg/c.py"], options
        assert result.skipped.get("ai-ignored") == 1
    assert scan(root).mode == "git"
    policy = PathPolicy(root)
    assert policy.check_path("x.tmp") is SkipReason.IGNORED
    assert policy.check_path("ignored/z.py") is SkipReason.IGNORED
    assert policy.check_path("notes.md") is SkipReason.AI_IGNORED
    assert policy.check_path("pkg/c.py") is None
    # A root that the repository's .gitignore excludes as a whole.
    assert scan(repo / "scratch").files == ()
    assert scan(repo / "scratch", WALK).skipped == {"ignored": 1}


@pytest.mark.usefixtures("git_env")
def test_check_path_in_git_mode_knows_tracked_and_ignored_files(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.gen\nout_dir/\n")
    write(tmp_path, "keep.gen", "x\n")
    write(tmp_path, "out_dir/tracked.py")
    write(tmp_path, "app.py")
    git(tmp_path, "init", "-q")
    commit_all(tmp_path, force=True)  # force-adds the ignored files: git tracks them now
    write(tmp_path, "new.gen", "x\n")
    write(tmp_path, "out_dir/untracked.py")
    write(tmp_path, "editor.swp", "x\n")
    write(Path(os.environ["XDG_CONFIG_HOME"]), "git/ignore", "*.swp\n")  # global excludes

    policy = PathPolicy(tmp_path)
    assert policy.check_path("new.gen") is SkipReason.IGNORED
    assert policy.check_path("editor.swp") is SkipReason.IGNORED
    assert policy.check_path("out_dir/untracked.py") is SkipReason.IGNORED
    assert policy.check_path("keep.gen") is None
    assert policy.check_path("out_dir/tracked.py") is None
    assert policy.check_path("out_dir") is None  # holds tracked files: do not prune it
    assert isinstance(policy.check_file("keep.gen"), ScannedFile)
    result = policy.scan()
    assert result.mode == "git"
    assert paths(result) == [".gitignore", "app.py", "keep.gen", "out_dir/tracked.py"]


@pytest.mark.usefixtures("git_env")
def test_falls_back_to_walking_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for rel, content in MIXED_TREE.items():
        write(tmp_path, rel, content)
    git(tmp_path, "init", "-q")
    commit_all(tmp_path)
    write(tmp_path, "src/new_module.py")
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = scan(tmp_path)
    assert result.mode == "walk"
    assert paths(result) == MIXED_EXPECTED
    assert PathPolicy(tmp_path).check_path("debug.log") is SkipReason.IGNORED


# --- cancellation, API details ------------------------------------------------------------


class CancelAfter(threading.Event):
    """An event that reports itself set after ``checks`` polls (drives a mid-scan cancel)."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.left = checks

    def is_set(self) -> bool:
        self.left -= 1
        return self.left < 0 or super().is_set()


@pytest.mark.parametrize("use_git", [False, True])
@pytest.mark.usefixtures("git_env")
def test_cancel_returns_what_was_found_so_far(tmp_path: Path, use_git: bool) -> None:
    for n in range(40):
        write(tmp_path, f"pkg{n % 4}/mod{n:02}.py")
    if use_git:
        git(tmp_path, "init", "-q")
    options = ScanOptions(use_git=use_git)
    full = scan(tmp_path, options)
    assert len(full.files) == 40 and not full.cancelled

    partial = scan(tmp_path, options, cancel=CancelAfter(15))
    assert partial.cancelled
    assert 0 < len(partial.files) < 40
    assert paths(partial) == sorted(paths(partial))
    assert set(paths(partial)) <= set(paths(full))

    already = threading.Event()
    already.set()
    stopped = scan(tmp_path, options, cancel=already)
    assert stopped.cancelled and stopped.files == ()


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        (".gitignore", True),
        ("src/deep/.gitignore", True),
        (".aiignore", True),
        ("a/.cursorignore", True),
        (".aiderignore", True),
        (".continueignore", True),
        (".copilotignore", True),
        (".codeiumignore", True),
        (".minimaxignore", True),
        (".git/info/exclude", True),
        ("gitignore", False),
        ("src/.gitignore.bak", False),
        ("docs/aiignore.md", False),
        ("app.py", False),
    ],
)
def test_is_ignore_file(rel: str, expected: bool) -> None:
    assert is_ignore_file(rel) is expected


def test_paths_outside_the_root_and_normalisation(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, "pkg/a.py")
    policy = PathPolicy(root, WALK)
    assert policy.check_path("../x.py") is SkipReason.OUTSIDE_ROOT
    assert policy.check_path("pkg/../../x.py") is SkipReason.OUTSIDE_ROOT
    assert policy.check_path(str(tmp_path / "x.py")) is SkipReason.OUTSIDE_ROOT
    assert policy.check_path(str(root / "pkg" / "a.py")) is None
    assert policy.check_path(".git/config") is SkipReason.IGNORED
    assert policy.check_file("./pkg//a.py") == policy.check_file("pkg/a.py")
    checked = policy.check_file("pkg/./a.py")
    assert isinstance(checked, ScannedFile) and checked.path == "pkg/a.py"
    assert policy.check_file("pkg/missing.py") is SkipReason.NOT_A_FILE
    assert policy.check_file("pkg") is SkipReason.NOT_A_FILE
    with pytest.raises(ValueError, match="empty"):
        policy.check_path("")
    with pytest.raises(NotADirectoryError):
        PathPolicy(tmp_path / "missing")


@needs_symlinks
def test_relative_accepts_both_spellings_of_the_root(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write(real, "a.py")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    policy = PathPolicy(link, WALK)
    assert policy.root == real.resolve()
    assert policy.relative(str(link / "a.py")) == "a.py"
    assert policy.relative(real / "pkg" / "b.py") == "pkg/b.py"
    assert policy.relative("pkg/../a.py") == "a.py"
    assert policy.relative("../a.py") is None
    assert policy.relative(str(tmp_path / "other.py")) is None
    assert policy.relative(str(real)) is None  # the root itself is not a file inside it


def test_reload_picks_up_changed_ignore_files(tmp_path: Path) -> None:
    write(tmp_path, "draft.py")
    policy = PathPolicy(tmp_path, WALK)
    assert policy.check_path("draft.py") is None
    write(tmp_path, ".aiignore", "draft.py\n")
    assert policy.check_path("draft.py") is None  # rules are cached until reload()
    policy.reload()
    assert policy.check_path("draft.py") is SkipReason.AI_IGNORED


@pytest.mark.usefixtures("git_env")
def test_reload_notices_a_new_repository(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.gen\n")
    write(tmp_path, "tracked.gen", "x\n")
    policy = PathPolicy(tmp_path)
    assert policy.scan().mode == "walk"
    assert policy.check_path("tracked.gen") is SkipReason.IGNORED
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-f", "tracked.gen")
    policy.reload()
    assert policy.check_path("tracked.gen") is None  # tracked now: gitignore no longer applies
    assert paths(policy.scan()) == [".gitignore", "tracked.gen"]


def test_name_rules_shapes() -> None:
    rules = NameRules(["*.pem", "id_rsa*", "exact.txt", "a[0-9]?.cfg", "x/y.json", "cache/"])
    assert rules.match_file("deep/server.pem")
    assert rules.match_file("id_rsa.pub")
    assert rules.match_file("exact.txt") and not rules.match_file("exact.txt.bak")
    assert rules.match_file("a1b.cfg") and not rules.match_file("ab1.cfg")
    assert rules.match_file("x/y.json") and rules.match_file("deep/x/y.json")
    assert not rules.match_file("y.json") and not rules.match_file("zx/y.json")
    assert rules.match_dir("cache") and not rules.match_file("cache")
    assert not rules.match_file("Server.PEM")  # case-sensitive unless asked
    assert NameRules(["*.pem"], ignore_case=True).match_file("Server.PEM")
    for bad in ("**/x", "/x", "!x", "a/b/", ""):
        with pytest.raises(ValueError, match="unsupported"):
            NameRules([bad])


def test_concurrent_checks_agree_with_serial_ones(tmp_path: Path) -> None:
    for rel, content in MIXED_TREE.items():
        write(tmp_path, rel, content)
    queries = [*MIXED_TREE, "src/other.py", "drafts/x/y.py", "node_modules/a/b.js"] * 20
    expected = [PathPolicy(tmp_path, WALK).check_path(rel) for rel in queries]
    shared = PathPolicy(tmp_path, WALK)
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(shared.check_path, queries)) == expected


def _iter_reasons() -> Iterator[str]:
    yield from (reason.value for reason in SkipReason)


def test_skip_reason_values_are_the_contract() -> None:
    assert list(_iter_reasons()) == [
        "ignored",
        "ai-ignored",
        "user-ignored",
        "secret",
        "vendored",
        "generated",
        "binary",
        "too-large",
        "outside-root",
        "unreadable",
        "not-a-file",
        "data",  # an addition to the contract's list (appended: the rest keeps its order)
    ]
