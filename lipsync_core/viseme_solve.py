"""The viseme solve: per frame, the rig's own shapes whose mix best reproduces the 26 parameters.

A viseme or vowel rig (Oculus/Meta 15, VRM A I U E O, VRoid Fcl_MTH_*, MMD あいうえお, Preston
Blair / Rhubarb A-H) has a handful of whole-mouth shapes. Each shape's *signature* is what the 26
parameters read when that shape is fully on (written in its preset, one row per non-zero
entry). Per frame the solve finds weights ``w`` (S,) in [0, 1] minimising

    || D (Sig^T w - x) ||^2 + ridge ||w||^2

where ``x`` are the frame's parameter features, ``Sig`` (S, F) the signatures and ``D`` a
per-feature importance (jaw and closure count double). A signed parameter gives two features,
its positive and its negative half, so a shape can ask for "corner down" without "corner up".

The solver is a bounded non-negative least squares done for all frames at once by accelerated
projected gradient (FISTA) on the shared (S, S) normal matrix: thousands of frames x 15 shapes
take milliseconds, and the result meets the bounded problem's optimality (KKT) conditions to
about 1e-6, which the unit tests check.

Then the closure wins (:func:`closure_wins`): on m, b, p the closure shapes (signature mostly
``mouth_close``) rise to the closure strength and every other shape is scaled down by it, so open
shapes are near zero on a seal. Two presentation options: ``blend`` (weights as solved; a
minimum hold widens pulses shorter than it) and ``hold`` (one shape at a time at full weight, as
stylised mouth sets are drawn; a minimum hold merges shorter shapes into their neighbour).

Imports: numpy and lipsync_core.params only.
"""
from __future__ import annotations

import math

import numpy as np

from .params import BY_NAME, PARAMS

# features: every parameter's positive half, then the negative half of each signed parameter
FEATURES: tuple[tuple[str, str], ...] = tuple(
    [(p.name, "+") for p in PARAMS] + [(p.name, "-") for p in PARAMS if p.signed])
FEATURE_INDEX = {f: i for i, f in enumerate(FEATURES)}
NUM_FEATURES = len(FEATURES)
# per-feature importance in the fit (D above); closure and jaw decide the most visible part
IMPORTANCE = {"jaw_open": 2.0, "mouth_open": 1.5, "mouth_close": 2.0, "lip_pucker": 1.5,
              "lip_funnel": 1.5, "lip_roll_lower": 1.5, "tongue_up": 0.5}
RIDGE = 1e-3            # keeps near-duplicate signatures from trading weight wildly
MAX_ITERS = 400
TOL = 1e-7              # largest weight change per iteration at which the solve stops
# closure strength: mouth_close below LO is no closure, above HI a full seal (parameter units)
CLOSURE_LO, CLOSURE_HI = 0.2, 0.6
REST_THRESHOLD = 0.15   # hold mode: below this no shape is shown (the rest pose)


def features(curves: np.ndarray) -> np.ndarray:
    """(N, 26) parameter curves -> (N, F) non-negative features (see FEATURES)."""
    curves = np.asarray(curves, dtype=np.float64)
    pos = np.maximum(curves, 0.0)
    neg = np.maximum(-curves[:, [p.index for p in PARAMS if p.signed]], 0.0)
    return np.concatenate([pos, neg], axis=1)


def signature_matrix(rows: list[tuple[str, str, str, float]], shapes: list[str]) -> np.ndarray:
    """(S, F) signatures from rows ``(shape, parameter, half, value)``; half "both" is "+"."""
    sig = np.zeros((len(shapes), NUM_FEATURES))
    index = {s: i for i, s in enumerate(shapes)}
    for shape, param, half, value in rows:
        h = "-" if half == "-" and BY_NAME[param].signed else "+"
        sig[index[shape], FEATURE_INDEX[(param, h)]] += value
    return sig


def importance() -> np.ndarray:
    """(F,) the fit's per-feature weights D."""
    return np.array([IMPORTANCE.get(name, 1.0) for name, _ in FEATURES])


