"""The training loss of a head: position + velocity + closure terms over masked frames.

Owns ``LossConfig`` and ``lipsync_loss``. The closure term follows the idea of Audio2Face-3D's
lip-distance loss: on frames where the target lips are sealed (target mouth_close > 0.5) the
distance between the lips matters more than anything else, so there the error of the predicted lip
gap (jaw_open + mouth_open - mouth_close) and of the sealing parameters (mouth_close,
lip_press_left, lip_press_right) is added again with its own weight.

Imports: torch, lipsync_core.params.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import torch

from lipsync_core.params import NUM_PARAMS, index_of

CLOSURE_PARAMS = ("mouth_close", "lip_press_left", "lip_press_right")


@dataclass(frozen=True)
class LossConfig:
    kind: str = "l1"                   # "l1" or "mse": per-element error of positions and velocities
    velocity_weight: float = 0.5       # weight of the first-difference (per frame) error
    closure_weight: float = 2.0        # weight of the lip-gap error on closure frames
    closure_threshold: float = 0.5     # target mouth_close above this marks a closure frame
    param_weights: dict = field(default_factory=dict)   # name -> weight; unnamed ones weigh 1

    def __post_init__(self):
        if self.kind not in ("l1", "mse"):
            raise ValueError(f"Loss kind {self.kind!r} is not supported; use 'l1' or 'mse'.")
        for name in self.param_weights:
            index_of(name)  # a clear error for an unknown name

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "LossConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"Unknown loss settings {sorted(unknown)}; expected some of {sorted(known)}.")
        return cls(**data)

    def weights(self) -> torch.Tensor:
        """(26,) per-parameter weights in schema order."""
        w = torch.ones(NUM_PARAMS)
        for name, value in self.param_weights.items():
            w[index_of(name)] = float(value)
        return w


def _err(diff: torch.Tensor, kind: str) -> torch.Tensor:
    return diff.abs() if kind == "l1" else diff * diff


def lip_gap(frames: torch.Tensor) -> torch.Tensor:
    """(..., T) jaw_open + mouth_open - mouth_close of (..., T, 26) curves."""
    return (frames[..., index_of("jaw_open")] + frames[..., index_of("mouth_open")]
            - frames[..., index_of("mouth_close")])


def lipsync_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                 cfg: LossConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts.

    pred, target: (B, T, 26); mask: (B, T) bool, True on real (unpadded) frames.
    Returns (scalar tensor, {"position", "velocity", "closure", "total"} as floats).
    Each term is a mean over the frames it applies to, so crop length and padding do not
    change its scale.
    """
    if pred.shape != target.shape or pred.shape[-1] != NUM_PARAMS:
        raise ValueError(f"Prediction {tuple(pred.shape)} and target {tuple(target.shape)} must "
                         f"both be (batch, frames, {NUM_PARAMS}).")
    w = cfg.weights().to(pred.device, pred.dtype)                 # (26,)
    m = mask.to(pred.dtype)                                         # (B, T)
    n_frames = m.sum().clamp_min(1.0)
    w_sum = w.sum()

    position = (_err(pred - target, cfg.kind) * w).sum(-1)         # (B, T)
    position = (position * m).sum() / (n_frames * w_sum)

    vel_mask = m[:, 1:] * m[:, :-1]                                 # (B, T-1)
    dp = pred[:, 1:] - pred[:, :-1]
    dt = target[:, 1:] - target[:, :-1]
    velocity = (_err(dp - dt, cfg.kind) * w).sum(-1)
    velocity = (velocity * vel_mask).sum() / (vel_mask.sum().clamp_min(1.0) * w_sum)

    closing = (target[..., index_of("mouth_close")] > cfg.closure_threshold).to(pred.dtype) * m
    idx = [index_of(n) for n in CLOSURE_PARAMS]
    gap_err = _err(lip_gap(pred) - lip_gap(target), cfg.kind)       # (B, T)
    seal_err = _err(pred[..., idx] - target[..., idx], cfg.kind).mean(-1)
    closure = ((gap_err + seal_err) * closing).sum() / closing.sum().clamp_min(1.0)

    total = position + cfg.velocity_weight * velocity + cfg.closure_weight * closure
    parts = {"position": float(position.detach()), "velocity": float(velocity.detach()),
             "closure": float(closure.detach()), "total": float(total.detach())}
    return total, parts

