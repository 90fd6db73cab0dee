"""``corpus stats DIR``: minutes per language, voice and split, and phone coverage.

Imports: standard library.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from .format import SILENCES, iter_records


def corpus_stats(out: Path) -> dict[str, Any]:
    """{"minutes": {lang: {voice: m}}, "splits": {split: m}, "utterances": n,
    "phones": {lang/notation: {symbol: count}}, "augmented_minutes": m, "targets": n}."""
    minutes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    splits: dict[str, float] = defaultdict(float)
    phones: dict[str, Counter[str]] = defaultdict(Counter)
    n = targets = 0
    augmented = 0.0
    for _, rec in iter_records(Path(out)):
        n += 1
        m = float(rec.get("duration", 0.0)) / 60.0
        minutes[rec["lang"]][rec["voice"]] += m
        splits[rec.get("split", "train")] += m
        if rec.get("augment"):
            augmented += m
        if "targets_file" in rec:
            targets += 1
        for symbol, _, _ in rec.get("phones") or []:
            if symbol not in SILENCES:
                phones[f"{rec['lang']}/{rec['notation']}"][symbol] += 1
    return {
        "utterances": n,
        "minutes": {lang: {v: round(m, 2) for v, m in sorted(vs.items())}
                    for lang, vs in sorted(minutes.items())},
        "splits": {s: round(m, 2) for s, m in sorted(splits.items())},
        "augmented_minutes": round(augmented, 2),
        "targets": targets,
        "phones": {key: dict(c.most_common()) for key, c in sorted(phones.items())},
    }


def format_stats(stats: dict[str, Any]) -> str:
    lines = [f"{stats['utterances']} utterances"]
    for lang, voices in stats["minutes"].items():
        lines.append(f"{lang}: {sum(voices.values()):.1f} min")
        lines += [f"  {voice:<28} {m:7.1f} min" for voice, m in voices.items()]
    lines.append("splits: " + ", ".join(f"{s} {m:.1f} min" for s, m in stats["splits"].items()))
    if stats["augmented_minutes"]:
        lines.append(f"augmented: {stats['augmented_minutes']:.1f} min")
    if stats["targets"]:
        lines.append(f"capture utterances with targets: {stats['targets']}")
    for key, counts in stats["phones"].items():
        rare = [s for s, c in counts.items() if c < 5]
        lines.append(f"{key}: {len(counts)} phones" + (f"; fewer than 5: {' '.join(rare)}"
                                                       if rare else ""))
    return "\n".join(lines)
