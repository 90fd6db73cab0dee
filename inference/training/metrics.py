"""Quality metrics for 26-parameter mouth curves: numbers that say whether a model lip-syncs.

Owns: per-parameter error statistics, the timing lag of mouth opening, the phone-class metrics
(bilabial closure recall, false closures on open vowels, separability AUCs, silence closed), their
summary over clips, and the loudness-driven baseline mouth that every report is compared with.

Phone classes come in as ``Segment`` objects (class names + frame range, in sound time), so this
module never needs the articulation rules; ``evaluate.py`` builds the segments from phones.

Definitions (all scale-free, so a model, a loudness mouth and Rhubarb are scored alike):

- aperture = jaw_open + mouth_open - mouth_close; rounding = lip_pucker + lip_funnel;
  lower-lip roll = lip_roll_lower.
- lag: the integer lag (refined to sub-frame by a parabola) that maximises the normalised
  cross-correlation of the predicted opening (jaw_open + mouth_open) with a reference opening,
  searched within +-250 ms; positive = the predicted mouth moves EARLY. With phones available the
  reference is drawn at sound time (no articulatory lead), so the lag is the model's lead over the
  sound; it is also reported against the training targets.
- Class metrics are computed on the prediction delayed by its own lag (rounded to frames), so a
  mouth that moves early is not penalised for it.
- closure: a segment counts as closed when, within the segment widened by one frame (20 ms) on
  each side, the aperture falls to or below the 20th percentile of the clip's speech-frame aperture,
  or mouth_close reaches 0.5. Recall = closed bilabial segments / bilabial segments.
  False closures = open-vowel segments whose inner frames (one frame trimmed from each end when the
  segment has three or more) meet the same closure test, over open-vowel segments.
- AUCs are Mann-Whitney (probability that a random frame of the first class scores higher than one
  of the second, ties counted half): aperture open vowels > bilabials; rounding rounded > spread
  vowels; lower-lip roll labiodentals (f, v) > every other speech frame.
- silence closed: silence frames at least three frames (60 ms) away from speech; ratio = mean
  positive aperture there / mean positive aperture of speech frames; closed when <= 0.25.
- schwa ratio: mean positive aperture over schwa frames (the reduced vowel of "the", "a") / mean
  positive aperture over open-vowel frames. Not a goal by itself: read it beside the reference
  curves' own ratio (the articulation model's), since a schwa opens less than a full vowel.

Imports: numpy, lipsync_core.params.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lipsync_core.params import FRAME_RATE_HZ, MOUTH_CLOSE_SEALED, NUM_PARAMS, PARAM_NAMES, index_of

CLASS_NAMES = ("bilabial", "open_vowel", "rounded_vowel", "spread_vowel", "labiodental", "silence",
               "schwa")
MAX_LAG_S = 0.25                 # seconds searched either side by the lag estimate
CLOSURE_PERCENTILE = 20.0        # percent of speech-frame aperture below which lips count as closed
CLOSURE_TOLERANCE = 1            # frames either side of a bilabial segment
MOUTH_CLOSE_ON = MOUTH_CLOSE_SEALED  # mouth_close at or above this is a closure whatever the aperture
SILENCE_MARGIN = 3               # frames of silence next to speech left out of "silence closed"
SILENCE_CLOSED_RATIO = 0.25      # silence aperture / speech aperture at or below this = closed
CLASS_METRICS = ("aperture_auc", "closure_recall", "false_closures", "rounding_auc",
                 "lip_roll_auc")  # the phone-class metrics, per clip and pooled over clips
POOL_KEY = "_pool"               # per-clip raw class values, for metrics pooled over clips


@dataclass(frozen=True)
class Segment:
    """One phone in sound time: its classes (see CLASS_NAMES) and frames [start, end)."""
    classes: frozenset
    start: int                   # first frame (50 Hz)
    end: int                     # one past the last frame


def aperture(frames: np.ndarray) -> np.ndarray:
    """(frames,) jaw_open + mouth_open - mouth_close of (frames, 26) curves."""
    return (frames[:, index_of("jaw_open")] + frames[:, index_of("mouth_open")]
            - frames[:, index_of("mouth_close")])


def opening(frames: np.ndarray) -> np.ndarray:
    """(frames,) jaw_open + mouth_open: the signal whose timing the lag measures."""
    return frames[:, index_of("jaw_open")] + frames[:, index_of("mouth_open")]


def rounding(frames: np.ndarray) -> np.ndarray:
    """(frames,) lip_pucker + lip_funnel."""
    return frames[:, index_of("lip_pucker")] + frames[:, index_of("lip_funnel")]


def lower_lip_roll(frames: np.ndarray) -> np.ndarray:
    """(frames,) lip_roll_lower."""
    return frames[:, index_of("lip_roll_lower")]


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Mann-Whitney AUC: P(pos > neg) + P(pos == neg) / 2; NaN when either side is empty."""
    pos = np.asarray(pos, dtype=np.float64).ravel()
    neg = np.asarray(neg, dtype=np.float64).ravel()
    if pos.size == 0 or neg.size == 0:
        return math.nan
    values = np.concatenate([pos, neg])
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    ranks = np.empty(values.size, dtype=np.float64)
    # Average ranks over ties (1-based).
    boundaries = np.flatnonzero(np.diff(sorted_vals)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [values.size]])
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    rank_sum = ranks[:pos.size].sum()
    u = rank_sum - pos.size * (pos.size + 1) / 2.0
    return float(u / (pos.size * neg.size))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = a.std(), b.std()
    if sa < 1e-9 or sb < 1e-9:
        return math.nan
    return float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb))


