"""Target poses: each internal phone's target in the 26 mouth parameters, with dominance.

A pose gives, per *channel*, a target value and a strength (the dominance magnitude of
:mod:`.coarticulation`): how strongly the phone controls that channel. A channel is one
parameter or a left/right pair moved together (``lip_stretch`` = lip_stretch_left and
lip_stretch_right); channels are resolved to parameter names of lipsync_core.params, never to
column numbers. Channels a phone does not name take the rest value with the default strength
of its kind: vowels hold them weakly at rest, consonants barely control them and so inherit
from their neighbours, silence pulls everything to rest.

Some targets are *hard* (:data:`HARD`): bilabial closures and the f/v lip roll must be
reached whatever the neighbours do, so the coarticulation model enforces them with an
envelope instead of a weighted average. The lip press and the cheek puff of a bilabial
closure are events shaped in time (see coarticulation), not poses.

Imports: numpy, lipsync_core.params and this package's inventory.
"""
from __future__ import annotations

import numpy as np

from lipsync_core.params import BY_NAME, NUM_PARAMS, PARAM_NAMES, index_of

from .inventory import INVENTORY, MORAIC_NASAL, SILENCE, SOKUON, info

# channel -> parameter names it drives (jaw_shift, mouth_shift: left at rest, not phonetic)
CHANNELS: dict[str, tuple[str, ...]] = {
    "jaw_open": ("jaw_open",), "jaw_forward": ("jaw_forward",),
    "mouth_open": ("mouth_open",), "mouth_close": ("mouth_close",),
    "lip_pucker": ("lip_pucker",), "lip_funnel": ("lip_funnel",),
    "lip_press": ("lip_press_left", "lip_press_right"),
    "lip_roll_lower": ("lip_roll_lower",), "lip_roll_upper": ("lip_roll_upper",),
    "lip_shrug_lower": ("lip_shrug_lower",), "lip_shrug_upper": ("lip_shrug_upper",),
    "upper_lip_up": ("upper_lip_up_left", "upper_lip_up_right"),
    "lower_lip_down": ("lower_lip_down_left", "lower_lip_down_right"),
    "lip_stretch": ("lip_stretch_left", "lip_stretch_right"),
    "lip_corner": ("lip_corner_left", "lip_corner_right"),
    "mouth_dimple": ("mouth_dimple",), "cheek_puff": ("cheek_puff",),
    "tongue_out": ("tongue_out",), "tongue_up": ("tongue_up",),
}
for _names in CHANNELS.values():
    for _name in _names:
        index_of(_name)                   # fail at import if the schema loses a parameter

# Default strength of the channels a pose does not name, by kind of phone.
DEFAULT_STRENGTH = {"vowel": 0.5, "consonant": 0.03, "silence": 0.8, "moraic_nasal": 0.08,
                    "sokuon": 0.01}

# Vowels: jaw_open, mouth_open, lip_pucker, lip_funnel, lip_stretch, upper_lip_up,
# lower_lip_down, lip_corner. Values are fractions of each parameter's full range.
_VOWEL_TARGETS = {
    "i": (0.12, 0.15, 0.00, 0.00, 0.55, 0.10, 0.15, 0.20),
    "ɪ": (0.20, 0.20, 0.00, 0.00, 0.40, 0.08, 0.15, 0.12),
    "e": (0.28, 0.25, 0.00, 0.00, 0.40, 0.10, 0.20, 0.12),
    "ɛ": (0.40, 0.30, 0.00, 0.00, 0.30, 0.10, 0.25, 0.08),
    "æ": (0.58, 0.40, 0.00, 0.00, 0.35, 0.15, 0.35, 0.05),
    "a": (0.70, 0.45, 0.00, 0.00, 0.10, 0.10, 0.30, 0.00),
    "ɑ": (0.75, 0.45, 0.00, 0.05, 0.00, 0.05, 0.30, 0.00),
    "ʌ": (0.50, 0.35, 0.00, 0.00, 0.05, 0.05, 0.25, 0.00),
    "ə": (0.30, 0.25, 0.00, 0.00, 0.00, 0.02, 0.10, 0.00),
    "ɚ": (0.30, 0.20, 0.30, 0.35, 0.00, 0.05, 0.10, 0.00),
    "ɔ": (0.55, 0.35, 0.35, 0.60, 0.00, 0.05, 0.20, 0.00),
    "o": (0.40, 0.30, 0.50, 0.55, 0.00, 0.05, 0.15, 0.00),
    "ʊ": (0.25, 0.22, 0.55, 0.35, 0.00, 0.02, 0.10, 0.00),
    "u": (0.15, 0.15, 0.85, 0.30, 0.00, 0.00, 0.05, 0.00),
    "ɯ": (0.18, 0.18, 0.30, 0.15, 0.00, 0.02, 0.08, 0.00),   # Japanese u: compressed
}
_VOWEL_CHANNELS = ("jaw_open", "mouth_open", "lip_pucker", "lip_funnel", "lip_stretch",
                   "upper_lip_up", "lower_lip_down", "lip_corner")
