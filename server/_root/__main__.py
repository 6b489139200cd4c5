"""``python -m minimax_lsp`` runs the same command line as the ``minimax-lsp`` script."""

from minimax_lsp.server.cli import main

raise SystemExit(main())