def per_parameter(pred: np.ndarray, target: np.ndarray) -> dict[str, dict[str, float]]:
    """Error statistics of (frames, 26) ``pred`` against ``target``, one dict per parameter.

    mae, rmse; pearson (NaN when either side is constant); std_ratio = std(pred) / std(target)
    (below 1 = over-smoothed; NaN when the target is constant); velocity_error = mean |d pred - d
    target| per frame; jitter = mean |second difference| of pred (target_jitter of the target).
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape or pred.ndim != 2 or pred.shape[1] != NUM_PARAMS:
        raise ValueError(f"Prediction {pred.shape} and target {target.shape} must both be "
                         f"(frames, {NUM_PARAMS}).")
    out = {}
    for name in PARAM_NAMES:
        p, t = pred[:, index_of(name)], target[:, index_of(name)]
        err = p - t
        ts = t.std()
        stats = {
            "mae": float(np.abs(err).mean()),
            "rmse": float(np.sqrt((err ** 2).mean())),
            "pearson": _pearson(p, t),
            "std_ratio": float(p.std() / ts) if ts > 1e-9 else math.nan,
            "velocity_error": float(np.abs(np.diff(p) - np.diff(t)).mean()) if len(p) > 1 else math.nan,
            "jitter": float(np.abs(np.diff(p, 2)).mean()) if len(p) > 2 else math.nan,
            "target_jitter": float(np.abs(np.diff(t, 2)).mean()) if len(t) > 2 else math.nan,
        }
        out[name] = stats
    return out


def estimate_lag(pred_signal: np.ndarray, ref_signal: np.ndarray,
                 frame_rate: float = FRAME_RATE_HZ, max_lag_s: float = MAX_LAG_S) -> float:
    """Seconds by which ``pred_signal`` leads ``ref_signal`` (+ = pred early); NaN if flat.

    Both are (frames,) at ``frame_rate``. pred early by k frames means pred[t] ~ ref[t + k].
    """
    p = np.asarray(pred_signal, dtype=np.float64)
    r = np.asarray(ref_signal, dtype=np.float64)
    n = min(len(p), len(r))
    p, r = p[:n] - p[:n].mean(), r[:n] - r[:n].mean()
    if n < 3 or p.std() < 1e-9 or r.std() < 1e-9:
        return math.nan
    max_k = int(min(round(max_lag_s * frame_rate), n - 2))
    lags = np.arange(-max_k, max_k + 1)
    scores = np.empty(len(lags))
    for i, k in enumerate(lags):
        a = p[:n - k] if k >= 0 else p[-k:]
        b = r[k:] if k >= 0 else r[:n + k]
        denom = np.sqrt((a * a).sum() * (b * b).sum())
        scores[i] = (a * b).sum() / denom if denom > 0 else -np.inf
    best = int(np.argmax(scores))
    offset = 0.0
    if 0 < best < len(lags) - 1 and np.all(np.isfinite(scores[best - 1:best + 2])):
        y0, y1, y2 = scores[best - 1:best + 2]
        curv = y0 - 2 * y1 + y2
        if curv < 0:
            offset = 0.5 * (y0 - y2) / curv
    return float((lags[best] + offset) / frame_rate)


def delay(frames: np.ndarray, k: int) -> np.ndarray:
    """Curves delayed by ``k`` frames (out[t] = frames[t - k]), edges held; k < 0 advances."""
    if k == 0:
        return frames
    n = len(frames)
    idx = np.clip(np.arange(n) - k, 0, n - 1)
    return frames[idx]


def class_masks(segments: list[Segment], n_frames: int) -> dict[str, np.ndarray]:
    """Boolean (n_frames,) mask per class name, plus "speech" (any non-silence segment)."""
    masks = {name: np.zeros(n_frames, dtype=bool) for name in CLASS_NAMES}
    masks["speech"] = np.zeros(n_frames, dtype=bool)
    for seg in segments:
        s, e = max(0, seg.start), min(n_frames, seg.end)
        if e <= s:
            continue
        for name in seg.classes:
            if name in masks:
                masks[name][s:e] = True
        if "silence" not in seg.classes:
            masks["speech"][s:e] = True
    return masks


def _closed(apert: np.ndarray, close: np.ndarray, s: int, e: int, threshold: float) -> bool:
    if e <= s:
        return False
    if close[s:e].max() >= MOUTH_CLOSE_ON:
        return True
    return bool(np.isfinite(threshold) and apert[s:e].min() <= threshold)


def phone_class_metrics(aligned: np.ndarray, segments: list[Segment]) -> dict[str, float]:
    """Class metrics of (frames, 26) curves already aligned to sound time (see module docstring)."""
    n = len(aligned)
    masks = class_masks(segments, n)
    ap = aperture(aligned)
    close = aligned[:, index_of("mouth_close")]
    speech_ap = ap[masks["speech"]]
    threshold = math.nan
    if speech_ap.size and np.percentile(speech_ap, 95) - np.percentile(speech_ap, 5) > 1e-3:
        threshold = float(np.percentile(speech_ap, CLOSURE_PERCENTILE))

    bilabial_hits, open_hits = [], []
    for seg in segments:
        if "bilabial" in seg.classes:
            s = max(0, seg.start - CLOSURE_TOLERANCE)
            e = min(n, seg.end + CLOSURE_TOLERANCE)
            if e > s:
                bilabial_hits.append(_closed(ap, close, s, e, threshold))
        if "open_vowel" in seg.classes:
            s, e = max(0, seg.start), min(n, seg.end)
            if e - s >= 3:
                s, e = s + 1, e - 1
            if e > s:
                open_hits.append(_closed(ap, close, s, e, threshold))

    silence_core = masks["silence"] & ~dilate(masks["speech"], SILENCE_MARGIN)
    sil = np.clip(ap[silence_core], 0, None)
    spe = np.clip(speech_ap, 0, None)
    ratio = _ratio_of_means(sil, spe)
    speech_other = masks["speech"] & ~masks["labiodental"]
    rnd, roll = rounding(aligned), lower_lip_roll(aligned)
    schwa, full = (np.clip(ap[masks[name]], 0, None) for name in ("schwa", "open_vowel"))
    pool = {"aperture": (ap[masks["open_vowel"]], ap[masks["bilabial"]]),
            "schwa": (schwa, full),
            "rounding": (rnd[masks["rounded_vowel"]], rnd[masks["spread_vowel"]]),
            "lip_roll": (roll[masks["labiodental"]], roll[speech_other]),
            "closure_hits": bilabial_hits, "open_hits": open_hits}
    return {
        "aperture_auc": auc(*pool["aperture"]),
        "rounding_auc": auc(*pool["rounding"]),
        "lip_roll_auc": auc(*pool["lip_roll"]),
        POOL_KEY: pool,
        "closure_recall": float(np.mean(bilabial_hits)) if bilabial_hits else math.nan,
        "false_closures": float(np.mean(open_hits)) if open_hits else math.nan,
        "silence_aperture": float(sil.mean()) if sil.size else math.nan,
        "speech_aperture": float(spe.mean()) if spe.size else math.nan,
        "silence_ratio": ratio,
        "silence_closed": (float(ratio <= SILENCE_CLOSED_RATIO) if not math.isnan(ratio)
                           else math.nan),
        "bilabial_segments": float(len(bilabial_hits)),
        "open_vowel_segments": float(len(open_hits)),
        "schwa_ratio": _ratio_of_means(schwa, full),
    }


def _ratio_of_means(num: np.ndarray, den: np.ndarray) -> float:
    """mean(num) / mean(den), NaN when either is empty or den's mean is ~0."""
    if not num.size or not den.size or den.mean() <= 1e-6:
        return math.nan
    return float(num.mean() / den.mean())


