"""Shape-key name families: how one blendshape is spelt on the rigs people actually use.

A preset names each shape once (ARKit's ``jawOpen``, Oculus's ``viseme_PP``); rigs spell the same
shape many ways. :func:`matches` lists the rig's shape keys that stand for one preset name:

- plain spelling differences (case, spaces, ``_ . -``): ``JawOpen``, ``jaw_open``;
- side suffixes: ``mouthSmile_L`` / ``mouthSmileL`` / ``MouthSmileLeft`` for ``mouthSmileLeft``;
- exporter prefixes: ``blendShape1.jawOpen``, ``ARKit_jawOpen``, ActorCore/CC3's numbered
  ``A25_Jaw_Open`` (and ``T01_...`` tongue keys), ``Face.jawOpen``;
- Character Creator 4 / Reallusion's own names, where one ARKit shape can be split into two or
  four keys (``mouthFunnel`` -> ``Mouth_Funnel_Up_L`` ... ``Mouth_Funnel_Down_R``);
- per-preset aliases written in the preset file (VRChat's ``vrc.v_pp`` for ``viseme_PP``, VRM
  1.0's ``aa`` for ``A``).

Imports: standard library only.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

# ARKit name -> the Character Creator 4 (Reallusion) keys that together make it.
CC4 = {
    "jawOpen": ("Jaw_Open",), "jawForward": ("Jaw_Forward",), "jawLeft": ("Jaw_L",),
    "jawRight": ("Jaw_R",), "mouthClose": ("Mouth_Close",),
    "mouthFunnel": ("Mouth_Funnel_Up_L", "Mouth_Funnel_Up_R", "Mouth_Funnel_Down_L",
                    "Mouth_Funnel_Down_R"),
    "mouthPucker": ("Mouth_Pucker_Up_L", "Mouth_Pucker_Up_R", "Mouth_Pucker_Down_L",
                    "Mouth_Pucker_Down_R"),
    "mouthLeft": ("Mouth_L",), "mouthRight": ("Mouth_R",),
    "mouthSmileLeft": ("Mouth_Smile_L",), "mouthSmileRight": ("Mouth_Smile_R",),
    "mouthFrownLeft": ("Mouth_Frown_L",), "mouthFrownRight": ("Mouth_Frown_R",),
    "mouthDimpleLeft": ("Mouth_Dimple_L",), "mouthDimpleRight": ("Mouth_Dimple_R",),
    "mouthStretchLeft": ("Mouth_Stretch_L",), "mouthStretchRight": ("Mouth_Stretch_R",),
    "mouthRollLower": ("Mouth_Roll_In_Lower_L", "Mouth_Roll_In_Lower_R"),
    "mouthRollUpper": ("Mouth_Roll_In_Upper_L", "Mouth_Roll_In_Upper_R"),
    "mouthShrugLower": ("Mouth_Shrug_Lower",), "mouthShrugUpper": ("Mouth_Shrug_Upper",),
    "mouthPressLeft": ("Mouth_Press_L",), "mouthPressRight": ("Mouth_Press_R",),
    "mouthLowerDownLeft": ("Mouth_Down_Lower_L",), "mouthLowerDownRight": ("Mouth_Down_Lower_R",),
    "mouthUpperUpLeft": ("Mouth_Up_Upper_L",), "mouthUpperUpRight": ("Mouth_Up_Upper_R",),
    "cheekPuff": ("Cheek_Puff_L", "Cheek_Puff_R"), "tongueOut": ("Tongue_Out",),
}

_SEP = re.compile(r"[\s_.\-]+")
# exporter prefixes: "blendShape1.", "Face.", "ARKit_", "A25_", "T01_"
_PREFIX = re.compile(r"^(?:.*\.|arkit[_\-]|[AT]\d{1,2}_)", re.IGNORECASE)
_SIDE = re.compile(r"(left|right|l|r)$")


def normalize(name: str) -> str:
    """Name key for matching: case, spaces, underscores, dots and hyphens ignored."""
    return _SEP.sub("", name).casefold()


def canonical(name: str) -> str:
    """A name without its exporter prefix, normalised, with a trailing side as ``l``/``r``."""
    bare = _PREFIX.sub("", name) or name
    key = normalize(bare)
    side = _SIDE.search(key)
    if side and len(key) > len(side.group(1)):
        key = key[: side.start()] + side.group(1)[0]
    return key


def matches(preset_name: str, rig_names: Sequence[str],
            aliases: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """The rig's shape keys that stand for ``preset_name``, best family first.

    An exact spelling match (ignoring case and separators) wins; then the preset's own aliases;
    then Character Creator 4 names (possibly several keys); then prefix- and side-insensitive
    matches. Empty when the rig has none.
    """
    by_norm: dict[str, str] = {}
    for key in rig_names:
        by_norm.setdefault(normalize(key), key)
    exact = by_norm.get(normalize(preset_name))
    if exact is not None:
        return [exact]
    for alias in (aliases or {}).get(preset_name, ()):
        found = by_norm.get(normalize(alias))
        if found is not None:
            return [found]
    cc4 = [by_norm[normalize(n)] for n in CC4.get(preset_name, ()) if normalize(n) in by_norm]
    if cc4:
        return cc4
    want = canonical(preset_name)
    return [k for k in rig_names if canonical(k) == want][:1]


def coverage(preset_names: Iterable[str], rig_names: Sequence[str],
             aliases: Mapping[str, Sequence[str]] | None = None) -> int:
    """How many of ``preset_names`` the rig has under any spelling."""
    return sum(1 for n in dict.fromkeys(preset_names) if matches(n, rig_names, aliases))
