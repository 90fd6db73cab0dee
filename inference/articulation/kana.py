"""Kana text -> Open JTalk phone symbols (no timing), for seed examples and sentence lists.

Hiragana and katakana, including ん (N), っ (cl), the long-vowel mark ー (the previous vowel
again, as Open JTalk writes long vowels), small ゃゅょ / ぁぃぅぇぉ digraphs and the common
loan-word combinations (ティ, ファ, ウィ, ヴァ, シェ ...). Punctuation and spaces become ``pau``.
Like Open JTalk, う after お is read as a long o (ありがとう -> ... t o o), which is wrong
for verb endings such as おもう. Vowel devoicing and the particles は/へ are left to a real
front end (pyopenjtalk): write the particles as わ/え if it matters.

Imports: standard library only.
"""
from __future__ import annotations

_VOWELS = "aiueo"
# Rows of the gojuon: consonant symbol per vowel column (None: no such kana).
_ROWS = {
    "アイウエオ": ("", "", "", "", ""),
    "カキクケコ": ("k",) * 5, "ガギグゲゴ": ("g",) * 5,
    "サシスセソ": ("s", "sh", "s", "s", "s"), "ザジズゼゾ": ("z", "j", "z", "z", "z"),
    "タチツテト": ("t", "ch", "ts", "t", "t"), "ダヂヅデド": ("d", "j", "z", "d", "d"),
    "ナニヌネノ": ("n",) * 5, "ハヒフヘホ": ("h", "h", "f", "h", "h"),
    "バビブベボ": ("b",) * 5, "パピプペポ": ("p",) * 5, "マミムメモ": ("m",) * 5,
    "ラリルレロ": ("r",) * 5, "ァィゥェォ": ("", "", "", "", ""),
}
_SINGLE: dict[str, tuple[str, ...]] = {}
for _kana, _cons in _ROWS.items():
    for _k, _c, _v in zip(_kana, _cons, _VOWELS):
        _SINGLE[_k] = (_c, _v) if _c else (_v,)
_SINGLE.update({
    "ヤ": ("y", "a"), "ユ": ("y", "u"), "ヨ": ("y", "o"), "ャ": ("y", "a"), "ュ": ("y", "u"),
    "ョ": ("y", "o"), "ワ": ("w", "a"), "ヮ": ("w", "a"), "ヰ": ("i",), "ヱ": ("e",),
    "ヲ": ("o",), "ヴ": ("v", "u"), "ヵ": ("k", "a"), "ヶ": ("k", "e"),
})
# Consonant of the i-column kana that combine with small ャュョ (and ェ).
_YOON = {"キ": "ky", "ギ": "gy", "シ": "sh", "ジ": "j", "チ": "ch", "ヂ": "j", "ニ": "ny",
         "ヒ": "hy", "ビ": "by", "ピ": "py", "ミ": "my", "リ": "ry"}
_SMALL_Y = {"ャ": "a", "ュ": "u", "ョ": "o"}
_SMALL_V = {"ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o"}
# Base kana + small vowel: consonant symbol per small vowel (loan-word spellings).
_LOAN = {
    "テ": {"ィ": "t"}, "デ": {"ィ": "d"}, "ト": {"ゥ": "t"}, "ド": {"ゥ": "d"},
    "フ": {"ァ": "f", "ィ": "f", "ェ": "f", "ォ": "f"},
    "ウ": {"ィ": "w", "ェ": "w", "ォ": "w"}, "ヴ": {"ァ": "v", "ィ": "v", "ェ": "v", "ォ": "v"},
    "ツ": {"ァ": "ts", "ィ": "ts", "ェ": "ts", "ォ": "ts"}, "シ": {"ェ": "sh"},
    "ジ": {"ェ": "j"}, "チ": {"ェ": "ch"}, "ク": {"ァ": "kw"}, "グ": {"ァ": "gw"},
}
_LOAN_Y = {"テ": "ty", "デ": "dy", "フ": "fy", "ヴ": "by"}      # テュ デュ フュ ヴュ
_PAUSE = set("、。，．,.!?！？・「」『』（）()…‥ 　\t\n")


def _to_katakana(text: str) -> str:
    """Hiragana -> katakana (the rest unchanged)."""
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


def kana_to_phones(text: str) -> list[str]:
    """Kana text -> Open JTalk-style phones, e.g. "さんぽ" -> ["s", "a", "N", "p", "o"].

    Pauses (punctuation, spaces) give "pau" (never two in a row, none at the ends). Kanji,
    Latin letters and other symbols raise ValueError: convert them to kana first.
    """
    kata = _to_katakana(text)
    out: list[str] = []
    i = 0
    while i < len(kata):
        c, nxt = kata[i], kata[i + 1:i + 2]
        if c in _PAUSE:
            if out and out[-1] != "pau":
                out.append("pau")
            i += 1
            continue
        if c == "ン":
            out.append("N")
        elif c == "ッ":
            out.append("cl")
        elif c == "ー":
            vowel = next((p for p in reversed(out) if p in _VOWELS), None)
            if vowel is None or out[-1] in ("pau", "N", "cl"):
                raise ValueError(f"The long-vowel mark in {text!r} follows no vowel; "
                                 "put it after a kana with a vowel.")
            out.append(vowel)
        elif c in _YOON and nxt in _SMALL_Y:
            out += [_YOON[c], _SMALL_Y[nxt]]
            i += 1
        elif c in _LOAN_Y and nxt == "ュ":
            out += [_LOAN_Y[c], "u"]
            i += 1
        elif c in _YOON and nxt == "ェ" and c in _LOAN and "ェ" in _LOAN[c]:
            out += [_LOAN[c]["ェ"], "e"]
            i += 1
        elif c in _LOAN and nxt in _LOAN[c]:
            out += [_LOAN[c][nxt], _SMALL_V[nxt]]
            i += 1
        elif c in _SINGLE:
            out += list(_SINGLE[c])
        else:
            raise ValueError(f"kana_to_phones reads kana only; {c!r} in {text!r} is not kana "
                             "(convert kanji and Latin letters to kana first, e.g. with "
                             "pyopenjtalk).")
        i += 1
    while out and out[-1] == "pau":
        out.pop()
    for k in range(1, len(out)):             # おう/こう/ょう are a long o, as Open JTalk reads
        if out[k] == "u" and out[k - 1] == "o" and (k < 2 or out[k - 2] != "o"):
            out[k] = "o"
    return out
