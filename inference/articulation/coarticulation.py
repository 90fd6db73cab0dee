"""Coarticulation: timed internal phones -> (frames, 26) mouth curves.

The model, step by step (figures and sources in docs/articulation.md):

1. **Realisation.** Japanese ん (``N``) takes the place of the next consonant (m before
   p/b/m and f-like sounds, ŋ before velars, n before alveolars, a nasalised vowel-like pose
   otherwise); っ (``Q``) becomes the next consonant, so its closure is held. Gaps between
   phones become silence; equal neighbouring consonants merge into one long closure.
2. **Lead.** The mouth moves ahead of the sound: each boundary is moved earlier by a lead that
   depends on context (onset after silence, into a bilabial closure, a release, the offset
   into silence, or an interior boundary scaled by the local speech rate).
3. **Dominance blend** in the manner of Cohen & Massaro (1993): each phone exerts on each
   parameter a dominance ``strength * exp(-d / tau - (d / (3 tau)) ** 2)``, ``d`` the distance
   in time outside the phone's articulatory interval, ``tau`` per parameter and per direction
   (anticipatory or carry-over; rounding anticipates over several phones). The value is the
   dominance-weighted mean of the targets.
4. **Hard targets** (bilabial closure, f/v lip roll) are imposed with a raised-cosine
   envelope whose ramps are centred on the led boundaries, holding the target in between.
5. **Closure events**: the lip press (and a small cheek puff on p/b) rises through the
   closure and peaks as the lips start to part.

Imports: numpy, lipsync_core.params and this package.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np

from lipsync_core.params import BY_NAME, NUM_PARAMS, PARAM_NAMES, PARAMS, index_of

from .inventory import INVENTORY, MORAIC_NASAL, SILENCE, SOKUON
from .phones import Segment
from .poses import CHANNELS, HARD, PRESS_PEAK, PUFF_PEAK, base_symbol, cached_pose_arrays

# --- leads, seconds (positive = mouth early); see docs/articulation.md for the sources
LEAD_ONSET = 0.04           # silence -> speech: the transition's half-way point this early
LEAD_BILABIAL = 0.03        # lips half-way closed this long before the acoustic closure
LEAD_RELEASE = 0.025        # lips half-way open this long before the acoustic release
LEAD_OFFSET = 0.02          # speech -> silence (all leads: half-way points, seconds)
LEAD_INTERIOR = (0.02, 0.035)  # other boundaries: (fast speech, normal speech)
RATE_SCALE = 0.35           # interior lead = RATE_SCALE * local mean phone duration, clipped
MIN_KEEP = 0.4              # a phone keeps at least this share of its duration after leads
# --- hard-target envelope, seconds
# Each ramp is centred on its (led) boundary: lips sealed CLOSE_RAMP / 2 after the closing
# boundary, and parting OPEN_RAMP / 2 before the release boundary.
CLOSE_RAMP = 0.07           # lips travel from open to sealed
OPEN_RAMP = 0.04            # and from sealed to open
ROLL_RAMP = 0.04            # f/v lower-lip roll, in and out
MIN_RAMP = 0.02             # shortest ramp when a closure is short or closures crowd
MIN_PLATEAU = 0.02          # a closure holds its full target at least this long (one 50 Hz frame)
PRESS_FALL = 0.04           # lip press decays after the release
# --- dominance time constants (anticipatory, carry-over), seconds, per channel
_TAU_DEFAULT = (0.03, 0.03)
_TAU = {"jaw_open": (0.022, 0.03), "mouth_open": (0.02, 0.025), "mouth_close": (0.015, 0.015),
        "lip_pucker": (0.05, 0.05), "lip_funnel": (0.05, 0.05), "lip_roll_lower": (0.02, 0.02),
        "lip_stretch": (0.035, 0.035), "lip_corner": (0.035, 0.035), "tongue_up": (0.02, 0.02),
        "tongue_out": (0.02, 0.02)}
ROUNDING_REACH = 2.0        # rounded vowels and w anticipate their rounding this much further
SILENCE_REACH = 0.5         # silence holds firmly inside itself but its influence ends sooner
SILENCE_SETTLE = 0.08       # seconds: inside a pause, silence's dominance grows by
                            # (1 + (depth / SILENCE_SETTLE) ** 2), so long pauses reach rest
_ROUNDING = ("lip_pucker", "lip_funnel")
REACH = 3.0                 # the tail also falls as exp(-(d / (REACH * tau)) ** 2): it ends
                            # sooner than a pure exponential, yet near the edge the log of the
                            # dominance is linear, so a boundary is a clean logistic transition
CUTOFF = 8.0                # ignore a phone's dominance beyond CUTOFF * tau


class Realized(NamedTuple):
    phone: str              # realised internal phone (N and Q resolved where the context says)
    start: float            # acoustic start, seconds
    end: float              # acoustic end, seconds
    a: float                # articulatory start (after lead), seconds
    b: float                # articulatory end, seconds


def _tau_arrays() -> tuple[np.ndarray, np.ndarray]:
    ant = np.full(NUM_PARAMS, _TAU_DEFAULT[0])
    car = np.full(NUM_PARAMS, _TAU_DEFAULT[1])
    for channel, (ta, tc) in _TAU.items():
        for name in CHANNELS[channel]:
            ant[index_of(name)], car[index_of(name)] = ta, tc
    return ant, car


TAU_ANT, TAU_CAR = _tau_arrays()                  # (26,) seconds
_ROUND_IDX = [index_of(n) for ch in _ROUNDING for n in CHANNELS[ch]]
_LOW = np.array([p.low for p in PARAMS])
_HIGH = np.array([p.high for p in PARAMS])
_REST = np.array([BY_NAME[n].rest for n in PARAM_NAMES])


def _is_bilabial_closure(phone: str) -> bool:
    return base_symbol(phone) in ("p", "b", "m")


def _nasal_before(nxt: str) -> str:
    p = INVENTORY[nxt]
    if p.kind != "consonant":
        return MORAIC_NASAL
    if p.place in ("bilabial", "labiodental"):
        return "m"
    if p.place == "velar":
        return "ŋ"
    if p.place in ("alveolar", "postalveolar", "palatal", "dental") and p.manner in (
            "stop", "nasal", "affricate", "flap", "lateral"):
        return "n"
    return MORAIC_NASAL                          # before s, h, j, w: nasal vowel-like


def realize(segs: Sequence[Segment]) -> list[tuple[str, float, float]]:
    """Resolve N and Q by their right context, fill gaps with silence, merge equal consonants.

    Neighbouring bilabial closures (さんぽ: N p, っぱ: Q p) become one closure named by the
    last. Returns [(phone, start, end)] covering time without gaps, zero-length phones dropped.
    """
    segs = [s for s in segs if s.end - s.start > 1e-6]
    out: list[list] = []
    for k, seg in enumerate(segs):
        nxt = segs[k + 1].phone if k + 1 < len(segs) else SILENCE
        if k + 1 < len(segs) and segs[k + 1].start - seg.end > 1e-3:
            nxt = SILENCE
        phone = seg.phone
        if phone == MORAIC_NASAL:
            phone = _nasal_before(nxt)
        elif phone == SOKUON and INVENTORY[nxt].kind == "consonant":
            phone = nxt
        start = seg.start
        if out:
            if start - out[-1][2] > 1e-3:
                out.append([SILENCE, out[-1][2], start])
            start = max(start, out[-1][2])
        if start >= seg.end:
            continue
        if out and (out[-1][0] == phone and INVENTORY[phone].kind in ("consonant", "silence")
                    or _is_bilabial_closure(out[-1][0]) and _is_bilabial_closure(phone)):
            out[-1][0] = phone                   # one closure (ん+p, っ+p): released as the last
            out[-1][2] = seg.end
        else:
            out.append([phone, start, seg.end])
    return [(p, s, e) for p, s, e in out]


def _lead(prev: str, nxt: str, dur_prev: float, dur_next: float) -> float:
    prev_sil, next_sil = prev == SILENCE, nxt == SILENCE
    if prev_sil and next_sil:
        return 0.0
    if prev_sil:
        return LEAD_ONSET
    if next_sil:
        return LEAD_OFFSET
    if _is_bilabial_closure(nxt):
        return LEAD_BILABIAL
    if base_symbol(prev) in HARD:                # release of a lip closure or a lip roll
        return LEAD_RELEASE
    lo, hi = LEAD_INTERIOR
    return float(np.clip(RATE_SCALE * 0.5 * (dur_prev + dur_next), lo, hi))


def apply_leads(phones: Sequence[tuple[str, float, float]], lead: bool = True) -> list[Realized]:
    """Move each boundary earlier by its context's lead, keeping the order of phones."""
    if not phones:
        return []
    n = len(phones)
    bounds = [phones[0][1]] + [p[2] for p in phones]          # n + 1 boundaries, seconds
    moved = list(bounds)
    if lead:
        for k in range(n + 1):
            prev = phones[k - 1][0] if k > 0 else SILENCE
            nxt = phones[k][0] if k < n else SILENCE
            dur_prev = phones[k - 1][2] - phones[k - 1][1] if k > 0 else 0.0
            dur_next = phones[k][2] - phones[k][1] if k < n else 0.0
            t = bounds[k] - _lead(prev, nxt, dur_prev, dur_next)
            if k > 0:
                keep = 0.0 if prev == SILENCE else MIN_KEEP * dur_prev
                t = max(t, moved[k - 1] + keep)
            moved[k] = min(t, bounds[k])
    return [Realized(p, s, e, moved[k], moved[k + 1]) for k, (p, s, e) in enumerate(phones)]


