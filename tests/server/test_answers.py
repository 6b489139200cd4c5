"""Answer documents: named by time, task and request; only the newest `KEEP` stay."""

from __future__ import annotations

from pathlib import Path

from minimax_lsp.server.answers import KEEP, answer_path, write_answer


def test_answer_path_is_sortable_and_safe(tmp_path: Path) -> None:
    path = answer_path(tmp_path, "chat", "../../etc/passwd x", now=0)
    assert path.parent == tmp_path
    assert path.name.endswith("-chat-______etc_passwd_x.md")


def test_old_answers_are_pruned(tmp_path: Path) -> None:
    folder = tmp_path / "answers"
    for i in range(KEEP + 5):
        # Distinct, increasing names (one write per second would be slow to test).
        (folder / f"20260101-0000{i:02d}-explain-old.md").parent.mkdir(exist_ok=True)
        (folder / f"20260101-0000{i:02d}-explain-old.md").write_text("old")
    newest = write_answer(folder, "explain", "r1", "MiniMax: Explain a.py", "Because.\n\n")
    kept = sorted(folder.glob("*.md"))
    assert len(kept) == KEEP and newest in kept
    assert newest.read_text(encoding="utf-8") == "# MiniMax: Explain a.py\n\nBecause.\n"
    assert not (folder / "20260101-000000-explain-old.md").exists()
