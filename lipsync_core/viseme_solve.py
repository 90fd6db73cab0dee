"""The viseme solve: per frame, the rig's own shapes whose mix best reproduces the 26 parameters.

A viseme or vowel rig (Oculus/Meta 15, VRM A I U E O, VRoid Fcl_MTH_*, MMD あいうえお, Preston
Blair / Rhubarb A-H) has a handful of whole-mouth shapes. Each shape's *signature* is what the 26
parameters read when that shape is fully on (written in its preset, one row per non-zero
entry). Per frame the solve finds weights ``w`` (S,) in [0, 1] minimising

    || D (Sig^T w - x) ||^2 + ridge ||w||^2

where ``x`` are the frame's parameter features, ``Sig`` (S, F) the signatures and ``D`` a
per-feature importance (jaw and closure count double). A signed parameter gives two features,
its positive and its negative half, so a shape can ask for "corner down" without "corner up".

The solver is a bounded non-negative least squares done for all frames at once: Lawson and
Hanson's active-set method with an upper bound, on the shared (S, S) normal matrix, one batched
(N, S, S) linear solve per round for the frames still working; any frame not settled after the
rounds falls back to accelerated projected gradient. The
result meets the bounded problem's optimality (KKT) conditions, which the unit tests check;
5000 frames x 14 shapes take tens of milliseconds.

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

from .params import BY_NAME, MOUTH_CLOSE_SEALED, PARAMS

# features: every parameter's positive half, then the negative half of each signed parameter
FEATURES: tuple[tuple[str, str], ...] = tuple(
    [(p.name, "+") for p in PARAMS] + [(p.name, "-") for p in PARAMS if p.signed])
FEATURE_INDEX = {f: i for i, f in enumerate(FEATURES)}
NUM_FEATURES = len(FEATURES)
# per-feature importance in the fit (D above); closure and jaw decide the most visible part
IMPORTANCE = {"jaw_open": 2.0, "mouth_open": 1.5, "mouth_close": 2.0, "lip_pucker": 1.5,
              "lip_funnel": 1.5, "lip_roll_lower": 1.5, "tongue_up": 0.5}
RIDGE = 1e-3            # keeps near-duplicate signatures from trading weight wildly
ACTIVE_SET_ROUNDS = 80  # rounds of the active-set solve before the fallback
KKT_TOL = 1e-10         # gradient size below which a bound weight stays at its bound
MAX_ITERS = 2000        # fallback (FISTA) iterations, at most
TOL = 1e-9              # fallback: largest weight change per iteration at which it stops
# closure strength: mouth_close below LO is no closure, from HI on a full seal (parameter units);
# HI is the value the evaluation already counts as closed, so a curve scored as a seal is played
# as one (0.6 left /m/ at mouth_close 0.53 1.7-3.3 mm open on Ready Player Me's ARKit keys)
CLOSURE_LO, CLOSURE_HI = 0.2, MOUTH_CLOSE_SEALED
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

    Minimises ``sum_f weights_f^2 (w @ signatures - x)_f^2 + ridge |w|^2`` per frame with the
    Lawson-Hanson active-set method, extended to an upper bound and run on all frames at once:
    each round, a frame whose free weights are optimal frees the bound weight that violates the
    optimality conditions most; the free weights are solved exactly (one batched (N, S, S)
    solve for the frames still working); a solution that leaves the box is cut back to it and
    the weight that hit the bound is fixed there. Finite; frames not done after
    ACTIVE_SET_ROUNDS finish by projected gradient (FISTA).
    """
    x = np.asarray(targets, dtype=np.float64)
    sig = np.asarray(signatures, dtype=np.float64)
    n, s = x.shape[0], sig.shape[0]
    if s == 0 or n == 0:
        return np.zeros((n, s))
    d2 = (np.ones(sig.shape[1]) if weights is None else np.asarray(weights, np.float64)) ** 2
    gram = (sig * d2) @ sig.T + ridge * np.eye(s)          # (S, S)
    rhs = (x * d2) @ sig.T                                  # (N, S)
    w = np.zeros((n, s))
    free = np.zeros((n, s), dtype=bool)
    settled = np.ones(n, dtype=bool)                        # free weights at their optimum
    working = np.arange(n)
    inverses: dict[int, np.ndarray] = {}                    # free set -> inverse of its block
    for _ in range(ACTIVE_SET_ROUNDS):
        if working.size == 0:
            break
        W, Fr, B = w[working], free[working], rhs[working]
        # 1. optimal frames: stop, or free the bound weight that violates the most
        grad = W @ gram - B
        at_upper = ~Fr & (W >= upper - 1e-12)
        viol = np.where(Fr, 0.0, np.where(at_upper, grad, -grad))      # > 0: wants to move in
        worst = viol.argmax(axis=1)
        done = settled[working] & (viol[np.arange(len(working)), worst] <= KKT_TOL)
        adding = settled[working] & ~done
        Fr[np.flatnonzero(adding), worst[adding]] = True
        # 2. solve the free weights exactly, the others at their bound
        fixed = np.where(Fr, 0.0, np.where(W >= upper - 1e-12, upper, 0.0))
        target = _solve_free(gram, B - fixed @ gram, Fr, fixed, inverses)
        # 3. inside the box: take it; outside: go as far as the box allows, fix what hit it
        step = target - W
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(step < 0, -W / step, np.where(step > 0, (upper - W) / step, np.inf))
        room = np.where(Fr & ((target < 0) | (target > upper)), room, np.inf)
        alpha = np.clip(room.min(axis=1), 0.0, 1.0)                     # (M,)
        W_new = np.clip(W + alpha[:, None] * step, 0.0, upper)
        cut = alpha < 1.0
        hit = Fr & cut[:, None] & ((W_new <= 1e-12) | (W_new >= upper - 1e-12))
        W_new = np.where(hit & (W_new <= 1e-12), 0.0, np.where(hit, upper, W_new))
        Fr &= ~hit
        keep = ~done
        w[working[keep]] = W_new[keep]
        free[working[keep]] = Fr[keep]
        settled[working[keep]] = ~cut[keep]
        working = working[keep]
    if working.size:
        w[working] = _fista(w[working], gram, rhs[working], upper)
    return w