def _distance(t: np.ndarray, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance outside [a, b] (seconds, 0 inside) and a mask of times before a."""
    before = t < a
    return np.where(before, a - t, np.maximum(t - b, 0.0)), before


def _envelope(t: np.ndarray, r0: float, r1: float, f0: float, f1: float) -> np.ndarray:
    """0 before r0, raised-cosine rise to 1 at r1, 1 until f0, fall to 0 at f1 (seconds)."""
    w = np.zeros_like(t)
    w[(t >= r1) & (t <= f0)] = 1.0
    rise = (t > r0) & (t < r1)
    w[rise] = 0.5 - 0.5 * np.cos(math.pi * (t[rise] - r0) / (r1 - r0))
    fall = (t > f0) & (t < f1)
    w[fall] = 0.5 + 0.5 * np.cos(math.pi * (t[fall] - f0) / (f1 - f0))
    return w


def _press_shape(t: np.ndarray, r0: float, r1: float, f0: float) -> np.ndarray:
    """Lip press: from half-closed it rises to 1 as the lips start to part (f0), then decays."""
    start = 0.5 * (r0 + r1)
    out = np.zeros_like(t)
    rise = (t >= start) & (t <= f0)
    out[rise] = 0.5 - 0.5 * np.cos(math.pi * (t[rise] - start) / (f0 - start))
    fall = (t > f0) & (t <= f0 + PRESS_FALL)
    out[fall] = 0.5 + 0.5 * np.cos(math.pi * (t[fall] - f0) / PRESS_FALL)
    return out


def blend(realized: Sequence[Realized], times: np.ndarray) -> np.ndarray:
    """Dominance-weighted targets at ``times`` (seconds): (len(times), 26) float64."""
    n_t = len(times)
    # silence before the first and after the last phone, as far as the curves reach
    t0 = min(times[0] if n_t else 0.0, realized[0].a) - 1.0
    t1 = max(times[-1] if n_t else 0.0, realized[-1].b) + 1.0
    segs = [Realized(SILENCE, t0, realized[0].start, t0, realized[0].a), *realized,
            Realized(SILENCE, realized[-1].end, t1, realized[-1].b, t1)]
    num = np.zeros((n_t, NUM_PARAMS))
    den = np.full((n_t, NUM_PARAMS), 1e-9)
    reach = CUTOFF * max(TAU_ANT.max() * ROUNDING_REACH, TAU_CAR.max())
    for seg in segs:
        lo = np.searchsorted(times, seg.a - reach)
        hi = np.searchsorted(times, seg.b + reach, side="right")
        if hi <= lo:
            continue
        t = times[lo:hi]
        targets, strengths = cached_pose_arrays(seg.phone)
        tau_ant, tau_car = TAU_ANT.copy(), TAU_CAR.copy()
        info = INVENTORY[seg.phone]
        if info.rounded and info.voiced and info.manner in (None, "approximant"):
            tau_ant[_ROUND_IDX] *= ROUNDING_REACH
        elif seg.phone == SILENCE:
            tau_ant *= SILENCE_REACH
            tau_car *= SILENCE_REACH
        d, before = _distance(t, seg.a, seg.b)
        tau = np.where(before[:, None], tau_ant[None, :], tau_car[None, :])   # (n, 26)
        x = d[:, None] / tau
        dom = strengths[None, :] * np.exp(-x - (x / REACH) ** 2)
        if seg.phone == SILENCE:
            depth = np.clip(np.minimum(t - seg.a, seg.b - t), 0.0, None) / SILENCE_SETTLE
            dom *= (1.0 + depth * depth)[:, None]
        num[lo:hi] += dom * targets[None, :]
        den[lo:hi] += dom
    return num / den


class _Hard(NamedTuple):
    seg: Realized
    targets: dict           # channel -> value
    r0: float               # seconds: starts moving towards the target
    r1: float               # reaches it
    f0: float               # starts leaving it
    f1: float               # has left it


def _hard_targets(realized: Sequence[Realized]) -> list[_Hard]:
    """The envelope times of each phone with hard targets.

    Ramps are centred on the articulatory boundaries a and b. A short phone shrinks its ramps
    (down to MIN_RAMP) so it still holds its target for MIN_PLATEAU; two alike phones closer
    than their ramps (fast "abab") shrink the ramps between them so the sound in between
    still opens the mouth.
    """
    owners: list[tuple[Realized, dict]] = []
    spans: list[list[float]] = []                    # [a, b, ramp in, ramp out], seconds
    for seg in realized:
        hard = HARD.get(base_symbol(seg.phone))
        if not hard:
            continue
        r_in, r_out = (CLOSE_RAMP, OPEN_RAMP) if _is_bilabial_closure(seg.phone) else (
            ROLL_RAMP, ROLL_RAMP)
        a, b = seg.a, seg.b
        room = (b - a) - MIN_PLATEAU                 # for the two half-ramps inside [a, b]
        if room < 0.5 * (r_in + r_out):
            scale = max(room, 0.0) / (0.5 * (r_in + r_out))
            r_in, r_out = max(MIN_RAMP, r_in * scale), max(MIN_RAMP, r_out * scale)
            b = max(b, a + MIN_PLATEAU + 0.5 * (r_in + r_out))
        owners.append((seg, hard))
        spans.append([a, b, r_in, r_out])
    for k in range(len(spans) - 1):
        if owners[k][1] != owners[k + 1][1]:         # f then m: different lips, no conflict
            continue
        prev, nxt = spans[k], spans[k + 1]
        gap = nxt[0] - prev[1]                       # between the half-way points
        if 0.5 * (prev[3] + nxt[2]) > gap:
            scale = max(gap, 0.0) / (0.5 * (prev[3] + nxt[2]))
            prev[3], nxt[2] = max(MIN_RAMP, prev[3] * scale), max(MIN_RAMP, nxt[2] * scale)
    return [_Hard(seg, hard, a - 0.5 * r_in, a + 0.5 * r_in, b - 0.5 * r_out, b + 0.5 * r_out)
            for (seg, hard), (a, b, r_in, r_out) in zip(owners, spans)]


def curves_at(realized: Sequence[Realized], times: np.ndarray) -> np.ndarray:
    """Blend, then hard targets and closure events: (len(times), 26) float32 in range."""
    times = np.asarray(times, dtype=np.float64)
    if not realized:
        return np.tile(_REST.astype(np.float32), (len(times), 1))
    values = blend(realized, times)
    for item in _hard_targets(realized):
        w = _envelope(times, item.r0, item.r1, item.f0, item.f1)
        for channel, value in item.targets.items():
            for name in CHANNELS[channel]:
                j = index_of(name)
                values[:, j] = (1.0 - w) * values[:, j] + w * value
        base = base_symbol(item.seg.phone)
        if base in PRESS_PEAK:
            shape = _press_shape(times, item.r0, item.r1, item.f0)
            for channel, peak in (("lip_press", PRESS_PEAK[base]), ("cheek_puff", PUFF_PEAK[base])):
                for name in CHANNELS[channel]:
                    j = index_of(name)
                    values[:, j] = np.maximum(values[:, j], peak * shape)
    return np.clip(values, _LOW, _HIGH).astype(np.float32)
