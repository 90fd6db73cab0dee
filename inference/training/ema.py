"""An exponential moving average (EMA) of a head's weights during training.

Owns ``WeightAverage``. Why: heads trained on a few hours of synthetic speech land in noticeably
different places from run to run and from one validation step to the next, and what differs is
exactly what a real voice exposes (a closure kept or dropped, rounding a little weaker). The
average of the weights over the last few hundred steps is a smoother solution than any single
step's; it is what is validated, kept as the best weights and saved when ``ema_decay`` > 0.

The decay is warmed up as min(decay, (1 + n) / (10 + n)) after n updates, so the first steps,
taken from random initial weights, are forgotten quickly. Floating-point tensors are averaged in
float32; integer buffers (none in the current heads) are copied.

Imports: torch.
"""
from __future__ import annotations

import torch


class WeightAverage:
    """EMA of ``model.state_dict()``; ``update`` after every optimiser step."""

    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema_decay must be between 0 and 1 (exclusive), not {decay}.")
        self.decay = float(decay)
        self.updates = 0
        self.weights = {k: t.detach().clone().float() if t.is_floating_point() else t.detach().clone()
                        for k, t in model.state_dict().items()}

    def current_decay(self) -> float:
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        d = self.current_decay()
        for k, t in model.state_dict().items():
            avg = self.weights[k]
            if avg.is_floating_point():
                avg.mul_(d).add_(t.detach().float(), alpha=1.0 - d)
            else:
                avg.copy_(t)
        self.updates += 1

    def copy_to(self, model: torch.nn.Module) -> None:
        """Load the averaged weights into ``model`` (cast to its dtypes)."""
        model.load_state_dict(self.weights, strict=True)

    def snapshot(self) -> dict[str, torch.Tensor]:
        return {k: t.clone() for k, t in self.weights.items()}

    def restore(self, weights: dict[str, torch.Tensor], updates: int) -> None:
        """Continue from a saved average (resume)."""
        if weights.keys() != self.weights.keys():
            raise ValueError("The saved weight average does not match this head; start a new run.")
        self.weights = {k: t.clone() for k, t in weights.items()}
        self.updates = int(updates)