_OPEN_OR_NEUTRAL = {"a": 0.2, "ɑ": 0.2, "æ": 0.25, "ʌ": 0.2, "ə": 0.15}   # rounding strength


def _vowel_pose(symbol: str) -> dict[str, tuple[float, float]]:
    base = symbol[0] if symbol[0] in _VOWEL_TARGETS else symbol
    values = _VOWEL_TARGETS[base]
    p = info(symbol)
    if p.rounded or p.rhotic:
        rounding, spreading = 1.0, 0.8
    elif base in _OPEN_OR_NEUTRAL:
        rounding, spreading = _OPEN_OR_NEUTRAL[base], 0.3
    else:                                        # spread vowels actively unround
        rounding, spreading = 1.5, 0.8
    if base == "ɚ":
        rounding = 0.6
    strengths = (1.0, 1.0, rounding, rounding, spreading, 0.5, 0.5, spreading)
    pose = {ch: (v, s) for ch, v, s in zip(_VOWEL_CHANNELS, values, strengths)}
    if not p.voiced:                             # devoiced: jaw half, lips weak
        pose = {ch: (v * (0.5 if ch in ("jaw_open", "mouth_open") else 0.8), s * 0.5)
                for ch, (v, s) in pose.items()}
    return pose


# Consonants: channel -> (target, strength). Unnamed channels inherit (strength 0.03).
_BILABIAL = {"jaw_open": (0.04, 1.0), "mouth_open": (0.0, 1.0), "mouth_close": (1.0, 1.0),
             "lip_pucker": (0.0, 0.08), "lip_funnel": (0.0, 0.3), "lip_stretch": (0.0, 0.1),
             "lip_roll_lower": (0.0, 0.5), "tongue_out": (0.0, 1.0)}
_LABIODENTAL = {"jaw_open": (0.10, 0.8), "mouth_open": (0.10, 0.6), "mouth_close": (0.0, 0.8),
                "lip_roll_lower": (0.85, 1.0), "upper_lip_up": (0.30, 0.6),
                "lip_pucker": (0.0, 0.2), "lip_funnel": (0.0, 0.3)}
_ALVEOLAR_STOP = {"jaw_open": (0.14, 0.5), "mouth_open": (0.14, 0.2), "tongue_up": (0.9, 1.0)}
_SIBILANT = {"jaw_open": (0.06, 0.9), "mouth_open": (0.14, 0.4), "lip_stretch": (0.25, 0.3),
             "tongue_up": (0.45, 0.6), "upper_lip_up": (0.10, 0.2)}
_POSTALVEOLAR = {"jaw_open": (0.10, 0.8), "mouth_open": (0.20, 0.5), "lip_pucker": (0.45, 0.8),
                 "lip_funnel": (0.65, 0.8), "lip_stretch": (0.0, 0.5), "tongue_up": (0.4, 0.5)}
_ALVEOLOPALATAL = {"jaw_open": (0.10, 0.8), "mouth_open": (0.16, 0.5),
                   "lip_pucker": (0.10, 0.3), "lip_funnel": (0.25, 0.3),
                   "tongue_up": (0.45, 0.5)}
