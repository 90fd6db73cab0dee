"""Voice-balanced selection of training utterances.

Owns :func:`select_by_voice`: caps the training minutes taken from each voice so one prolific
voice (62 minutes of Open JTalk mei, say) does not drown the others, and a training run fits the
time it has. Validation and test utterances are always kept whole. Deterministic from a seed:
voices are visited in sorted order, each voice's utterances sorted by key and shuffled with one
``random.Random(seed)``.

Augmented copies (``corpus augment``; their ``source`` names the utterance they were made from)
are not drawn on their own: a copy is kept exactly when its source is, and its minutes do not
count against the cap. So adding an augmented corpus to a config adds acoustic variety to the
same sentences instead of displacing clean ones.

Imports: standard library only.
"""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Collection, Mapping, Sequence, TypeVar

U = TypeVar("U")   # anything with .voice, .split, .duration (seconds) and .key (".../<id>"),
                   # optionally .source (the id an augmented copy was made from, else None)


def _source(u) -> str | None:
    return getattr(u, "source", None)


def _uid(u) -> str:
    return str(u.key).rsplit("/", 1)[-1]


def _corpus(u) -> str:
    return str(u.key).split("/", 1)[0]


def select_by_voice(utts: Sequence[U], voice_minutes: Mapping[str, float] | None,
                    default_minutes: float | None, seed: int = 0,
                    train_splits: Sequence[str] = ("train",),
                    uncapped: Collection[str] = ()) -> list[U]:
    """The utterances to use: at most ``voice_minutes[voice]`` (else ``default_minutes``) minutes
    of training speech per voice; ``None`` for both means no cap. Utterances of the corpora named
    in ``uncapped`` (directory names, the first part of a key) are all kept and count against no
    cap, so the capped choice is the same with or without them. Order of ``utts`` is kept."""
    if not voice_minutes and default_minutes is None:
        return list(utts)
    caps = dict(voice_minutes or {})
    by_voice: dict[str, list[U]] = defaultdict(list)
    for u in utts:
        capped = _corpus(u) not in uncapped
        if u.split in train_splits and _source(u) is None and capped:  # type: ignore[attr-defined]
            by_voice[u.voice].append(u)                   # type: ignore[attr-defined]
    rng = random.Random(seed)
    chosen: set[int] = set()
    for voice in sorted(by_voice):
        pool = sorted(by_voice[voice], key=lambda u: u.key)   # type: ignore[attr-defined]
        rng.shuffle(pool)
        cap_min = caps.get(voice, default_minutes)
        limit = float("inf") if cap_min is None else 60.0 * cap_min   # seconds
        total = 0.0
        for u in pool:
            if total + u.duration > limit:                # type: ignore[attr-defined]
                continue
            total += u.duration                           # type: ignore[attr-defined]
            chosen.add(id(u))
    chosen.update(id(u) for u in utts if _corpus(u) in uncapped)
    sources: set[tuple[str, str | None]] = \
        {(u.voice, _uid(u)) for u in utts if id(u) in chosen}  # type: ignore[attr-defined]
    for u in utts:
        if u.split in train_splits and (u.voice, _source(u)) in sources:  # type: ignore[attr-defined]
            chosen.add(id(u))
    return [u for u in utts
            if u.split not in train_splits or id(u) in chosen]   # type: ignore[attr-defined]
