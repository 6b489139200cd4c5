"""The package layout contract: namespaced import names, every package listed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _listed_packages() -> set[str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    return set(data["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = _listed_packages()
    found = set()
    for top, dotted in (("server", "minimax_lsp.server"), ("indexer", "minimax_lsp.indexer")):
        for init in (REPO / top).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / top)
            if rel.parts and rel.parts[0] == "_root":
                continue
            found.add(".".join((dotted, *rel.parts)))
    assert found - listed == set(), "add these to [tool.setuptools] packages"


def test_import_names_are_namespaced() -> None:
    import minimax_lsp.indexer
    import minimax_lsp.server

    assert Path(minimax_lsp.server.__file__).parent == REPO / "server"
    assert Path(minimax_lsp.indexer.__file__).parent == REPO / "indexer"


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "minimax_lsp", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("minimax-lsp ")
