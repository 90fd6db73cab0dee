"""The training loss of a head: position + velocity + closure terms over masked frames.

Owns ``LossConfig`` and ``lipsync_loss``.

The position term comes in three kinds. "l1" and "mse" compare parameter values. "bce" is the
cross-entropy of the head's logits against the target (signed parameters mapped from [-1, 1] to
[0, 1] first), minus the target's own entropy so a perfect prediction scores 0. Why "bce" is the
default: L1 learns the conditional median, and a parameter that is active on fewer than half of
the frames that sound alike (lip_roll_lower is non-zero on 4 % of frames, lip_pucker only on
rounded vowels) has median 0, so L1 pushes it to the floor; once the sigmoid saturates there its
gradient vanishes and no later loss revives it. The Transformer trained with L1 (transformer2)
predicts lip_roll_lower with a standard deviation of 0.000 on its own training clips. The
cross-entropy gradient with respect to a logit is (prediction - target), which neither vanishes
at saturation nor ignores rare activity.

The closure term follows the idea of Audio2Face-3D's
lip-distance loss: the distance between the lips is what a viewer reads first, so the error of the
predicted lip gap (jaw_open + mouth_open - mouth_close) is added again with its own weight, and on
frames where the target lips are sealed (target mouth_close > 0.5) so is the error of the sealing
parameters (mouth_close, lip_press_left, lip_press_right). With ``lip_gap_frames="all"`` (the
default) the gap counts on every frame and the term is averaged over all frames. The first
version ("closing") counted both only on closure frames and averaged over those: per element
that weighed a closure frame about 170 times a frame's position error and never charged for
closing the lips elsewhere, and the heads it trained over-closed (mean predicted mouth_close 0.22
against 0.07 in the targets; 0.59 after 250 steps with the cross-entropy position term).

Imports: torch, lipsync_core.params.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import torch

from lipsync_core.params import NUM_PARAMS, SIGNED_MASK, index_of

CLOSURE_PARAMS = ("mouth_close", "lip_press_left", "lip_press_right")
KINDS = ("bce", "l1", "mse")


@dataclass(frozen=True)
class LossConfig:
    kind: str = "bce"                  # position error: "bce" (on logits), "l1" or "mse";
                                       # velocities use "l1" for "bce" and "l1", "mse" for "mse"
    velocity_weight: float = 0.5       # weight of the first-difference (per frame) error
    closure_weight: float = 2.0        # weight of the lip-gap + sealing term (lip_gap_frames)
    closure_threshold: float = 0.5     # target mouth_close above this marks a closure frame
    param_weights: dict = field(default_factory=dict)   # name -> weight; unnamed ones weigh 1
    lip_gap_frames: str = "all"        # "all" or "closing": where the closure term applies

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Loss kind {self.kind!r} is not supported; use one of {', '.join(KINDS)}.")
        if self.lip_gap_frames not in ("all", "closing"):
            raise ValueError(f"lip_gap_frames {self.lip_gap_frames!r} is not supported; use 'all' "
                             "or 'closing'.")
        for name in self.param_weights:
            try:
                index_of(name)
            except KeyError as exc:      # a config mistake: ValueError reads as one sentence
                raise ValueError(f"loss.param_weights: {exc.args[0]}") from None

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
    return diff * diff if kind == "mse" else diff.abs()


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(..., 26) per-element cross-entropy of head logits against targets, minus the target's
    entropy (so it is 0 where the prediction is exact). Signed parameters are tanh(z) =
    2 sigmoid(2z) - 1, so they are scored as sigmoid(2z) against (target + 1) / 2."""
    signed = torch.tensor(SIGNED_MASK, dtype=torch.bool, device=logits.device)
    z = torch.where(signed, 2.0 * logits, logits)
    p = torch.where(signed, (target + 1.0) * 0.5, target).clamp(0.0, 1.0)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(z, p, reduction="none")
    entropy = -(torch.special.xlogy(p, p) + torch.special.xlogy(1.0 - p, 1.0 - p))
    return ce - entropy


def lip_gap(frames: torch.Tensor) -> torch.Tensor:
    """(..., T) jaw_open + mouth_open - mouth_close of (..., T, 26) curves."""
    return (frames[..., index_of("jaw_open")] + frames[..., index_of("mouth_open")]
            - frames[..., index_of("mouth_close")])


def lipsync_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                 cfg: LossConfig, logits: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts.

    pred, target: (B, T, 26); mask: (B, T) bool, True on real (unpadded) frames. A NaN target
    is unknown (dataset.forget_params): every term leaves that parameter out on that frame.
    logits: (B, T, 26) the head's pre-activation outputs (``head.logits``); required by "bce".
    Returns (scalar tensor, {"position", "velocity", "closure", "total"} as floats).
    Each term is a mean over the frames it applies to, so crop length and padding do not
    change its scale.
    """
    if pred.shape != target.shape or pred.shape[-1] != NUM_PARAMS:
        raise ValueError(f"Prediction {tuple(pred.shape)} and target {tuple(target.shape)} must "
                         f"both be (batch, frames, {NUM_PARAMS}).")
    w = cfg.weights().to(pred.device, pred.dtype)                 # (26,)
    m = mask.to(pred.dtype)                                         # (B, T)
    known = ~torch.isnan(target)                                    # (B, T, 26)
    k = known.to(pred.dtype)
    target = torch.where(known, target, torch.zeros_like(target))
    n_frames = m.sum().clamp_min(1.0)
    w_sum = w.sum()

    if cfg.kind == "bce":
        if logits is None:
            raise ValueError("The 'bce' loss needs the head's logits; pass logits=head.logits(x).")
        position = (cross_entropy(logits, target) * w * k).sum(-1)     # (B, T)
    else:
        position = (_err(pred - target, cfg.kind) * w * k).sum(-1)    # (B, T)
    position = (position * m).sum() / (n_frames * w_sum)

    vel_mask = m[:, 1:] * m[:, :-1]                                 # (B, T-1)
    dp = pred[:, 1:] - pred[:, :-1]
    dt = target[:, 1:] - target[:, :-1]
    velocity = (_err(dp - dt, cfg.kind) * w * k[:, 1:] * k[:, :-1]).sum(-1)
    velocity = (velocity * vel_mask).sum() / (vel_mask.sum().clamp_min(1.0) * w_sum)

    closing = (target[..., index_of("mouth_close")] > cfg.closure_threshold).to(pred.dtype) * m
    idx = [index_of(n) for n in CLOSURE_PARAMS]
    gap_known = k[..., [index_of(n) for n in ("jaw_open", "mouth_open", "mouth_close")]].prod(-1)
    gap_err = _err(lip_gap(pred) - lip_gap(target), cfg.kind) * gap_known   # (B, T)
    seal_err = (_err(pred[..., idx] - target[..., idx], cfg.kind) * k[..., idx]).mean(-1)
    if cfg.lip_gap_frames == "all":
        # Lip gap on every frame (so closing the lips on an open vowel costs as much as leaving
        # them open on a p), sealing parameters on closure frames; both averaged over all frames.
        closure = ((gap_err * m).sum() + (seal_err * closing).sum()) / n_frames
    else:
        closure = ((gap_err + seal_err) * closing).sum() / closing.sum().clamp_min(1.0)

    total = position + cfg.velocity_weight * velocity + cfg.closure_weight * closure
    parts = {"position": float(position.detach()), "velocity": float(velocity.detach()),
             "closure": float(closure.detach()), "total": float(total.detach())}
    return total, parts

