"""Retargeting: 26-parameter curves -> a rig's shape-key values, by the rig's convention.

One entry point, :func:`shape_values`, dispatches on ``mapping.convention``
(lipsync_core.mapping documents the three):

- ``"table"``: the weighted sums of :func:`lipsync_core.mapping.apply`;
- ``"arkit"``: ARKit's meanings. In ARKit, mouthClose closes the lips *against the open jaw*
  (it moves the lips by the jaw's amount), so captured data keeps mouthClose at or below jawOpen
  and a seal has the jaw slightly open with mouthClose equal to it. Here the closure strength
  ``s`` (viseme_solve.closure_strength) first takes the lip openers (mouth_open, upper/lower lip
  up/down, funnel) down by ``1 - s`` and opens the jaw to at least ``seal_jaw * s``; the table is
  applied; then every key a mouth_close row drives becomes ``its value x the jaw key's value``,
  which never exceeds jawOpen. Press (lips pressed together), roll (lips tucked in, f/v) and
  pucker keep their own parameters: in ARKit they are shapes of their own, not openers;
- ``"solve"``: viseme and vowel rigs, by lipsync_core.viseme_solve (the same openers give way
  to a closure before the solve, then the closure wins on the solved weights).

Before either, a **tuck** (f, v: ``lip_roll_lower``, strength u from :func:`tuck_strength`)
takes the lower lip's openers down by ``1 - u`` and closes the jaw towards TUCK_JAW, because the
lower lip reaches the upper teeth only over a nearly closed jaw; it gives way where the jaw is
as open as a vowel's (a 24 fps frame shared by a short vowel and the f/v after it stays the
vowel's). Measured on Ready Player Me and VRoid (docs/characters.md, "Rounded vowels and f/v"):
f/v with the lower lip up to the rig's own f/v pose went from 27-29 % to 59-65 % of the
validation split's f/v, with no p/b/m or open vowel lost.

Imports: numpy and lipsync_core (params, mapping, viseme_solve) only.
"""
from __future__ import annotations

import numpy as np

from . import mapping as mapping_mod
from . import viseme_solve as vs
from .params import BY_NAME, PARAMS

# parameters that open the lips; a closure takes them down (ARKit and solve conventions)
OPENERS = ("mouth_open", "upper_lip_up_left", "upper_lip_up_right", "lower_lip_down_left",
           "lower_lip_down_right", "lip_funnel")
_OPENER_IDX = [BY_NAME[n].index for n in OPENERS]
_JAW = BY_NAME["jaw_open"].index
_CLOSE = BY_NAME["mouth_close"].index
# parameters that open the lower lip; a tuck (f, v: the lower lip on the upper teeth) takes them down
LOWER_OPENERS = ("mouth_open", "lower_lip_down_left", "lower_lip_down_right")
_LOWER_IDX = [BY_NAME[n].index for n in LOWER_OPENERS]
_ROLL_LOWER = BY_NAME["lip_roll_lower"].index
# tuck strength: lip_roll_lower below LO is no tuck, from HI on the lower lip is on the teeth
# (parameter units; the articulation targets put f/v at 0.85, the shipped model 0.6-0.75 on
# real English f/v, and under 0.15 on every other class)
TUCK_LO, TUCK_HI = 0.2, 0.6
TUCK_JAW = 0.1          # jaw_open (parameter units) at a full tuck: the teeth nearly together
# a tuck gives way to an open jaw: it acts fully up to jaw_open GIVE_LO and not at all from
# GIVE_HI on. At 24 fps a short vowel before f/v shares its one frame with the tuck (the frame
# plays jaw_open 0.33-0.40 and lip_roll_lower 0.7-0.85); the f/v's own frames play 0.17-0.34.
TUCK_GIVE_LO, TUCK_GIVE_HI = 0.3, 0.4


def _check(curves: np.ndarray) -> np.ndarray:
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim != 2 or curves.shape[1] != len(PARAMS):
        raise ValueError(f"Curves must have shape (frames, {len(PARAMS)}); got {curves.shape}.")
    return curves


def tuck_strength(curves: np.ndarray) -> np.ndarray:
    """(N,) in [0, 1]: how far the lower lip is tucked under the upper teeth (f, v), from
    ``lip_roll_lower`` (TUCK_LO/HI), giving way to a vowel's open jaw (TUCK_GIVE_LO/HI)."""
    curves = np.asarray(curves, dtype=np.float64)
    roll, jaw = curves[:, _ROLL_LOWER], curves[:, _JAW]
    give = np.clip((TUCK_GIVE_HI - jaw) / (TUCK_GIVE_HI - TUCK_GIVE_LO), 0.0, 1.0)
    return np.clip((roll - TUCK_LO) / (TUCK_HI - TUCK_LO), 0.0, 1.0) * give


