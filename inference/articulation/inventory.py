"""The internal phone set: IPA-based symbols with articulatory features, and evaluation classes.

Every notation (ARPAbet, espeak-ng IPA, Open JTalk, kana) is converted into these symbols by
:mod:`.phones`; the poses, the coarticulation model and the evaluation read only these.

Besides IPA there are four internal symbols:
``sil`` (silence or pause), ``N`` (Japanese moraic nasal ん, realised by its context),
``Q`` (Japanese sokuon っ, holds the next consonant), and the devoiced Japanese vowels written
with a ring below (``i̥``, ``ɯ̥``, ...).

Imports: standard library only.
"""
from __future__ import annotations

from dataclasses import dataclass

# Places of articulation, front to back.
PLACES = ("bilabial", "labiodental", "dental", "alveolar", "postalveolar", "palatal",
          "labial-velar", "velar", "glottal")
MANNERS = ("stop", "nasal", "fricative", "affricate", "approximant", "lateral", "flap")
HEIGHTS = ("close", "near-close", "close-mid", "mid", "open-mid", "near-open", "open")
BACKNESS = ("front", "central", "back")
RING = "\u0325"        # combining ring below: devoiced vowel


@dataclass(frozen=True)
class PhoneInfo:
    symbol: str                    # internal symbol, e.g. "æ", "tʃ", "N"
    kind: str                      # "vowel", "consonant", "silence", "moraic_nasal", "sokuon"
    height: str | None = None      # vowels: one of HEIGHTS
    backness: str | None = None    # vowels: one of BACKNESS
    rounded: bool = False          # vowels and w-like consonants: lips rounded or compressed
    place: str | None = None       # consonants: one of PLACES
    manner: str | None = None      # consonants: one of MANNERS
    voiced: bool = True
    palatalized: bool = False      # Japanese ky, gy, py ... (a palatal glide rides on it)
    rhotic: bool = False           # ɚ, ɹ

    @property
    def is_vowel(self) -> bool:
        return self.kind == "vowel"


def _vowels() -> list[PhoneInfo]:
    rows = [  # symbol, height, backness, rounded, rhotic
        ("i", "close", "front", False, False), ("ɪ", "near-close", "front", False, False),
        ("e", "close-mid", "front", False, False), ("ɛ", "open-mid", "front", False, False),
        ("æ", "near-open", "front", False, False), ("a", "open", "central", False, False),
        ("ɑ", "open", "back", False, False), ("ʌ", "open-mid", "central", False, False),
        ("ə", "mid", "central", False, False), ("ɚ", "mid", "central", True, True),
        ("ɔ", "open-mid", "back", True, False), ("o", "close-mid", "back", True, False),
        ("ʊ", "near-close", "back", True, False), ("u", "close", "back", True, False),
        ("ɯ", "close", "back", True, False),   # Japanese u: compressed, hardly protruded
    ]
    out = []
    for sym, height, back, rounded, rhotic in rows:
        out.append(PhoneInfo(sym, "vowel", height, back, rounded, rhotic=rhotic))
    for sym in ("a", "i", "ɯ", "e", "o"):       # Japanese devoiced vowels (Open JTalk A I U E O)
        base = next(p for p in out if p.symbol == sym)
        out.append(PhoneInfo(sym + RING, "vowel", base.height, base.backness, base.rounded,
                             voiced=False))
    return out


