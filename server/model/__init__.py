"""MiniMax model client: Anthropic- and OpenAI-compatible wire formats behind one interface."""
