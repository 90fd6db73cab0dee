"""Phone notations -> the internal phone set (see :mod:`.inventory`), keeping the timings.

Owns the converters from ARPAbet (CMU dict, stress digits, TIMIT extras), IPA strings as
espeak-ng writes them (its English, Japanese, Spanish, French, German, Portuguese, Italian,
Russian, Mandarin and Korean voices) and Open JTalk phones, and :func:`normalize`, which
turns a list of ``(symbol, start_s, end_s)`` into :class:`Segment` s. A symbol that stands for
two targets (a diphthong such as ARPAbet ``AY`` or IPA ``aɪ``) is split in time; affricates stay
one phone. Kana text goes through :mod:`.kana` to Open JTalk symbols first.

Imports: standard library and this package's inventory only.
"""
from __future__ import annotations

import math
import unicodedata
from typing import Iterable, NamedTuple, Sequence

from .inventory import INVENTORY, MORAIC_NASAL, RING, SILENCE, SOKUON, info

NOTATIONS = ("arpabet", "ipa", "openjtalk")
OFFGLIDE_WEIGHT = 0.7      # share of the second vowel of a diphthong, relative to the first
CONSONANT_WEIGHT = 0.7     # share of a consonant inside a multi-phone IPA symbol


class Segment(NamedTuple):
    phone: str             # internal symbol (inventory.INVENTORY)
    start: float           # seconds
    end: float             # seconds
    long: bool = False     # marked long (IPA ː); Open JTalk writes long vowels as two vowels


# ---------------------------------------------------------------- ARPAbet
_SILENCES = {"", "sil", "sp", "spn", "pau", "_", "#", "h#", "<sil>", "sil0"}

_ARPABET = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "a ʊ", "AY": "a ɪ", "EH": "ɛ", "ER": "ɚ",
    "EY": "e ɪ", "IH": "ɪ", "IY": "i", "OW": "o ʊ", "OY": "ɔ ɪ", "UH": "ʊ", "UW": "u",
    "B": "b", "CH": "tʃ", "D": "d", "DH": "ð", "F": "f", "G": "g", "HH": "h", "JH": "dʒ",
    "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ",
    "T": "t", "TH": "θ", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
    # TIMIT / Festival extras
    "AX": "ə", "AXR": "ɚ", "IX": "ɪ", "UX": "u", "DX": "ɾ", "NX": "n", "EN": "n", "EM": "m",
    "EL": "l", "Q": "ʔ", "WH": "w", "HV": "h",
}


def _arpabet(symbol: str) -> list[tuple[str, float]]:
    """One ARPAbet symbol -> [(internal, weight)]: diphthongs give two vowels."""
    s = symbol.strip()
    if s.lower() in _SILENCES:
        return [(SILENCE, 1.0)]
    base = s.upper().rstrip("012")
    if base not in _ARPABET:
        raise ValueError(f"Unknown ARPAbet symbol {symbol!r}; expected CMU dict phones "
                         "(AA .. ZH, optionally with a stress digit) or sil/sp/pau.")
    stress = s[len(base):]
    targets = _ARPABET[base].split()
    if base == "AH" and stress == "0":
        targets = ["ə"]                          # unstressed AH is a schwa
    return [(t, 1.0 if i == 0 else OFFGLIDE_WEIGHT) for i, t in enumerate(targets)]


# ---------------------------------------------------------------- Open JTalk
_OPENJTALK = {
    "a": "a", "i": "i", "u": "ɯ", "e": "e", "o": "o",
    "A": "a" + RING, "I": "i" + RING, "U": "ɯ" + RING, "E": "e" + RING, "O": "o" + RING,
    "N": MORAIC_NASAL, "cl": SOKUON, "q": SOKUON,
    "k": "k", "g": "g", "s": "s", "sh": "ɕ", "z": "z", "j": "dʑ", "zy": "dʑ", "t": "t",
    "ch": "tɕ", "ts": "ts", "d": "d", "n": "n", "h": "h", "f": "ɸ", "b": "b", "p": "p",
    "m": "m", "y": "j", "r": "ɾ", "w": "ɰ", "v": "v", "ky": "kʲ", "gy": "gʲ", "ny": "ɲ",
    "hy": "ç", "by": "bʲ", "py": "pʲ", "my": "mʲ", "ry": "ɾʲ", "dy": "dʲ", "ty": "tʲ",
    "fy": "ɸ", "kw": "k", "gw": "g",
}


def _openjtalk(symbol: str) -> list[tuple[str, float]]:
    s = symbol.strip()
    if s in ("pau", "sil", "sp", "", "xx"):
        return [(SILENCE, 1.0)]
    if s not in _OPENJTALK:
        raise ValueError(f"Unknown Open JTalk phone {symbol!r}; expected a i u e o, A I U E O, "
                         "N, cl, pau, sil or consonants such as k sh ch ts ky.")
    return [(_OPENJTALK[s], 1.0)]


