"""Checkpoints: a directory that describes itself, loaded strictly and never unpickled.

A checkpoint directory holds

- ``config.json``: {"format": "lipsync-checkpoint/1", "head": HeadConfig dict, "encoder":
  EncoderSpec dict, "params": [26 names], "schema_version": N, "sample_rate": 16000,
  "frame_rate": 50, "dtype": "float16" | "float32", "training": {summary}, "created": ISO time};
- ``model.safetensors``: the head's weights (safetensors only: no pickle anywhere).

Loading rebuilds the head from the config alone and refuses, with one sentence saying why, a
parameter list or schema version that differs from lipsync_core.params, a folder without
weights, and missing, unexpected or wrongly shaped tensors. Saving is atomic: the directory is
written under a temporary name beside the target and renamed into place.

Imports: torch, safetensors, inference.heads, lipsync_core.params (inference.encoders lazily).
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lipsync_core.params import (FRAME_RATE_HZ, PARAM_NAMES, SAMPLE_RATE,  # noqa: F401
                                 SCHEMA_VERSION, check_names)
from lipsync_runtime.errors import ModelError  # noqa: F401 (re-exported)

from .heads import HeadConfig, build_head

log = logging.getLogger(__name__)

FORMAT = "lipsync-checkpoint/1"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
DTYPES = {"float16": torch.float16, "float32": torch.float32}


@dataclass(frozen=True)
class LoadedCheckpoint:
    head: nn.Module                  # in eval mode, on the requested device and dtype
    head_cfg: HeadConfig
    encoder_spec: Any                # inference.encoders.EncoderSpec
    config: dict[str, Any]           # the whole config.json
    path: Path


def _encoder_dict(spec: Any) -> dict[str, Any]:
    return dict(spec) if isinstance(spec, dict) else dict(spec.to_dict())


def save_checkpoint(directory: str | os.PathLike, head: nn.Module, head_cfg: HeadConfig,
                    encoder_spec: Any, training: dict[str, Any] | None = None,
                    dtype: str = "float32") -> Path:
    """Write ``head`` and its description to ``directory`` atomically; returns the directory.

    ``encoder_spec`` is an EncoderSpec or its dict; ``dtype`` "float16" halves the file.
    """
    from safetensors.torch import save_file

    if dtype not in DTYPES:
        raise ValueError(f"Checkpoint dtype must be float16 or float32; got {dtype!r}.")
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    config = {
        "format": FORMAT,
        "head": head_cfg.to_dict(),
        "encoder": _encoder_dict(encoder_spec),
        "params": list(PARAM_NAMES),
        "schema_version": SCHEMA_VERSION,
        "sample_rate": SAMPLE_RATE,
        "frame_rate": FRAME_RATE_HZ,
        "dtype": dtype,
        "training": dict(training or {}),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    tensors = {name: t.detach().to("cpu", DTYPES[dtype]).contiguous()
               for name, t in head.state_dict().items()}
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        save_file(tensors, str(tmp / WEIGHTS_NAME), metadata={"format": FORMAT})
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
        old = None
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
            os.replace(directory, old / "previous")
        os.replace(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("saved checkpoint %s (%s, %d tensors)", directory, dtype, len(tensors))
    return directory


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """The validated config.json of a checkpoint directory (no weights are read)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"The model folder {str(directory)!r} does not exist; pass --model with "
                         "a checkpoint folder or run 'make encoder' and train or fetch a model.")
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise ModelError(f"{str(directory)!r} is not a lip-sync model folder: it has no "
                         f"{CONFIG_NAME}.")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"The model's {CONFIG_NAME} cannot be read ({exc}); the folder is "
                         "damaged, save or copy the checkpoint again.") from None
    if isinstance(config, dict) and str(config.get("format", "")).startswith("lipsync-runtime"):
        raise ModelError(f"{str(directory)!r} is a runtime model (ONNX), not a training "
                         "checkpoint; run it without --backend torch.")
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelError(f"{str(path)!r} is not a {FORMAT} config (format is "
                         f"{config.get('format') if isinstance(config, dict) else None!r}).")
    for key in ("head", "encoder", "params", "schema_version"):
        if key not in config:
            raise ModelError(f"The model's {CONFIG_NAME} has no {key!r} field; the checkpoint "
                             "is incomplete.")
    if config["schema_version"] != SCHEMA_VERSION:
        raise ModelError(f"This model was made for parameter schema version "
                         f"{config['schema_version']}, but this program uses version "
                         f"{SCHEMA_VERSION}; use a model trained for this version.")
    try:
        check_names(config["params"])
    except ValueError as exc:
        raise ModelError(f"This model's parameters do not match this program: {exc}") from None
    if int(config.get("sample_rate", SAMPLE_RATE)) != SAMPLE_RATE or \
            float(config.get("frame_rate", FRAME_RATE_HZ)) != FRAME_RATE_HZ:
        raise ModelError(f"This model expects {config.get('sample_rate')} Hz audio and "
                         f"{config.get('frame_rate')} Hz frames; this program runs "
                         f"{SAMPLE_RATE} Hz audio and {FRAME_RATE_HZ:g} Hz frames.")
    return config


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise ModelError(f"The model folder {str(path.parent)!r} has no weights "
                         f"({WEIGHTS_NAME} is missing); copy the whole checkpoint folder.")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"The model weights {str(path)!r} cannot be read ({exc}); the file "
                         "is damaged, copy the checkpoint again.") from None