def _consonants() -> list[PhoneInfo]:
    rows = [  # symbol, place, manner, voiced
        ("p", "bilabial", "stop", False), ("b", "bilabial", "stop", True),
        ("m", "bilabial", "nasal", True), ("ɸ", "bilabial", "fricative", False),
        ("β", "bilabial", "fricative", True),
        ("f", "labiodental", "fricative", False), ("v", "labiodental", "fricative", True),
        ("θ", "dental", "fricative", False), ("ð", "dental", "fricative", True),
        ("t", "alveolar", "stop", False), ("d", "alveolar", "stop", True),
        ("n", "alveolar", "nasal", True), ("s", "alveolar", "fricative", False),
        ("z", "alveolar", "fricative", True), ("ts", "alveolar", "affricate", False),
        ("dz", "alveolar", "affricate", True), ("l", "alveolar", "lateral", True),
        ("ɾ", "alveolar", "flap", True),
        ("ɹ", "postalveolar", "approximant", True),
        ("ʃ", "postalveolar", "fricative", False), ("ʒ", "postalveolar", "fricative", True),
        ("tʃ", "postalveolar", "affricate", False), ("dʒ", "postalveolar", "affricate", True),
        # Japanese sh, j, ch: alveolo-palatal, filed under postalveolar, lips not rounded
        ("ɕ", "postalveolar", "fricative", False), ("ʑ", "postalveolar", "fricative", True),
        ("tɕ", "postalveolar", "affricate", False), ("dʑ", "postalveolar", "affricate", True),
        ("j", "palatal", "approximant", True), ("ç", "palatal", "fricative", False),
        ("ɲ", "palatal", "nasal", True),
        ("w", "labial-velar", "approximant", True),
        ("ɰ", "labial-velar", "approximant", True),     # Japanese w: lips compressed, not protruded
        ("k", "velar", "stop", False), ("g", "velar", "stop", True),
        ("ŋ", "velar", "nasal", True),
        ("h", "glottal", "fricative", False), ("ʔ", "glottal", "stop", False),
    ]
    out = [PhoneInfo(sym, "consonant", place=place, manner=manner, voiced=voiced,
                     rounded=sym in ("w", "ɰ"), rhotic=sym == "ɹ")
           for sym, place, manner, voiced in rows]
    for base in ("k", "g", "p", "b", "m", "ɾ", "t", "d"):   # Open JTalk ky gy py by my ry ty dy
        info = next(p for p in out if p.symbol == base)
        out.append(PhoneInfo(base + "ʲ", "consonant", place=info.place, manner=info.manner,
                             voiced=info.voiced, palatalized=True))
    return out


INVENTORY: dict[str, PhoneInfo] = {p.symbol: p for p in (
    _vowels() + _consonants() + [
        PhoneInfo("sil", "silence", voiced=False),
        PhoneInfo("N", "moraic_nasal", manner="nasal"),
        PhoneInfo("Q", "sokuon", voiced=False),
    ])}

SILENCE = "sil"
MORAIC_NASAL = "N"
SOKUON = "Q"


def info(symbol: str) -> PhoneInfo:
    """Features of an internal symbol; ValueError naming it otherwise."""
    try:
        return INVENTORY[symbol]
    except KeyError:
        raise ValueError(f"Unknown internal phone {symbol!r}; convert notations with "
                         "normalize(phones, notation) first.") from None


# Evaluation classes (issue 5 section 4, issue 6): which frames count as what.
_OPEN = {"a", "ɑ", "æ", "ʌ"}
_SPREAD = {"i", "ɪ", "e", "ɛ"}
_ROUNDED = {"u", "ʊ", "o", "ɔ", "ɯ", "w", "ɰ"}


def phone_class(symbol: str) -> set[str]:
    """The classes an internal phone belongs to.

    Always includes its kind ("vowel", "consonant", "silence", "moraic_nasal", "sokuon") and,
    for consonants, place and manner. Evaluation classes: "bilabial" (p b m, plain or
    palatalised: the phones with a full lip closure), "labiodental" (f v), "open_vowel",
    "rounded_vowel" (w included), "spread_vowel", "schwa" (ə: the reduced vowel of "the", ARPAbet
    AH0), "silence", "devoiced_vowel". Devoiced vowels are not in the open/rounded/spread/schwa
    classes: their lips are weak and often hidden.
    """
    p = info(symbol)
    classes = {p.kind}
    if p.place:
        classes.add(p.place)
    if p.manner:
        classes.add(p.manner)
    if p.kind == "consonant" and p.place == "bilabial" and p.manner not in ("stop", "nasal"):
        classes.discard("bilabial")            # ɸ β: lips approach but do not close
        classes.add("bilabial_fricative")
    if p.is_vowel and not p.voiced:
        classes.add("devoiced_vowel")
        return classes
    if symbol in _OPEN:
        classes.add("open_vowel")
    if symbol in _SPREAD:
        classes.add("spread_vowel")
    if symbol in _ROUNDED:
        classes.add("rounded_vowel")
    if symbol == "ə":
        classes.add("schwa")
    return classes
