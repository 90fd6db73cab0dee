"""Head networks: speech-encoder features at 50 Hz -> the 26 mouth parameters, and how to run
them fast on long clips.

Owns :class:`HeadConfig` (sizes; the defaults are the seed's numbers), the two heads
(``bilstm``, the seed's network, and ``transformer``, encoder-only with a symmetric distance bias
so it holds on sequences longer than those it was trained on: ALiBi's -m |i - j|, or a squared
distance -m^2 (i - j)^2 that exports without a bias input), ``build_head`` and
``run_head_chunked`` (batched overlapping windows stitched without seams).

Output contract of every head: ``forward(x, mask=None)`` with x (B, T, D) or (B, L, T, D) encoder
features and mask (B, T) bool (True = a real frame) -> (B, T, 26): sigmoid on the schema's
unsigned parameters and tanh on the signed ones (lipsync_core.params.SIGNED_MASK).

Imports: torch, lipsync_core.params.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lipsync_core.params import NUM_PARAMS, SIGNED_MASK
from lipsync_runtime.errors import Cancelled  # noqa: F401 (re-exported)
from lipsync_runtime.windows import chunk_windows

from .fused_attention import attention

HEAD_KINDS = ("bilstm", "transformer")
# transformer attention bias by frame distance d, per head slope m (alibi_slopes):
# "alibi" -m |d|; "gauss" -m^2 d^2 (the same reach, 1 / m frames to a bias of -1)
HEAD_POSITIONS = ("alibi", "gauss")


@dataclass(frozen=True)
class HeadConfig:
    kind: str = "bilstm"                   # "bilstm" (the seed's) or "transformer"
    in_dim: int = 768                      # encoder feature size (768 wav2vec2-base, 512 whisper-base)
    num_encoder_layers: int = 1            # 1, or L: a learned softmax-weighted sum of L layers
    proj_dims: tuple[int, ...] = (512, 384)  # input projection: Linear+LayerNorm+ReLU+Dropout each
    dropout: float = 0.1                   # dropout after every projection / output stage
    lstm_hidden: int = 512                 # bilstm: hidden units per direction (1024 out)
    lstm_layers: int = 3                   # bilstm: stacked bidirectional LSTM layers
    lstm_forget_bias: float = 0.0          # bilstm: initial forget-gate bias (0: PyTorch's init)
    lstm_norm: bool = False                # bilstm: LayerNorm on the LSTM's output (1024-d)
    out_dims: tuple[int, ...] = (256, 128)  # output MLP before the final Linear to 26
    d_model: int = 384                     # transformer: width (the last proj_dim is mapped to it)
    n_heads: int = 8                       # transformer: attention heads (the seed's 8)
    n_layers: int = 4                      # transformer: encoder layers
    ff_dim: int = 1536                     # transformer: feed-forward width (4 x d_model)
    conv_kernel: int = 0                   # transformer: odd depthwise-convolution width in frames
                                           # in every layer (Conformer-style); 0 = none
    input_dropout: float = 0.0             # dropout on the encoder features themselves (training)
    position: str = "alibi"                # transformer: attention distance bias (HEAD_POSITIONS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "proj_dims", tuple(int(d) for d in self.proj_dims))
        object.__setattr__(self, "out_dims", tuple(int(d) for d in self.out_dims))
        if self.kind not in HEAD_KINDS:
            raise ValueError(f"Unknown head kind {self.kind!r}; use one of {', '.join(HEAD_KINDS)}.")
        if self.in_dim < 1 or self.num_encoder_layers < 1:
            raise ValueError("A head needs in_dim >= 1 and num_encoder_layers >= 1.")
        if self.conv_kernel < 0 or (self.conv_kernel and self.conv_kernel % 2 == 0):
            raise ValueError(f"conv_kernel must be 0 or an odd number of frames; got {self.conv_kernel}.")
        if self.position not in HEAD_POSITIONS:
            raise ValueError(f"Unknown position {self.position!r}; use one of "
                             f"{', '.join(HEAD_POSITIONS)}.")
        if self.kind == "transformer" and self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} must be a multiple of n_heads {self.n_heads}.")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["proj_dims"] = list(self.proj_dims)
        data["out_dims"] = list(self.out_dims)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "HeadConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"The head configuration has unknown fields: {', '.join(unknown)}.")
        return cls(**data)


def _mlp(dims: list[int], dropout: float, norm: bool) -> nn.Sequential:
    """Linear (+LayerNorm) + ReLU + Dropout for each consecutive pair of ``dims``."""
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers.append(nn.Linear(a, b))
        if norm:
            layers.append(nn.LayerNorm(b))
        layers += [nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


class _Head(nn.Module):
    """What both heads share: the layer mix, the input projection and the output contract."""

    signed: torch.Tensor          # (26,) bool buffer: tanh where True, sigmoid elsewhere

    def __init__(self, cfg: HeadConfig, body_in: int, body_out: int) -> None:
        super().__init__()
        self.cfg = cfg
        # (L,) logits of the softmax weights over encoder layers; unused when L == 1
        self.layer_logits = nn.Parameter(torch.zeros(cfg.num_encoder_layers))
        self.proj = _mlp([cfg.in_dim, *cfg.proj_dims], cfg.dropout, norm=True)
        self.input_drop = nn.Dropout(cfg.input_dropout) if cfg.input_dropout else nn.Identity()
        self.body_in = body_in
        self.out = nn.Sequential(_mlp([body_out, *cfg.out_dims], cfg.dropout, norm=False),
                                 nn.Linear(cfg.out_dims[-1] if cfg.out_dims else body_out,
                                           NUM_PARAMS))
        self.register_buffer("signed", torch.tensor(SIGNED_MASK, dtype=torch.bool),
                             persistent=False)

    def mix_layers(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, T, D) or (B, T, D) -> (B, T, D)."""
        L = self.cfg.num_encoder_layers
        if x.dim() == 3:
            if L != 1:
                raise ValueError(f"This head mixes {L} encoder layers; give it (B, {L}, T, D).")
            return x
        if x.dim() != 4 or x.shape[1] != L:
            raise ValueError(f"Expected features (B, {L}, T, D) or (B, T, D); got {tuple(x.shape)}.")
        if L == 1:
            return x[:, 0]
        weights = torch.softmax(self.layer_logits, dim=0).to(x.dtype)
        return torch.einsum("l,bltd->btd", weights, x)

    def body(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def logits(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, 26) pre-activation outputs; training's cross-entropy loss works on these."""
        h = self.mix_layers(x)
        if h.shape[-1] != self.cfg.in_dim:
            raise ValueError(f"This head takes {self.cfg.in_dim}-d features; got {h.shape[-1]}-d.")
        if mask is not None and bool(mask.all()):
            mask = None                                         # no padding: the fast path
        return self.out(self.body(self.proj(self.input_drop(h)), mask))

    def activate(self, z: torch.Tensor) -> torch.Tensor:
        """Logits -> parameter values: tanh on signed parameters, sigmoid on the others."""
        return torch.where(self.signed, torch.tanh(z), torch.sigmoid(z))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.activate(self.logits(x, mask))


class BiLSTMHead(_Head):
    """The seed: proj in->512->384, 3-layer bidirectional LSTM (512/direction), 1024->256->128->26."""

    def __init__(self, cfg: HeadConfig) -> None:
        body_in = cfg.proj_dims[-1] if cfg.proj_dims else cfg.in_dim
        super().__init__(cfg, body_in, 2 * cfg.lstm_hidden)
        self.lstm = nn.LSTM(body_in, cfg.lstm_hidden, num_layers=cfg.lstm_layers,
                            batch_first=True, bidirectional=True,
                            dropout=cfg.dropout if cfg.lstm_layers > 1 else 0.0)
        if cfg.lstm_forget_bias:              # gates are (input, forget, cell, output) blocks
            hidden = cfg.lstm_hidden
            with torch.no_grad():
                for name, value in self.lstm.named_parameters():
                    if name.startswith("bias_ih"):
                        value[hidden:2 * hidden] = cfg.lstm_forget_bias
                    elif name.startswith("bias_hh"):
                        value[hidden:2 * hidden] = 0.0
        # The seed feeds the LSTM's output straight to the output MLP; the transformer head
        # normalises its body's output, and lstm_norm does the same here.
        self.norm = nn.LayerNorm(2 * cfg.lstm_hidden) if cfg.lstm_norm else nn.Identity()

    def body(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if mask is None:
            return self.norm(self.lstm(h)[0])
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        return self.norm(pad_packed_sequence(out, batch_first=True, total_length=h.shape[1])[0])


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """(H,) geometric slopes 2^(-8 h / H), h = 1..H (one distance scale per head)."""
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / n_heads) for h in range(n_heads)])


