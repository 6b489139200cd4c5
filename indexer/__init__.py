"""Workspace index: scan, parse, symbols, ranking and packing. No LSP imports here."""