# ---------------------------------------------------------------- IPA (espeak-ng)
_IPA_SINGLE = {
    # vowels
    "i": "i", "ɪ": "ɪ", "ᵻ": "ɪ", "ɨ": "ɪ", "y": "u", "e": "e", "ɛ": "ɛ", "æ": "æ", "a": "a",
    "ɑ": "ɑ", "ɒ": "ɑ", "ʌ": "ʌ", "ɐ": "ə", "ə": "ə", "ɘ": "ə", "ɵ": "o", "ɤ": "ʌ", "ɚ": "ɚ",
    "ɜ": "ɚ", "ɝ": "ɚ", "ɔ": "ɔ", "o": "o", "ø": "o", "œ": "ɔ", "ʊ": "ʊ", "u": "u", "ʉ": "u",
    "ɯ": "ɯ",
    # consonants
    "p": "p", "b": "b", "m": "m", "ɱ": "m", "ɸ": "ɸ", "β": "β", "f": "f", "v": "v", "ʋ": "v",
    "θ": "θ", "ð": "ð", "t": "t", "d": "d", "n": "n", "s": "s", "z": "z", "l": "l", "ɫ": "l",
    "ɾ": "ɾ", "ɽ": "ɾ", "ɺ": "ɾ", "r": "ɹ", "ɹ": "ɹ", "ɻ": "ɹ", "ʃ": "ʃ", "ʒ": "ʒ", "ɕ": "ɕ",
    "ʑ": "ʑ", "j": "j", "ʝ": "j", "ç": "ç", "ɲ": "ɲ", "ʎ": "l", "c": "kʲ", "ɟ": "gʲ",
    "k": "k", "g": "g", "ɡ": "g", "ŋ": "ŋ", "x": "k", "ɣ": "g", "w": "w", "ʍ": "w", "ɰ": "ɰ",
    "h": "h", "ɦ": "h", "ʔ": "ʔ", "ɴ": MORAIC_NASAL,
    # uvular and other back consonants (French/German ʁ, Mandarin χ, espeak-ng Korean's q for
    # an unreleased coda k): the lips take the neighbours' shape, as for k and g
    "ʁ": "g", "ʀ": "g", "χ": "k", "q": "k", "ɢ": "g", "ɭ": "l",
    # front rounded and labial-palatal sounds (German ʏ, French ɥ of "huit"): rounded lips
    "ʏ": "ʊ", "ɥ": "w",
    # retroflex sibilants (Mandarin sh, zh, r): filed with the postalveolars
    "ʂ": "ʃ", "ʐ": "ʒ",
    # one-character affricate ligatures (espeak-ng's Japanese voice writes ʨ and ʥ)
    "ʨ": "tɕ", "ʥ": "dʑ", "ʦ": "ts", "ʣ": "dz", "ʧ": "tʃ", "ʤ": "dʒ",
}
_IPA_AFFRICATES = {"tʃ": "tʃ", "dʒ": "dʒ", "ts": "ts", "dz": "dz", "tɕ": "tɕ", "dʑ": "dʑ",
                   "tʂ": "tʃ", "dʐ": "dʒ"}
# "^" is espeak-ng's own mark, left in the IPA of a phoneme that has no IPA of its own (its
# Russian voice wrote "ɪ^" in a Tux Paint line about a clover): the symbol before it stands.
_IPA_IGNORED = set("ˈˌ.'‿|‖ _-,;!?\"^") | {"ʰ", "ᵝ", "ʷ", "ʼ", "ˠ", "ˤ", "ⁿ", "ˡ", "ʱ"}
_IPA_LONG = {"ː", "ˑ", ":"}
_TIE = {"\u0361", "\u035c"}
_PALATALIZED = {"n": "ɲ", "h": "ç", "s": "ɕ", "z": "ʑ", "ɾ": "ɾʲ", "l": "ɾʲ"}
_NASAL_TILDE = "\u0303"
_MARKS_ONLY = set("ˈˌːˑ.‿ ")   # a symbol of only these (Piper's code points) joins a neighbour


class _Tok:
    __slots__ = ("phone", "long", "devoiced", "nasal")

    def __init__(self, phone: str):
        self.phone, self.long, self.devoiced, self.nasal = phone, False, False, False


