"""Measure token counting and secret redaction on real text (numbers for docs/tokens.md).

Run standalone from the repository root with the project's venv:

    python tests/bench/bench_tokens.py            # all tables
    python tests/bench/bench_tokens.py --findings # also list every redaction (path:line kind)

Corpora (whatever of them exists on this machine; capped per language, deterministic):
Python = the CPython 3.11 standard library, JavaScript = npm's own sources, C = system
headers and CPython's C files, Markdown = npm's docs, CJK = Chinese/Japanese/Korean text
files shipped with vim, gnupg, systemd and CPython's tests.

Tables:
1. throughput of exact o200k counting (our TokenCounter, cache off), of bpe-openai's
   public ``len(encode_ordinary())`` and of the character-class estimator;
2. error of the estimator against o200k per file (bias, mean, p95, max relative error),
   and how often the conservative stand-in (estimate * ESTIMATE_SLACK) stays above
   o200k, per file and per 40-file pack;
3. §14's formula (what the fake server counts) and cl100k against o200k;
4. redaction throughput and findings on the Python standard library.
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import bpe_openai

from minimax_lsp.indexer.redact import redact
from minimax_lsp.indexer.tokens import ESTIMATE_SLACK, TokenCounter, estimate

STDLIB = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
NPM = Path("/usr/lib/node_modules/npm")
MAX_BYTES_PER_LANGUAGE = 8_000_000
MAX_FILE_CHARS = 900_000  # encode_ordinary refuses >= 1M chars
PACK_FILES = 40
PACKS = 300


def _stdlib_root() -> Path:
    if STDLIB.is_dir():
        return STDLIB
    # Any CPython: the running interpreter's own standard library.
    return Path(os.__file__).parent


def _globs(language: str) -> list[str]:
    std = _stdlib_root()
    if language == "python":
        return sorted(
            p for p in glob.glob(f"{std}/**/*.py", recursive=True) if "site-packages" not in p
        )
    if language == "javascript":
        return sorted(glob.glob(f"{NPM}/**/*.js", recursive=True))
    if language == "c":
        headers = sorted(glob.glob("/usr/include/**/*.h", recursive=True))
        sources = sorted(glob.glob("/root/.pyenv/**/*.c", recursive=True))
        return headers + sources
    if language == "markdown":
        return sorted(glob.glob(f"{NPM}/**/*.md", recursive=True))
    if language == "cjk":
        names = [
            "/usr/share/vim/vim90/tutor/tutor.zh.utf-8",
            "/usr/share/vim/vim90/tutor/tutor.zh_tw.utf-8",
            "/usr/share/vim/vim90/tutor/tutor.ja.utf-8",
            "/usr/share/vim/vim90/tutor/tutor.ko.utf-8",
            "/usr/share/gnupg/help.zh_CN.txt",
            "/usr/share/gnupg/help.zh_TW.txt",
            "/usr/share/gnupg/help.ja.txt",
            "/usr/lib/systemd/catalog/systemd.zh_CN.catalog",
            "/usr/lib/systemd/catalog/systemd.zh_TW.catalog",
            "/usr/lib/systemd/catalog/systemd.ko.catalog",
        ]
        return names + sorted(glob.glob(f"{std}/test/cjkencodings/*-utf8.txt"))
    raise ValueError(language)


def _read(path: str) -> str | None:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:4096]:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if 200 <= len(text) <= MAX_FILE_CHARS else None


def corpus(language: str, cap: int | None = MAX_BYTES_PER_LANGUAGE) -> list[tuple[str, str]]:
    """(path, text) pairs; a deterministic stride keeps the total under ``cap`` chars."""
    paths = _globs(language)
    texts = [(p, t) for p in paths if (t := _read(p)) is not None]
    total = sum(len(t) for _, t in texts)
    if cap is not None and total > cap:
        stride = math.ceil(total / cap)
        texts = texts[::stride]
    return texts


def _mbps(chars: int, seconds: float) -> float:
    return chars / max(seconds, 1e-9) / 1e6


def _map(function: Callable[[str], object], texts: Sequence[str]) -> list[object]:
    return [function(text) for text in texts]


def _best_time(run: Callable[[], object], repeat: int = 3) -> float:
    """Best CPU time of ``repeat`` runs: CPU seconds, not wall-clock, so that other
    processes on a shared machine do not skew the figures (everything here runs on
    one thread)."""
    best = math.inf
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print(f"\n## {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def section14(text: str) -> int:
    """minimax-api.md §14's formula, which the fake server counts with (one message)."""
    non_ascii = 0 if text.isascii() else sum(1 for ch in text if ord(ch) > 127)
    return math.ceil((len(text) - non_ascii) / 3.5) + math.ceil(non_ascii * 0.625)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", action="store_true", help="list each redaction")
    args = parser.parse_args(argv)

    o200k = bpe_openai.get_encoding("o200k_base")
    cl100k = bpe_openai.get_encoding("cl100k_base")
    counter = TokenCounter(cache_size=0)
    assert counter.exact, "bpe-openai must be importable for the benchmark"

    languages = ["python", "javascript", "c", "markdown", "cjk"]
    corpora = {lang: corpus(lang) for lang in languages}
    corpora = {lang: files for lang, files in corpora.items() if files}
    version = sys.version.split()[0]
    print(f"python {version}, bpe-openai {bpe_openai.__version__}, cpus {os.cpu_count()}")
    print(f"ESTIMATE_SLACK = {ESTIMATE_SLACK}")

    # 1. throughput ---------------------------------------------------------------
    rows: list[list[object]] = []
    exact_counts: dict[str, list[int]] = {}
    for lang, files in corpora.items():
        texts = [t for _, t in files]
        chars = sum(len(t) for t in texts)
        exact_counts[lang] = [len(o200k.encode_ordinary(t)) for t in texts]
        ours = _best_time(partial(_map, counter.count, texts))
        public = _best_time(partial(_map, lambda t: len(o200k.encode_ordinary(t)), texts))
        est = _best_time(partial(_map, estimate, texts))
        rows.append(
            [
                lang,
                len(texts),
                f"{chars / 1e6:.2f}",
                f"{_mbps(chars, ours):.1f}",
                f"{_mbps(chars, public):.1f}",
                f"{_mbps(chars, est):.1f}",
                f"{chars / sum(exact_counts[lang]):.2f}",
            ]
        )
    _table(
        "1. Throughput (MB of characters per CPU second, best of 3)",
        [
            "corpus",
            "files",
            "MB",
            "TokenCounter.count",
            "len(encode_ordinary)",
            "estimate",
            "chars/token",
        ],
        rows,
    )

    # Worst cases for a BPE: one huge text, random base64, a single repeated char.
    big = "".join(t for _, t in corpora.get("python", next(iter(corpora.values()))))[:8_000_000]
    rng = random.Random(0)
    b64 = "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        for _ in range(2_000_000)
    )
    rows = []
    for name, text in [
        ("8 MB of code", big),
        ("2 MB random base64", b64),
        ("4 MB 'a'", "a" * 4_000_000),
    ]:
        ours = _best_time(partial(counter.count, text), repeat=1)
        est = _best_time(partial(estimate, text), repeat=1)
        rows.append([name, f"{_mbps(len(text), ours):.1f}", f"{_mbps(len(text), est):.1f}"])
    _table(
        "1b. Large and adversarial single texts (MB per CPU s)", ["text", "count", "estimate"], rows
    )

    # 2. estimator error ------------------------------------------------------------
    rows = []
    rng = random.Random(42)
    for lang, files in corpora.items():
        exact = exact_counts[lang]
        estimates = [estimate(t) for _, t in files]
        rel = [(e - x) / x for e, x in zip(estimates, exact, strict=True)]
        absolute = [abs(r) for r in rel]
        covered = sum(
            math.ceil(e * ESTIMATE_SLACK) >= x for e, x in zip(estimates, exact, strict=True)
        )
        pack_ratios = []
        for _ in range(PACKS if len(files) > PACK_FILES else 0):
            pick = rng.sample(range(len(files)), PACK_FILES)
            pack_est = sum(math.ceil(estimates[i] * ESTIMATE_SLACK) for i in pick)
            pack_ratios.append(pack_est / sum(exact[i] for i in pick))
        rows.append(
            [
                lang,
                f"{statistics.fmean(rel):+.1%}",
                f"{statistics.fmean(absolute):.1%}",
                f"{_quantile(absolute, 0.95):.1%}",
                f"{max(absolute):.1%}",
                f"{covered / len(files):.1%}",
                f"{min(pack_ratios):.3f}" if pack_ratios else "n/a",
            ]
        )
    _table(
        "2. Estimator vs o200k, relative error per file",
        [
            "corpus",
            "bias",
            "mean |err|",
            "p95 |err|",
            "max |err|",
            "slack >= o200k (files)",
            f"worst {PACK_FILES}-file pack, slack/o200k",
        ],
        rows,
    )

    # 3. other counts against o200k ------------------------------------------------------
    rows = []
    for lang, files in corpora.items():
        exact = exact_counts[lang]
        fake = [section14(t) / x for (_, t), x in zip(files, exact, strict=True)]
        cl = [len(cl100k.encode_ordinary(t)) / x for (_, t), x in zip(files, exact, strict=True)]
        total_fake = sum(section14(t) for _, t in files) / sum(exact)
        total_cl = sum(len(cl100k.encode_ordinary(t)) for _, t in files) / sum(exact)
        rows.append(
            [
                lang,
                f"{total_fake:.3f}",
                f"{_quantile(fake, 0.05):.2f}-{_quantile(fake, 0.95):.2f}",
                f"{total_cl:.3f}",
                f"{_quantile(cl, 0.05):.2f}-{_quantile(cl, 0.95):.2f}",
            ]
        )
    _table(
        "3. Ratios to o200k (corpus total; p5-p95 per file)",
        ["corpus", "§14 formula (fake server)", "§14 per file", "cl100k", "cl100k per file"],
        rows,
    )

    # 4. redaction ------------------------------------------------------------------------
    stdlib = corpus("python", cap=None)
    chars = sum(len(t) for _, t in stdlib)
    seconds = _best_time(partial(_map, redact, [t for _, t in stdlib]))
    findings: list[tuple[str, int, str]] = []
    for path, text in stdlib:
        result = redact(text)
        assert result.text.count("\n") == text.count("\n"), path
        findings.extend((path, f.line, f.kind) for f in result.findings)
    kinds = Counter(kind for _, _, kind in findings)
    _table(
        "4. Redaction on the Python standard library",
        ["files", "MB", "MB per CPU s", "findings", "by kind"],
        [
            [
                len(stdlib),
                f"{chars / 1e6:.1f}",
                f"{_mbps(chars, seconds):.1f}",
                len(findings),
                dict(kinds),
            ]
        ],
    )
    if args.findings:
        root = str(_stdlib_root()) + "/"
        for path, line, kind in findings:
            print(f"{path.replace(root, '')}:{line} {kind}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
