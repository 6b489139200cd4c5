"""One module per LSP feature; each adapts LSP requests to pure functions."""