def _ipa_tokens(text: str, overrides: dict[str, str] | None = None) -> list[_Tok]:
    """Tokenise one espeak-ng IPA string into internal phones (no timing); ``overrides``
    replaces single symbols' readings (:data:`_IPA_BY_LANG`)."""
    overrides = overrides or {}
    s = "".join(ch for ch in unicodedata.normalize("NFD", text) if ch not in _TIE)
    toks: list[_Tok] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "c" and s[i + 1:i + 2] == "\u0327":              # ç decomposed
            toks.append(_Tok("ç"))
            i += 2
            continue
        if unicodedata.combining(ch):
            if toks and ch in (RING, "\u030a"):
                toks[-1].devoiced = True
            elif toks and ch == _NASAL_TILDE:
                toks[-1].nasal = True
            i += 1
            continue
        if ch in _IPA_IGNORED or ch.isspace():
            i += 1
            continue
        if ch in _IPA_LONG:
            if toks:
                toks[-1].long = True
            i += 1
            continue
        if ch == "ʲ":
            if toks:
                base = toks[-1].phone
                toks[-1].phone = _PALATALIZED.get(base, base + "ʲ" if base + "ʲ" in INVENTORY
                                                  else base)
            i += 1
            continue
        if ch == "˞":
            if toks and toks[-1].phone in ("ə", "ʌ"):
                toks[-1].phone = "ɚ"
            i += 1
            continue
        pair = s[i:i + 2]
        if pair in _IPA_AFFRICATES:
            toks.append(_Tok(_IPA_AFFRICATES[pair]))
            i += 2
            continue
        if ch not in _IPA_SINGLE:
            raise ValueError(f"Unknown IPA symbol {ch!r} (U+{ord(ch):04X}) in {text!r}; "
                             "expected espeak-ng IPA (see docs/articulation.md).")
        toks.append(_Tok(overrides.get(ch, _IPA_SINGLE[ch])))
        i += 1
    return toks


# Per-language readings of a symbol that espeak-ng uses differently by language.
# Korean: espeak-ng writes the full vowel a (아) as ɐ, which elsewhere is a reduced vowel.
# The trilled r of Spanish, Italian, Portuguese, Russian, Romanian, Greek and Catalan is a tongue-tip
# sound like the tap ɾ, not the English approximant ɹ (whose lips round a little).
# Romanian: espeak-ng writes â/î before i (pâine) as y, which elsewhere is the rounded ü; it is
# the unrounded central ɨ, read like ɪ.
_TRILL = {"r": "ɾ"}
_IPA_BY_LANG = {"ko": {"ɐ": "a"}, "es": _TRILL, "it": _TRILL, "pt": _TRILL, "ru": _TRILL,
                "ro": {**_TRILL, "y": "ɪ"}, "el": _TRILL, "ca": _TRILL}


def _base_lang(lang: str | None) -> str:
    return (lang or "").lower().split("-")[0].split("_")[0]


def _ipa(symbol: str, lang: str | None) -> list[tuple[str, float, bool]]:
    """One IPA symbol string -> [(internal, weight, long)]."""
    if symbol.strip().lower() in _SILENCES or not symbol.strip(" ˈˌ.‿|‖_-,;!?"):
        return [(SILENCE, 1.0, False)]
    out: list[tuple[str, float, bool]] = []
    prev_vowel = False
    overrides = _IPA_BY_LANG.get(_base_lang(lang), {})
    for tok in _ipa_tokens(symbol, overrides):
        phone = tok.phone
        is_vowel = INVENTORY[phone].is_vowel
        if is_vowel and tok.devoiced and phone + RING in INVENTORY:
            phone += RING
        if is_vowel and tok.nasal and _is_ja(lang):
            phone, is_vowel = MORAIC_NASAL, False     # espeak-ng ja writes ん as ũ
        weight = (OFFGLIDE_WEIGHT if prev_vowel else 1.0) if is_vowel else CONSONANT_WEIGHT
        out.append((phone, weight, tok.long))
        prev_vowel = is_vowel
    if not out:
        return [(SILENCE, 1.0, False)]
    return out


def _is_ja(lang: str | None) -> bool:
    return _base_lang(lang) in ("ja", "jp", "jpn")


_OBSTRUENT = ("stop", "fricative", "affricate")


def _japanese_codas(segs: list[Segment]) -> list[Segment]:
    """espeak-ng ja writes ん as m/n/ŋ/ɴ/ũ by context and っ as a doubled consonant (or h
    before p): turn those back into the moraic nasal N and the sokuon Q; its w is the
    Japanese ɰ."""
    out = [s._replace(phone="ɰ") if s.phone == "w" else s for s in segs]
    for k, seg in enumerate(out):
        nxt = out[k + 1].phone if k + 1 < len(out) else SILENCE
        nxt_info = INVENTORY[nxt]
        followed_by_vowel = nxt_info.is_vowel or nxt in ("j", "ɰ")
        if seg.phone in ("m", "n", "ŋ") and not followed_by_vowel:
            out[k] = seg._replace(phone=MORAIC_NASAL)
        elif INVENTORY[seg.phone].manner in _OBSTRUENT and seg.phone == nxt:
            out[k] = seg._replace(phone=SOKUON)
        elif seg.phone == "h" and nxt_info.manner in ("stop", "affricate") and not nxt_info.voiced:
            out[k] = seg._replace(phone=SOKUON)
    return out