_CONSONANT_POSES: dict[str, dict[str, tuple[float, float]]] = {
    "p": _BILABIAL, "b": _BILABIAL, "m": _BILABIAL,
    "ɸ": {"jaw_open": (0.08, 0.6), "mouth_open": (0.05, 0.8), "mouth_close": (0.3, 0.5),
          "lip_pucker": (0.45, 0.8), "lip_funnel": (0.15, 0.5), "lip_stretch": (0.0, 0.5)},
    "f": _LABIODENTAL, "v": _LABIODENTAL,
    "θ": {"jaw_open": (0.15, 0.6), "mouth_open": (0.22, 0.5), "tongue_out": (0.55, 1.0),
          "tongue_up": (0.3, 0.5), "lip_pucker": (0.0, 0.2)},
    "t": _ALVEOLAR_STOP, "d": _ALVEOLAR_STOP,
    "n": {"jaw_open": (0.14, 0.5), "mouth_open": (0.12, 0.2), "tongue_up": (0.9, 1.0)},
    "l": {"jaw_open": (0.20, 0.4), "mouth_open": (0.20, 0.2), "tongue_up": (0.85, 1.0)},
    "ɾ": {"jaw_open": (0.20, 0.2), "tongue_up": (0.7, 0.8)},
    "s": _SIBILANT, "z": _SIBILANT, "ts": _SIBILANT, "dz": _SIBILANT,
    "ʃ": _POSTALVEOLAR, "ʒ": _POSTALVEOLAR, "tʃ": _POSTALVEOLAR, "dʒ": _POSTALVEOLAR,
    "ɕ": _ALVEOLOPALATAL, "ʑ": _ALVEOLOPALATAL, "tɕ": _ALVEOLOPALATAL, "dʑ": _ALVEOLOPALATAL,
    "ɹ": {"jaw_open": (0.18, 0.4), "mouth_open": (0.15, 0.3), "lip_pucker": (0.40, 0.6),
          "lip_funnel": (0.35, 0.6), "tongue_up": (0.3, 0.3)},
    "j": {"jaw_open": (0.12, 0.4), "mouth_open": (0.12, 0.3), "lip_stretch": (0.45, 0.6),
          "lip_corner": (0.15, 0.4)},
    "ç": {"jaw_open": (0.12, 0.4), "lip_stretch": (0.35, 0.5)},
    "ɲ": {"jaw_open": (0.12, 0.5), "lip_stretch": (0.30, 0.4), "tongue_up": (0.4, 0.4)},
    "w": {"jaw_open": (0.08, 0.6), "mouth_open": (0.08, 0.6), "lip_pucker": (0.90, 2.5),
          "lip_funnel": (0.30, 2.0), "lip_stretch": (0.0, 0.8), "lip_corner": (0.0, 0.5)},
    "ɰ": {"jaw_open": (0.12, 0.5), "mouth_open": (0.10, 0.5), "lip_pucker": (0.40, 1.0),
          "lip_funnel": (0.10, 0.6), "lip_stretch": (0.0, 0.6)},
    "k": {"jaw_open": (0.20, 0.25)}, "g": {"jaw_open": (0.20, 0.25)},
    "ŋ": {"jaw_open": (0.25, 0.3), "mouth_open": (0.18, 0.2)},
    "h": {"jaw_open": (0.30, 0.05)}, "ʔ": {},
}
_CONSONANT_POSES["β"] = _CONSONANT_POSES["ɸ"]
_CONSONANT_POSES["ð"] = _CONSONANT_POSES["θ"]
_OTHER_POSES = {
    MORAIC_NASAL: {"jaw_open": (0.18, 0.3), "mouth_open": (0.14, 0.3)},   # nasal vowel-like
    SOKUON: {},
    # silence pulls to rest, and holds the lips firmly: rounding should not leak far into it
    SILENCE: {"lip_pucker": (0.0, 2.0), "lip_funnel": (0.0, 2.0)},
}

# Hard targets: reached regardless of neighbours (channel -> value), enforced by envelope.
HARD: dict[str, dict[str, float]] = {}
for _sym in ("p", "b", "m"):
    HARD[_sym] = {"mouth_close": 1.0, "mouth_open": 0.0, "jaw_open": 0.04, "lip_roll_lower": 0.0}
for _sym in ("f", "v"):
    HARD[_sym] = {"lip_roll_lower": 0.85, "mouth_close": 0.0}

# Bilabial closure events: peak lip press and cheek puff just before the release.
PRESS_PEAK = {"p": 0.8, "b": 0.6, "m": 0.4}
PUFF_PEAK = {"p": 0.15, "b": 0.12, "m": 0.0}


def base_symbol(symbol: str) -> str:
    """``pʲ`` -> ``p``: palatalised consonants share the pose of their base (plus spreading)."""
    return symbol[:-1] if symbol.endswith("ʲ") else symbol


def pose(symbol: str) -> dict[str, tuple[float, float]]:
    """channel -> (target, strength) for the channels this phone names."""
    p = info(symbol)
    if p.is_vowel:
        return _vowel_pose(symbol)
    if symbol in _OTHER_POSES:
        return dict(_OTHER_POSES[symbol])
    out = dict(_CONSONANT_POSES[base_symbol(symbol)])
    out.setdefault("mouth_close", (0.0, 0.6))    # air must pass: the lips are apart
    if p.palatalized:                            # a palatal glide rides on the consonant
        out.setdefault("lip_stretch", (0.30, 0.4))
        out["lip_stretch"] = (0.30, max(0.4, out["lip_stretch"][1]))
    return out


def pose_arrays(symbol: str) -> tuple[np.ndarray, np.ndarray]:
    """(targets, strengths), each (26,) float64 in schema order."""
    kind = info(symbol).kind
    targets = np.array([BY_NAME[n].rest for n in PARAM_NAMES], dtype=np.float64)
    strengths = np.full(NUM_PARAMS, DEFAULT_STRENGTH[kind], dtype=np.float64)
    for channel, (value, strength) in pose(symbol).items():
        for name in CHANNELS[channel]:
            targets[index_of(name)] = value
            strengths[index_of(name)] = strength
    return targets, strengths


_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def cached_pose_arrays(symbol: str) -> tuple[np.ndarray, np.ndarray]:
    if symbol not in _CACHE:
        _CACHE[symbol] = pose_arrays(symbol)
    return _CACHE[symbol]


def check_complete() -> None:
    """Every internal phone has a pose (raises KeyError otherwise); used by the tests."""
    for symbol in INVENTORY:
        pose_arrays(symbol)
