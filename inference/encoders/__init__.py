"""Speech encoders: audio at 16 kHz -> feature vectors at 50 Hz, through ``transformers``.

Public API (imported lazily so ``python -m inference fetch-encoder --help`` and spec handling do not
pay for torch)::

    EncoderSpec, EncoderError, EncodingCancelled        (inference.encoders.spec, no torch)
    load_encoder(spec, device="cpu", dtype=torch.float32) -> SpeechEncoder
    SpeechEncoder: .dim, .num_layers_out, .frame_rate, .spec, .encode(wave, progress, cancel),
                   .encode_many(waves, stream_s=60.0, gap_s=0.2, progress, cancel) (for training)
    pick_device("auto" | "cpu" | "cuda") -> (torch.device, torch.dtype, str)
"""
from __future__ import annotations

from typing import Any

from inference.encoders.spec import FRAME_RATE_HZ, EncoderError, EncoderSpec, EncodingCancelled

__all__ = ["EncoderSpec", "EncoderError", "EncodingCancelled", "FRAME_RATE_HZ",
           "SpeechEncoder", "load_encoder", "pick_device"]

_LAZY = {"SpeechEncoder": "inference.encoders.base", "load_encoder": "inference.encoders.loader",
         "pick_device": "inference.encoders.device"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'inference.encoders' has no attribute {name!r}")