# ---------------------------------------------------------------- normalize
def convert_symbol(symbol: str, notation: str, lang: str | None = None
                   ) -> list[tuple[str, float, bool]]:
    """One symbol of ``notation`` -> [(internal phone, time weight, long)]."""
    if not isinstance(symbol, str):
        raise ValueError(f"Phone symbols must be strings; got {symbol!r}.")
    if notation == "arpabet":
        return [(p, w, False) for p, w in _arpabet(symbol)]
    if notation == "openjtalk":
        return [(p, w, False) for p, w in _openjtalk(symbol)]
    if notation == "ipa":
        return _ipa(symbol, lang)
    raise ValueError(f"Unknown phone notation {notation!r}; use one of {', '.join(NOTATIONS)}.")


def _check_timing(item, index: int) -> tuple[str, float, float]:
    try:
        symbol, start, end = item
        start, end = float(start), float(end)
    except (TypeError, ValueError):
        raise ValueError(f"Phone {index} is {item!r}; each phone must be "
                         "(symbol, start_seconds, end_seconds).") from None
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise ValueError(f"Phone {index} ({symbol!r}) has start {start} and end {end}; "
                         "times must be finite seconds with end >= start.")
    return symbol, start, end


def normalize(phones: Iterable[Sequence], notation: str, lang: str | None = None
              ) -> list[Segment]:
    """``[(symbol, start_s, end_s), ...]`` in ``notation`` -> internal :class:`Segment` s.

    Symbols standing for two targets are split in time (first part weighted 1.0, the
    off-glide 0.7). ``lang`` (ISO 639-1: "en", "ja", "ko", ...) only matters for IPA: in
    Japanese, espeak-ng's context spellings of ん and っ are mapped back to ``N`` and ``Q``; in
    Korean its ɐ is the full vowel a. Unknown symbols raise
    ValueError naming the symbol; so do phones that go back in time.
    """
    segs: list[Segment] = []
    last_start = -math.inf
    pending: tuple[float, float] | None = None   # marks-only symbols waiting for a phone
    for index, item in enumerate(phones):
        symbol, start, end = _check_timing(item, index)
        if start < last_start - 1e-9:
            raise ValueError(f"Phone {index} ({symbol!r}) starts at {start} s, before the phone "
                             "ahead of it; sort the phones by time.")
        last_start = start
        if notation == "ipa" and isinstance(symbol, str) and symbol and set(symbol) <= _MARKS_ONLY:
            if segs and "ː" in symbol and pending is None:   # length: the vowel before it
                segs[-1] = segs[-1]._replace(end=end, long=True)
            else:                                            # stress, space: the next phone
                pending = (pending[0] if pending else start, end)
            continue
        if pending is not None:
            start, pending = pending[0], None
        parts = convert_symbol(symbol, notation, lang)
        total = sum(w for _, w, _ in parts)
        t = start
        for k, (phone, weight, long) in enumerate(parts):
            t_end = end if k == len(parts) - 1 else t + (end - start) * weight / total
            segs.append(Segment(phone, t, t_end, long))
            t = t_end
    if pending is not None and segs:
        segs[-1] = segs[-1]._replace(end=pending[1])
    if notation == "ipa" and _is_ja(lang):
        segs = _japanese_codas(segs)
    return segs


def frame_phone_labels(phones, notation: str, frame_rate: float, n_frames: int,
                       lang: str | None = None) -> list[str | None]:
    """The normalised phone at each frame time ``k / frame_rate`` (None outside all phones)."""
    segs = normalize(phones, notation, lang)
    labels: list[str | None] = [None] * int(n_frames)
    k_seg = 0
    for k in range(int(n_frames)):
        t = k / float(frame_rate)
        while k_seg < len(segs) and segs[k_seg].end <= t:
            k_seg += 1
        j = k_seg
        while j < len(segs) and segs[j].start <= t:
            if segs[j].end > t:
                labels[k] = segs[j].phone
                break
            j += 1
    return labels


def known_symbols(notation: str) -> list[str]:
    """The symbols a notation accepts besides silences (for docs and tests)."""
    if notation == "arpabet":
        return sorted(_ARPABET)
    if notation == "openjtalk":
        return sorted(_OPENJTALK)
    if notation == "ipa":
        return sorted(set(_IPA_SINGLE) | set(_IPA_AFFRICATES))
    raise ValueError(f"Unknown phone notation {notation!r}; use one of {', '.join(NOTATIONS)}.")


__all__ = ["Segment", "NOTATIONS", "normalize", "convert_symbol", "frame_phone_labels",
           "known_symbols", "info"]