def solve(targets: np.ndarray, signatures: np.ndarray, weights: np.ndarray | None = None,
          ridge: float = RIDGE, upper: float = 1.0) -> np.ndarray:
    """Bounded NNLS for every frame: (N, F) targets, (S, F) signatures -> (N, S) in [0, upper].

    Minimises ``sum_f weights_f^2 (w @ signatures - x)_f^2 + ridge |w|^2`` per frame.
    """
    x = np.asarray(targets, dtype=np.float64)
    sig = np.asarray(signatures, dtype=np.float64)
    n, s = x.shape[0], sig.shape[0]
    if s == 0 or n == 0:
        return np.zeros((n, s))
    d2 = (np.ones(sig.shape[1]) if weights is None else np.asarray(weights, np.float64)) ** 2
    gram = (sig * d2) @ sig.T + ridge * np.eye(s)          # (S, S)
    rhs = (x * d2) @ sig.T                                  # (N, S)
    lipschitz = float(np.linalg.eigvalsh(gram)[-1])
    step = 1.0 / lipschitz
    w = np.clip(np.linalg.solve(gram, rhs.T).T, 0.0, upper)   # unconstrained start, projected
    y, t = w.copy(), 1.0
    for _ in range(MAX_ITERS):
        w_next = np.clip(y - (y @ gram - rhs) * step, 0.0, upper)
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        y = w_next + ((t - 1.0) / t_next) * (w_next - w)
        change = float(np.max(np.abs(w_next - w)))
        w, t = w_next, t_next
        if change < TOL:
            break
    return w


def kkt_violation(w: np.ndarray, targets: np.ndarray, signatures: np.ndarray,
                  weights: np.ndarray | None = None, ridge: float = RIDGE,
                  upper: float = 1.0) -> float:
    """Largest violation of the bounded problem's optimality conditions (0 at the optimum)."""
    sig = np.asarray(signatures, dtype=np.float64)
    d2 = (np.ones(sig.shape[1]) if weights is None else np.asarray(weights, np.float64)) ** 2
    grad = w @ ((sig * d2) @ sig.T + ridge * np.eye(sig.shape[0])) - (targets * d2) @ sig.T
    free = (w > 1e-9) & (w < upper - 1e-9)
    viol = np.where(free, np.abs(grad), 0.0)
    viol = np.maximum(viol, np.where(w <= 1e-9, np.maximum(-grad, 0.0), 0.0))
    viol = np.maximum(viol, np.where(w >= upper - 1e-9, np.maximum(grad, 0.0), 0.0))
    return float(viol.max()) if viol.size else 0.0


def closure_strength(curves: np.ndarray) -> np.ndarray:
    """(N,) in [0, 1]: how sealed the lips are, from ``mouth_close`` (see CLOSURE_LO/HI)."""
    c = np.asarray(curves, dtype=np.float64)[:, BY_NAME["mouth_close"].index]
    return np.clip((c - CLOSURE_LO) / (CLOSURE_HI - CLOSURE_LO), 0.0, 1.0)


def closure_wins(weights: np.ndarray, strength: np.ndarray, is_closure: np.ndarray) -> np.ndarray:
    """Closure shapes rise to ``strength`` (N,); every other shape is scaled by 1 - strength."""
    w = np.asarray(weights, dtype=np.float64)
    out = w * (1.0 - strength)[:, None]
    if is_closure.any():
        out[:, is_closure] = np.maximum(w[:, is_closure], strength[:, None])
    return out


def widen(weights: np.ndarray, frames: int) -> np.ndarray:
    """Blend mode's minimum hold: each shape's running maximum over ``frames`` centred frames."""
    if frames <= 1 or weights.shape[0] == 0:
        return weights
    before = (frames - 1) // 2
    padded = np.pad(weights, ((before, frames - 1 - before), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, frames, axis=0)   # (N, S, frames)
    return windows.max(axis=-1)


def hold(weights: np.ndarray, frames: int, is_closure: np.ndarray,
         threshold: float = REST_THRESHOLD) -> np.ndarray:
    """Hold mode: one shape at a time at full weight, each shown at least ``frames`` frames.

    Per frame the strongest shape wins (none below ``threshold``: the rest pose). A run shorter
    than ``frames`` takes its neighbour's shape, except a closure, which is never dropped.
    """
    n, s = weights.shape
    label = np.where(weights.max(axis=1) >= threshold, weights.argmax(axis=1), -1) if s else \
        np.full(n, -1)
    if frames > 1 and n:
        starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
        ends = np.r_[starts[1:], n]
        for a, b in zip(starts, ends):
            keep_closure = label[a] >= 0 and is_closure[label[a]]
            if b - a < frames and not keep_closure and a > 0:
                label[a:b] = label[a - 1]
    out = np.zeros((n, s))
    shown = label >= 0
    out[np.flatnonzero(shown), label[shown]] = 1.0
    return out