class _ConvModule(nn.Module):
    """Conformer-style local filter: LayerNorm, pointwise Linear to 2 d + GLU, a depthwise
    convolution over ``kernel`` frames (zero-padded, so the length is kept), LayerNorm, SiLU,
    pointwise Linear. (B, T, d) -> (B, T, d), added to the residual stream by the caller."""

    def __init__(self, d: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.pw1 = nn.Linear(d, 2 * d)
        self.depthwise = nn.Conv1d(d, d, kernel, padding=kernel // 2, groups=d)
        self.norm2 = nn.LayerNorm(d)
        self.pw2 = nn.Linear(d, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = F.glu(self.pw1(self.norm(h)), dim=-1)                       # (B, T, d)
        if mask is not None:                                            # padding stays silent
            x = x.masked_fill(~mask[..., None], 0.0)
        x = self.depthwise(x.transpose(1, 2)).transpose(1, 2)
        return self.drop(self.pw2(F.silu(self.norm2(x))))


def gauss_qk(q: torch.Tensor, k: torch.Tensor, heads: int, curvature: torch.Tensor,
             scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The squared-distance bias as two more dimensions per head, so attention needs no bias.

    q, k (B, T, C), heads side by side; ``curvature`` (heads,) = a, the bias being
    -a (i - j)^2 on top of ``scale`` q_i . k_j. Returns (B, T, heads x (C / heads + 2)) each, to
    be attended with scale 1: q_i' . k_j' = scale q_i . k_j + 2a i j - a j^2, which differs from
    the biased score only by -a i^2, the same for every key of a query, so the softmax is the same.
    Positions are centred on the window (i - (T - 1) / 2) to keep the products small in float32.
    """
    B, T, C = q.shape
    dh = C // heads
    pos = torch.arange(T, device=q.device, dtype=q.dtype) - (T - 1) / 2.0     # (T,) frames
    a = curvature.to(q.dtype)[None, :]                                        # (1, H)
    ones = torch.ones(T, heads, device=q.device, dtype=q.dtype)               # (T, H)
    q_extra = torch.stack([2.0 * a * pos[:, None], ones], dim=-1)             # (T, H, 2)
    k_extra = torch.stack([pos[:, None] * ones, -a * (pos * pos)[:, None]], dim=-1)
    qa = torch.cat([q.reshape(B, T, heads, dh) * scale, q_extra.expand(B, T, heads, 2)], dim=-1)
    ka = torch.cat([k.reshape(B, T, heads, dh), k_extra.expand(B, T, heads, 2)], dim=-1)
    return qa.reshape(B, T, heads * (dh + 2)), ka.reshape(B, T, heads * (dh + 2))


class _AttentionLayer(nn.Module):
    """Pre-norm self-attention (+ an optional convolution module) + feed-forward, attention
    biased by distance (TransformerHead.body gives the bias, or the squared distance's curvature
    for :func:`gauss_qk`)."""

    def __init__(self, cfg: HeadConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.norm1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.norm2 = nn.LayerNorm(cfg.d_model)
        self.ff = nn.Sequential(nn.Linear(cfg.d_model, cfg.ff_dim), nn.GELU(),
                                nn.Dropout(cfg.dropout), nn.Linear(cfg.ff_dim, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)
        self.conv = _ConvModule(cfg.d_model, cfg.conv_kernel, cfg.dropout) if cfg.conv_kernel else None

    def forward(self, h: torch.Tensor, bias: torch.Tensor | None,
                mask: torch.Tensor | None = None,
                curvature: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = self.qkv(self.norm1(h)).chunk(3, dim=-1)   # each (B, T, C), heads side by side
        p = self.drop.p if self.training else 0.0
        if curvature is not None:                            # squared distance, no bias input
            q, k = gauss_qk(q, k, self.n_heads, curvature, (q.shape[-1] // self.n_heads) ** -0.5)
            a = attention(q, k, v, self.n_heads, scale=1.0, dropout=p)
        else:
            a = attention(q, k, v, self.n_heads, bias=bias, dropout=p)   # (B, T, C)
        h = h + self.drop(self.proj(a))
        if self.conv is not None:
            h = h + self.conv(h, mask)
        return h + self.drop(self.ff(self.norm2(h)))


class TransformerHead(_Head):
    """Encoder-only Transformer with a symmetric distance bias (no position embeddings): ALiBi's
    -m |i - j| or, with ``position`` "gauss", -m^2 (i - j)^2 per head."""

    slopes: torch.Tensor          # (H,) buffer: bias per frame of distance, per head

    def __init__(self, cfg: HeadConfig) -> None:
        body_in = cfg.proj_dims[-1] if cfg.proj_dims else cfg.in_dim
        super().__init__(cfg, body_in, cfg.d_model)
        self.to_model = nn.Identity() if body_in == cfg.d_model else nn.Linear(body_in, cfg.d_model)
        self.layers = nn.ModuleList(_AttentionLayer(cfg) for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(cfg.d_model)
        self.register_buffer("slopes", alibi_slopes(cfg.n_heads), persistent=False)

    def body(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        h = self.to_model(h)
        gauss = self.cfg.position == "gauss"
        if gauss and mask is None and torch.onnx.is_in_onnx_export():
            # exported: the bias as extra query/key dimensions, so ONNX Runtime runs its fused
            # attention without a bias input (its attention 3x faster on the CPU, the head about
            # 20 % faster; docs/inference.md)
            curvature = self.slopes.to(h.dtype) ** 2
            for layer in self.layers:
                h = layer(h, None, None, curvature)
            return self.norm(h)
        T = h.shape[1]
        pos = torch.arange(T, device=h.device, dtype=h.dtype)
        distance = (pos[None, :] - pos[:, None]).abs()                 # (T, T) frames
        slopes = self.slopes.to(h.dtype)[:, None, None]
        bias = -(slopes * slopes) * distance * distance if gauss else -slopes * distance
        bias = bias.unsqueeze(0)                                       # (1, H, T, T)
        if mask is not None:                                           # padded keys: never
            bias = bias.masked_fill(~mask[:, None, None, :], float("-inf"))
        for layer in self.layers:
            h = layer(h, bias, mask)
        return self.norm(h)


def build_head(cfg: HeadConfig) -> nn.Module:
    """A freshly initialised head for ``cfg``."""
    return BiLSTMHead(cfg) if cfg.kind == "bilstm" else TransformerHead(cfg)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def quantize_for_cpu(head: nn.Module) -> nn.Module:
    """A copy of ``head`` with int8 dynamic quantisation of its LSTM and Linear layers.

    Weights are stored in int8 and activations quantised on the fly (fbgemm): on the CPU the seed
    BiLSTM runs about twice as fast and its outputs move by well under 0.01 (see the benchmark).
    Returns ``head`` itself when this torch build cannot quantise.
    """
    try:
        from torch.ao.quantization import quantize_dynamic
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                 # deprecation notices of torch.ao
            return quantize_dynamic(head.float().eval(), {nn.LSTM, nn.Linear}, dtype=torch.qint8)
    except (ImportError, RuntimeError, AttributeError) as exc:   # pragma: no cover - old builds
        import logging
        logging.getLogger(__name__).warning("int8 quantisation unavailable (%s); using float32",
                                            exc)
        return head


def _dtype_device(head: nn.Module) -> tuple[torch.dtype, torch.device]:
    """Input dtype and device of a head (a quantised head takes float32 on the CPU)."""
    for p in head.parameters():
        if p.is_floating_point():
            return p.dtype, p.device
    return torch.float32, torch.device("cpu")


def run_head_chunked(head: nn.Module, feats: torch.Tensor, core: int = 500, context: int = 100,
                     batch_size: int = 8, progress: Callable[[float], None] | None = None,
                     cancel: Callable[[], bool] | None = None, workers: int = 1) -> torch.Tensor:
    """Run ``head`` (eval mode) on (T, D) or (L, T, D) features -> (T, 26) float32 on the CPU.

    Long clips are cut into cores of ``core`` frames (10 s at 50 Hz), each read with ``context``
    frames (2 s) either side; up to ``batch_size`` windows run as one batch and only each core is
    kept, so the result matches one pass over the whole clip within a small tolerance.

    ``workers`` > 1 (CPU only): the windows are shared among that many threads, each running
    torch with one intra-op thread. An LSTM step is too small to split across cores (each step
    would synchronise them), but whole windows in parallel keep every core busy.
    """
    T = feats.shape[-2]
    out = torch.empty((T, NUM_PARAMS), dtype=torch.float32)
    windows = chunk_windows(T, core, context)
    dtype, device = _dtype_device(head)
    workers = max(1, min(int(workers), len(windows))) if device.type == "cpu" else 1
    lock = threading.Lock()
    done = [0]

    def run(share: list[tuple[int, int, int, int]]) -> None:
        with torch.inference_mode():
            for b in range(0, len(share), batch_size):
                if cancel is not None and cancel():
                    raise Cancelled()
                group = share[b:b + batch_size]
                x = torch.stack([feats[..., ws:we, :] for ws, we, _, _ in group])
                y = head(x.to(device=device, dtype=dtype)).float().cpu()    # (b, W, 26)
                for row, (ws, _, cs, ce) in zip(y, group):
                    out[cs:ce] = row[cs - ws:ce - ws]
                with lock:
                    done[0] += len(group)
                    if progress is not None:
                        progress(min(1.0, done[0] / len(windows)))

    if workers == 1:
        run(windows)
        return out
    per = -(-len(windows) // workers)
    shares = [windows[i:i + per] for i in range(0, len(windows), per)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=len(shares), thread_name_prefix="head") as pool:
            for future in [pool.submit(run, share) for share in shares]:
                future.result()
    finally:
        torch.set_num_threads(threads)
    return out
