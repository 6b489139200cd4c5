"""minimax-lsp: MiniMax's long-context models in any LSP editor.

The repository folders ``server/`` and ``indexer/`` install as
``minimax_lsp.server`` and ``minimax_lsp.indexer``; this file is the package root.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("minimax-lsp")
except PackageNotFoundError:  # running from a tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