def load_checkpoint(directory: str | os.PathLike, device: torch.device | str = "cpu",
                    dtype: torch.dtype = torch.float32) -> LoadedCheckpoint:
    """Rebuild the head of checkpoint ``directory`` strictly, in eval mode on ``device``.

    float16 is used only on CUDA: on the CPU the weights are loaded into float32 whatever the
    file holds.
    """
    from inference.encoders import EncoderSpec

    directory = Path(directory)
    config = read_config(directory)
    try:
        head_cfg = HeadConfig.from_dict(config["head"])
    except (TypeError, ValueError) as exc:
        raise ModelError(f"The model's head configuration is invalid: {exc}") from None
    try:
        encoder_spec = EncoderSpec.from_dict(config["encoder"])
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelError(f"The model's encoder description is invalid: {exc}") from None
    tensors = _read_weights(directory / WEIGHTS_NAME)
    head = build_head(head_cfg)
    expected = head.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        detail = "; ".join(filter(None, [
            f"missing {', '.join(missing[:5])}" if missing else "",
            f"unexpected {', '.join(unexpected[:5])}" if unexpected else ""]))
        raise ModelError(f"The model weights do not fit its configuration ({detail}); the "
                         "checkpoint is damaged or was written by another program.")
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ModelError(f"The model weight {name!r} has shape {tuple(tensor.shape)} but its "
                             f"configuration needs {tuple(expected[name].shape)}; the checkpoint "
                             "is damaged or its config.json was edited.")
    head.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    device = torch.device(device)
    if device.type == "cpu":
        dtype = torch.float32
    head = head.to(device=device, dtype=dtype).eval()
    for p in head.parameters():
        p.requires_grad_(False)
    return LoadedCheckpoint(head=head, head_cfg=head_cfg, encoder_spec=encoder_spec,
                            config=config, path=directory)


def check_head_fits(head_cfg: HeadConfig, encoder: Any) -> None:
    """ModelError unless the head takes what ``encoder`` (a SpeechEncoder) gives: its feature size
    and its number of hidden states."""
    if encoder.dim != head_cfg.in_dim:
        raise ModelError(f"The model's head takes {head_cfg.in_dim}-d features but its encoder "
                         f"gives {encoder.dim}-d ones; the checkpoint's config.json "
                         "names the wrong encoder.")
    layers_out = getattr(encoder, "num_layers_out", 1)
    if head_cfg.num_encoder_layers != layers_out:
        raise ModelError(f"The model's head mixes {head_cfg.num_encoder_layers} encoder layers "
                         f"but its encoder gives {layers_out}; the checkpoint is "
                         "inconsistent.")


def model_summary(config: dict[str, Any], path: str | os.PathLike | None = None) -> dict[str, Any]:
    """A short description of a checkpoint for curves files and the worker's hello."""
    head = config.get("head", {})
    encoder = config.get("encoder", {})
    summary = {"head": head.get("kind"), "encoder": encoder.get("source"),
               "encoder_kind": encoder.get("kind"), "layer": encoder.get("layer"),
               "schema_version": config.get("schema_version"), "dtype": config.get("dtype"),
               "created": config.get("created")}
    if path is not None:
        summary["path"] = str(path)
    training = config.get("training") or {}
    if "name" in training:
        summary["name"] = training["name"]
    return summary