def dilate(mask: np.ndarray, k: int) -> np.ndarray:
    """(n,) bool mask grown by ``k`` frames either side."""
    out = mask.copy()
    for shift in range(1, k + 1):
        out[shift:] |= mask[:-shift]
        out[:-shift] |= mask[shift:]
    return out


def clip_metrics(pred: np.ndarray, target: np.ndarray, segments: list[Segment] | None = None,
                 sound_reference: np.ndarray | None = None,
                 frame_rate: float = FRAME_RATE_HZ) -> dict:
    """All metrics of one clip.

    pred, target: (frames, 26) at ``frame_rate`` (trimmed to the shorter). ``sound_reference``:
    (frames, 26) curves drawn from the phones without articulatory lead; the lag is measured
    against it when given (the model's lead over the sound), else against ``target``.
    Returns {"params": per-parameter dict, "lag_ms", "lag_vs_targets_ms", class metrics...}.
    """
    n = min(len(pred), len(target))
    pred, target = np.asarray(pred[:n]), np.asarray(target[:n])
    lag_t = estimate_lag(opening(pred), opening(target), frame_rate)
    ref = target if sound_reference is None else np.asarray(sound_reference[:n])
    lag = estimate_lag(opening(pred), opening(ref), frame_rate)
    out: dict = {
        "frames": n,
        "params": per_parameter(pred, target),
        "lag_ms": lag * 1000.0,
        "lag_vs_targets_ms": lag_t * 1000.0,
    }
    if segments is not None:
        k = 0 if math.isnan(lag) else int(round(lag * frame_rate))
        out.update(phone_class_metrics(delay(pred, k), segments))
    return out


