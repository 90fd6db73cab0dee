"""Attention that exports as ONNX Runtime's fused ``com.microsoft.MultiHeadAttention``.

Owns :func:`attention`, the one call the heads (inference/heads.py) and the Whisper window
(inference/encoders/whisper.py) make for multi-head attention, and ``DOMAIN`` (the custom opset
``inference.export`` declares).

In eager torch (training, the torch engine) it is plain scaled dot-product attention, computed
``groups`` heads at a time when asked (a 30 s Whisper window's weights, 8 x 1500 x 1500 float32,
never all exist at once). While ``torch.onnx.export`` traces, it becomes one MultiHeadAttention
node. ONNX Runtime's CPU kernel for it reads the keys in blocks with a running softmax instead of
writing the (heads, T, S) weights out and reading them back; on this 2-core CPU a 30 s Whisper
layer's attention takes 21-22 ms instead of 26-27 ms, and a batch of four 14 s head windows 25 ms
instead of 32 ms (docs/inference.md). Every execution provider the extension ships has the op
(CPU, CUDA, DirectML; CoreML hands it to the CPU).

Layout: q (B, T, D), k (B, S, D) and v (B, S, Dv) with D = heads x head width (Dv the same, or
another width when the queries and keys carry extra dimensions, inference/heads.py gauss_qk),
heads side by side as transformers and our heads store them; bias None or (1 or B, heads, T, S),
added to the scores. ``scale`` multiplies the scores (None: 1 / sqrt(D / heads)). Returns
(B, T, Dv).

May import: torch. Used only by training and export code; nothing that ships imports it.
"""
from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

DOMAIN = "com.microsoft"          # ONNX Runtime's contrib operators, opset version 1


def _split(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, T, D) -> (B, heads, T, D / heads)."""
    B, T, D = x.shape
    return x.reshape(B, T, heads, D // heads).transpose(1, 2)


def _eager(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
           bias: torch.Tensor | None, scale: float | None, groups: int,
           dropout: float) -> torch.Tensor:
    B, T = q.shape[:2]
    D = v.shape[-1]                                   # the output is as wide as the values
    qh, kh, vh = _split(q, heads), _split(k, heads), _split(v, heads)
    size = -(-heads // max(1, int(groups)))
    parts = []
    for a in range(0, heads, size):
        g = slice(a, min(a + size, heads))
        b = None if bias is None else bias[:, g] if bias.shape[1] > 1 else bias
        parts.append(F.scaled_dot_product_attention(qh[:, g], kh[:, g], vh[:, g], attn_mask=b,
                                                    dropout_p=dropout, scale=scale))
    return torch.cat(parts, dim=1).transpose(1, 2).reshape(B, T, D)


class _MultiHeadAttention(torch.autograd.Function):
    """Traced as one com.microsoft.MultiHeadAttention node; never differentiated (export only)."""

    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
                bias: torch.Tensor | None, scale: float | None) -> torch.Tensor:
        return _eager(q, k, v, heads, bias, scale, 1, 0.0)

    @staticmethod
    def symbolic(g: Any, q: Any, k: Any, v: Any, heads: int, bias: Any,
                 scale: float | None) -> Any:
        none = g.op("prim::Constant")                 # an omitted optional input, as
        none.setType(torch._C.OptionalType.ofTensor())  # torch's own symbolics write one
        inputs = [q, k, v] + ([none, none, bias] if bias is not None else [])
        attrs: dict[str, Any] = {"num_heads_i": int(heads)}
        if scale is not None:
            attrs["scale_f"] = float(scale)
        out = g.op(f"{DOMAIN}::MultiHeadAttention", *inputs, **attrs)
        out.setType(v.type())                          # (B, T, value width)
        return out


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
              bias: torch.Tensor | None = None, scale: float | None = None, groups: int = 1,
              dropout: float = 0.0) -> torch.Tensor:
    """Multi-head attention over (B, T, D) queries and (B, S, D) keys and values -> (B, T, D).

    ``groups``: in eager torch, compute the heads in this many groups (same numbers, less memory);
    ``dropout``: on the weights, while training. Under ``torch.onnx.export``: one fused node.
    """
    if torch.onnx.is_in_onnx_export():
        return _MultiHeadAttention.apply(q, k, v, int(heads), bias, scale)
    return _eager(q, k, v, heads, bias, scale, groups, dropout)
