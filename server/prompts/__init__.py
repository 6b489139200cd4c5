"""Prompt construction per task (pure functions, no I/O)."""