SUMMARY_KEYS = ("lag_ms", "lag_vs_targets_ms", "aperture_auc", "rounding_auc", "lip_roll_auc",
                "closure_recall", "false_closures", "silence_ratio", "silence_closed",
                "schwa_ratio")


def pooled(clips: list[dict]) -> dict[str, float]:
    """Class metrics over the frames and segments of all ``clips`` together (steadier than the
    mean of per-clip values when clips hold only a few bilabials each)."""
    pools = [c[POOL_KEY] for c in clips if POOL_KEY in c]
    if not pools:
        return {}
    out = {}
    for name in ("aperture", "rounding", "lip_roll"):
        pos = np.concatenate([p[name][0] for p in pools])
        neg = np.concatenate([p[name][1] for p in pools])
        out[f"{name}_auc"] = auc(pos, neg)
    hits = [h for p in pools for h in p["closure_hits"]]
    false = [h for p in pools for h in p["open_hits"]]
    out["closure_recall"] = float(np.mean(hits)) if hits else math.nan
    out["false_closures"] = float(np.mean(false)) if false else math.nan
    out["bilabial_segments"] = float(len(hits))
    out["open_vowel_segments"] = float(len(false))
    if all("schwa" in p for p in pools):
        out["schwa_ratio"] = _ratio_of_means(np.concatenate([p["schwa"][0] for p in pools]),
                                             np.concatenate([p["schwa"][1] for p in pools]))
    return out


def strip_pool(clip: dict) -> dict:
    """A clip's metrics without the raw class values kept for pooling."""
    return {k: v for k, v in clip.items() if k != POOL_KEY}


def summarize(clips: list[dict]) -> dict:
    """Mean over clips of each scalar metric (NaNs skipped) and of each per-parameter statistic,
    plus "pooled": the class metrics over all clips' frames and segments together."""
    out: dict = {"clips": len(clips), "pooled": pooled(clips)}
    for key in SUMMARY_KEYS:
        vals = [c[key] for c in clips if key in c and c[key] is not None
                and not math.isnan(c[key])]
        out[key] = float(np.mean(vals)) if vals else math.nan
    params: dict = {}
    for name in PARAM_NAMES:
        stats = {}
        for stat in ("mae", "rmse", "pearson", "std_ratio", "velocity_error", "jitter"):
            vals = [c["params"][name][stat] for c in clips if not math.isnan(c["params"][name][stat])]
            stats[stat] = float(np.mean(vals)) if vals else math.nan
        params[name] = stats
    out["params"] = params
    out["mae"] = float(np.mean([params[n]["mae"] for n in PARAM_NAMES])) if clips else math.nan
    return out


def loudness_curves(wave: np.ndarray, sample_rate: int = 16000,
                    frame_rate: float = FRAME_RATE_HZ) -> np.ndarray:
    """The loudness-driven baseline: (frames, 26) with jaw_open from the RMS envelope, rest elsewhere.

    RMS per frame (frames = ceil(samples / hop)) in dB, mapped from [-40 dB below the clip's 95th
    percentile, that percentile] to [0, 1] and smoothed over three frames.
    """
    hop = int(round(sample_rate / frame_rate))
    n = max(1, math.ceil(len(wave) / hop))
    padded = np.zeros(n * hop, dtype=np.float64)
    padded[:len(wave)] = wave
    rms = np.sqrt((padded.reshape(n, hop) ** 2).mean(axis=1) + 1e-12)
    db = 20 * np.log10(rms)
    top = np.percentile(db, 95)
    jaw = np.clip((db - (top - 40.0)) / 40.0, 0.0, 1.0)
    jaw = np.convolve(np.pad(jaw, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    frames = np.zeros((n, NUM_PARAMS), dtype=np.float32)
    frames[:, index_of("jaw_open")] = jaw
    return frames


def json_safe(obj):
    """The same structure with NaN/inf turned into None, so the report is strict JSON."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
