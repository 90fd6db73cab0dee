"""Choose the torch device and dtype the encoder and head run on.

Owns: ``pick_device``. May import: torch.
"""
from __future__ import annotations

import torch

from inference.encoders.spec import EncoderError


def pick_device(choice: str = "auto") -> tuple[torch.device, torch.dtype, str]:
    """Return ``(device, dtype, description)`` for "auto" | "cpu" | "cuda" (or "cuda:N").

    "auto" takes the first CUDA device in float16 when one is usable, else the CPU in float32, and
    never fails for lack of a GPU. "cuda" without a usable GPU raises EncoderError.
    """
    choice = (choice or "auto").strip().lower()
    if choice == "cpu":
        return torch.device("cpu"), torch.float32, "cpu"
    if choice == "auto":
        if torch.cuda.is_available():
            return _cuda(torch.device("cuda:0"))
        return torch.device("cpu"), torch.float32, "cpu"
    if choice == "cuda" or choice.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise EncoderError("No CUDA GPU is available to this torch build; use --device cpu or auto.")
        device = torch.device("cuda:0" if choice == "cuda" else choice)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise EncoderError(f"There is no GPU {device}; this machine has {torch.cuda.device_count()}.")
        return _cuda(device)
    raise EncoderError(f"Unknown device {choice!r}; use auto, cpu or cuda.")


def _cuda(device: torch.device) -> tuple[torch.device, torch.dtype, str]:
    name = torch.cuda.get_device_name(device)
    return device, torch.float16, f"{device} ({name})"