def tucked(curves: np.ndarray) -> np.ndarray:
    """Curves with the lower lip's openers taken down by the tuck u and the jaw closed towards
    TUCK_JAW: on f and v the lower lip reaches the upper teeth only over a nearly closed jaw
    (the model, smoothing over its neighbours, leaves the jaw at 0.25-0.4 there, which keeps
    the lower lip 8-12 mm below the teeth on Ready Player Me)."""
    curves = _check(curves).copy()
    u = tuck_strength(curves)
    curves[:, _LOWER_IDX] *= (1.0 - u)[:, None]
    jaw = curves[:, _JAW]
    curves[:, _JAW] = np.minimum(jaw, (1.0 - u) * jaw + u * TUCK_JAW)
    return curves


def sealed(curves: np.ndarray, seal_jaw: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(curves tucked (:func:`tucked`), with the openers taken down by the closure and the jaw
    at least ``seal_jaw * s``, closure strength s (N,))."""
    curves = tucked(curves)
    s = vs.closure_strength(curves)
    curves[:, _OPENER_IDX] *= (1.0 - s)[:, None]
    curves[:, _JAW] = np.maximum(curves[:, _JAW], seal_jaw * s)
    return curves, s


def arkit_values(curves: np.ndarray, mapping: mapping_mod.Mapping,
                 intensity: float = 1.0) -> dict[str, np.ndarray]:
    """ARKit convention (module docstring): mouthClose = closure x jawOpen <= jawOpen."""
    adjusted, s = sealed(curves, mapping.options.seal_jaw)
    adjusted[:, _CLOSE] = s                       # the closure's strength drives mouthClose rows
    values = mapping_mod.apply(adjusted, mapping, intensity)
    enabled = [r for r in mapping.rows if r.enabled]
    jaw_keys = [r.shape_key for r in enabled if r.parameter == "jaw_open" and r.weight > 0
                and r.shape_key in values]
    close_keys = {r.shape_key for r in enabled if r.parameter == "mouth_close"}
    if jaw_keys:
        jaw = np.max([values[k] for k in dict.fromkeys(jaw_keys)], axis=0)
    else:
        jaw = np.clip(intensity * adjusted[:, _JAW], 0.0, 1.0)
    for key in close_keys & set(values):
        if key not in jaw_keys:
            values[key] = (values[key] * jaw).astype(np.float32)
    return values


def solve_values(curves: np.ndarray, mapping: mapping_mod.Mapping, intensity: float = 1.0,
                 fps: float | None = None) -> dict[str, np.ndarray]:
    """Viseme/vowel rigs: the solved weights of the rig's own shapes (viseme_solve)."""
    adjusted, s = sealed(curves)
    shapes = list(dict.fromkeys(r.shape_key for r in mapping.rows if r.enabled))
    if not shapes:
        return {}
    sig = vs.signature_matrix([(r.shape_key, r.parameter, r.half, r.weight)
                               for r in mapping.rows if r.enabled], shapes)
    weights = vs.solve(vs.features(adjusted), sig, vs.importance())
    close_col = vs.FEATURE_INDEX[("mouth_close", "+")]
    is_closure = (sig[:, close_col] > 0) & (sig[:, close_col] >= sig.max(axis=1) - 1e-12)
    hold_frames = 1
    if fps and mapping.options.min_hold_ms > 0:
        hold_frames = max(1, int(round(mapping.options.min_hold_ms / 1000.0 * fps)))
    if mapping.options.mode == "hold":
        weights = vs.hold(vs.closure_wins(weights, s, is_closure), hold_frames, is_closure)
    else:
        weights = vs.closure_wins(vs.widen(weights, hold_frames), s, is_closure)
    out = np.clip(intensity * weights, 0.0, 1.0).astype(np.float32)
    return {shape: out[:, i] for i, shape in enumerate(shapes)}


def shape_values(curves: np.ndarray, mapping: mapping_mod.Mapping, intensity: float = 1.0,
                 fps: float | None = None) -> dict[str, np.ndarray]:
    """{shape_key: (N,) float32 in [0, 1]} from (N, 26) curves at ``fps`` frames per second."""
    if mapping.convention == "arkit":
        return arkit_values(curves, mapping, intensity)
    if mapping.convention == "solve":
        return solve_values(curves, mapping, intensity, fps)
    return mapping_mod.apply(_check(curves), mapping, intensity)
