"""Per-language tree-sitter query files (package data)."""