def _solve_free(gram: np.ndarray, b: np.ndarray, free: np.ndarray, fixed: np.ndarray,
                cache: dict) -> np.ndarray:
    """Per frame: the free weights solving ``gram[F, F] w_F = b_F``, the others ``fixed``.

    Frames sharing a free set share the matrix: one inverse per distinct set (few, and kept in
    ``cache`` across rounds) instead of one solve per frame."""
    out = fixed.copy()
    codes = free.astype(np.int64) @ (np.int64(1) << np.arange(free.shape[1], dtype=np.int64))
    uniq, which = np.unique(codes, return_inverse=True)
    for k, code in enumerate(uniq):
        if code == 0:
            continue
        pattern = free[np.flatnonzero(which == k)[0]]
        inv = cache.get(int(code))
        if inv is None:
            inv = cache[int(code)] = np.linalg.inv(gram[np.ix_(pattern, pattern)])
        rows = np.flatnonzero(which == k)
        out[np.ix_(rows, pattern)] = b[np.ix_(rows, pattern)] @ inv.T
    return out


def _violations(w: np.ndarray, gram: np.ndarray, rhs: np.ndarray, upper: float) -> np.ndarray:
    """(N,) largest violation of the optimality conditions per frame."""
    grad = w @ gram - rhs
    free = (w > 1e-9) & (w < upper - 1e-9)
    viol = np.where(free, np.abs(grad), 0.0)
    viol = np.maximum(viol, np.where(w <= 1e-9, np.maximum(-grad, 0.0), 0.0))
    viol = np.maximum(viol, np.where(w >= upper - 1e-9, np.maximum(grad, 0.0), 0.0))
    return viol.max(axis=1) if viol.size else np.zeros(len(w))


def _fista(w: np.ndarray, gram: np.ndarray, rhs: np.ndarray, upper: float) -> np.ndarray:
    """Accelerated projected gradient from ``w`` (the fallback of :func:`solve`)."""
    step = 1.0 / float(np.linalg.eigvalsh(gram)[-1])
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
    gram = (sig * d2) @ sig.T + ridge * np.eye(sig.shape[0])
    rhs = (np.asarray(targets, np.float64) * d2) @ sig.T
    viol = _violations(np.asarray(w, np.float64), gram, rhs, upper)
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
