"""The language server, model client, prompts and command line (may import pygls)."""
