"""Sentence lists in assets/sentences/<lang>.txt: one sentence a line, '#' starts a comment.

Imports: standard library.
"""
from __future__ import annotations

from pathlib import Path

SENTENCES_DIR = Path(__file__).resolve().parents[2] / "assets" / "sentences"


def load_sentences(lang: str, path: str | Path | None = None) -> list[str]:
    """The sentences of ``lang`` (or of the file ``path``), in file order, without duplicates."""
    path = Path(path) if path else SENTENCES_DIR / f"{lang}.txt"
    if not path.exists():
        raise FileNotFoundError(f"No sentence list at {path}; write one sentence per line there.")
    seen: set[str] = set()
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and line not in seen:
            seen.add(line)
            out.append(line)
    return out
