"""Read a CTranslate2 ``model.bin`` and turn its Whisper encoder into a transformers state dict.

Owns: the CTranslate2 binary reader (numpy only) and the name mapping from CTranslate2's
``WhisperSpec`` encoder variables to ``transformers``' ``WhisperEncoder`` parameters.
May import: numpy, the standard library (torch only inside ``whisper_encoder_state_dict``).

The file layout (little-endian), as CTranslate2 writes it (binary version 6)::

    u32 binary_version
    str spec_name                 # str = u16 length including a trailing NUL, bytes, NUL
    u32 spec_revision             # (binary version >= 2)
    u32 variable_count
    variable_count x:
        str name                  # e.g. "encoder/layer_0/ffn/linear_0/weight"
        u8  ndim, ndim x u32 dims
        u8  dtype id              # 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16
        u32 byte count, then the raw row-major data
    u32 alias_count, alias_count x (str alias, str target)   # (binary version >= 3)
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable

import numpy as np

if TYPE_CHECKING:
    import torch

# Order matches CTranslate2's DataType enum.
_DTYPES: tuple[str, ...] = ("float32", "int8", "int16", "int32", "float16", "bfloat16")


class CT2FormatError(ValueError):
    """The file is not a CTranslate2 model this reader understands."""


@dataclass
class CT2Model:
    """Variables of a CTranslate2 model file, by name (aliases resolved to the same array)."""

    binary_version: int
    spec_name: str
    spec_revision: int
    variables: dict[str, np.ndarray] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


def _bfloat16_to_float32(raw: bytes, shape: tuple[int, ...]) -> np.ndarray:
    halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
    return halves.view(np.float32).reshape(shape)


def read_ct2(path: str | Path, keep: Callable[[str], bool] | None = None) -> CT2Model:
    """Read a CTranslate2 ``model.bin``.

    Parameters
    ----------
    path : the ``model.bin`` file.
    keep : optional predicate on variable names; variables it rejects are skipped (not read), which
        saves memory when only the encoder is wanted.
    """
    with open(path, "rb") as handle:
        return _read(handle, keep)


def _read(f: BinaryIO, keep: Callable[[str], bool] | None) -> CT2Model:
    def take(n: int) -> bytes:
        data = f.read(n)
        if len(data) != n:
            raise CT2FormatError("The CTranslate2 model file ends early; it is truncated or corrupt.")
        return data

    def u8() -> int:
        return take(1)[0]

    def u16() -> int:
        return int(struct.unpack("<H", take(2))[0])

    def u32() -> int:
        return int(struct.unpack("<I", take(4))[0])

    def text() -> str:
        raw = take(u16())
        if not raw or raw[-1] != 0:
            raise CT2FormatError("A name in the CTranslate2 model file is not NUL-terminated.")
        return raw[:-1].decode("utf-8")

    version = u32()
    if not 1 <= version <= 6:
        raise CT2FormatError(f"Unsupported CTranslate2 binary version {version} (this reader knows 1-6).")
    spec_name = text() if version >= 2 else ""
    revision = u32() if version >= 2 else 1
    model = CT2Model(version, spec_name, revision)
    for _ in range(u32()):
        name = text()
        shape = tuple(u32() for _ in range(u8()))
        type_id = u8()
        if type_id >= len(_DTYPES):
            raise CT2FormatError(f"Variable {name!r} has an unknown dtype id {type_id}.")
        nbytes = u32()
        if keep is not None and not keep(name):
            f.seek(nbytes, 1)
            continue
        raw = take(nbytes)
        dtype = _DTYPES[type_id]
        expected = int(np.prod(shape, dtype=np.int64)) * (4 if dtype in ("float32", "int32") else
                                                          1 if dtype == "int8" else 2)
        if expected != nbytes:
            raise CT2FormatError(f"Variable {name!r} holds {nbytes} bytes but its shape needs {expected}.")
        if dtype == "bfloat16":
            array = _bfloat16_to_float32(raw, shape)
        else:
            array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
        model.variables[name] = array
    if version >= 3:
        for _ in range(u32()):
            alias, target = text(), text()
            model.aliases[alias] = target
            if target in model.variables and (keep is None or keep(alias)):
                model.variables[alias] = model.variables[target]
    return model


def whisper_encoder_state_dict(model: CT2Model) -> dict[str, "torch.Tensor"]:
    """Map a CTranslate2 ``WhisperSpec``'s encoder variables to ``WhisperEncoder`` names (float32).

    CTranslate2 fuses q, k and v into ``self_attention/linear_0`` (rows q | k | v); Whisper's k
    projection has no bias, so the k third of the fused bias is dropped (it is stored as zeros).
    Int8/int16 quantised models are refused: their scales would have to be applied.
    """
    import torch

    if not model.spec_name.startswith("Whisper"):
        raise CT2FormatError(f"The CTranslate2 model is a {model.spec_name!r}, not a Whisper model.")
    var = model.variables

    def get(name: str) -> torch.Tensor:
        full = "encoder/" + name
        if full not in var:
            raise CT2FormatError(f"The CTranslate2 Whisper model lacks {full!r}.")
        array = var[full]
        if array.dtype.kind != "f":
            raise CT2FormatError(f"{full!r} is quantised ({array.dtype}); use a float16/float32 model.")
        return torch.from_numpy(np.array(array, dtype=np.float32))

    out: dict[str, torch.Tensor] = {
        "conv1.weight": get("conv1/weight"),
        "conv1.bias": get("conv1/bias"),
        "conv2.weight": get("conv2/weight"),
        "conv2.bias": get("conv2/bias"),
        "embed_positions.weight": get("position_encodings/encodings"),
        "layer_norm.weight": get("layer_norm/gamma"),
        "layer_norm.bias": get("layer_norm/beta"),
    }
    layer = 0
    while f"encoder/layer_{layer}/ffn/linear_0/weight" in var:
        src, dst = f"layer_{layer}/", f"layers.{layer}."
        qkv_w = get(src + "self_attention/linear_0/weight")  # (3 * d_model, d_model)
        qkv_b = get(src + "self_attention/linear_0/bias")  # (3 * d_model,)
        q_w, k_w, v_w = qkv_w.chunk(3, dim=0)
        q_b, _k_b, v_b = qkv_b.chunk(3, dim=0)
        out.update({
            dst + "self_attn.q_proj.weight": q_w.clone(),
            dst + "self_attn.q_proj.bias": q_b.clone(),
            dst + "self_attn.k_proj.weight": k_w.clone(),
            dst + "self_attn.v_proj.weight": v_w.clone(),
            dst + "self_attn.v_proj.bias": v_b.clone(),
            dst + "self_attn.out_proj.weight": get(src + "self_attention/linear_1/weight"),
            dst + "self_attn.out_proj.bias": get(src + "self_attention/linear_1/bias"),
            dst + "self_attn_layer_norm.weight": get(src + "self_attention/layer_norm/gamma"),
            dst + "self_attn_layer_norm.bias": get(src + "self_attention/layer_norm/beta"),
            dst + "fc1.weight": get(src + "ffn/linear_0/weight"),
            dst + "fc1.bias": get(src + "ffn/linear_0/bias"),
            dst + "fc2.weight": get(src + "ffn/linear_1/weight"),
            dst + "fc2.bias": get(src + "ffn/linear_1/bias"),
            dst + "final_layer_norm.weight": get(src + "ffn/layer_norm/gamma"),
            dst + "final_layer_norm.bias": get(src + "ffn/layer_norm/beta"),
        })
        layer += 1
    if layer == 0:
        raise CT2FormatError("The CTranslate2 Whisper model has no encoder layers.")
    return out


def whisper_encoder_dims(model: CT2Model) -> dict[str, int]:
    """WhisperConfig encoder sizes implied by the CTranslate2 variables."""
    var = model.variables
    conv1 = var["encoder/conv1/weight"]  # (d_model, n_mels, 3)
    layers = 0
    while f"encoder/layer_{layers}/ffn/linear_0/weight" in var:
        layers += 1
    heads = var.get("encoder/num_heads")
    d_model = int(conv1.shape[0])
    return {
        "d_model": d_model,
        "num_mel_bins": int(conv1.shape[1]),
        "encoder_layers": layers,
        "encoder_ffn_dim": int(var["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "encoder_attention_heads": int(heads) if heads is not None else max(1, d_model // 64),
        "max_source_positions": int(var["encoder/position_encodings/encodings"].shape[0]),
    }
