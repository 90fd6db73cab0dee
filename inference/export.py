"""``python -m inference export``: a checkpoint -> a runtime model folder for ONNX Runtime.

Owns the conversion of a trained head and its speech encoder (Whisper, or wav2vec2 / HuBERT /
WavLM) into what ships: ``encoder.onnx``, ``head.onnx``, the front end's data and a
``config.json`` that describes them (lipsync_runtime/model.py reads it). Nothing else in the
project writes ONNX.

- The encoder is exported for one window of any length (a dynamic time axis), so the runtime can
  cut a short clip's window to the clip instead of paying for Whisper's full 30 s. For Whisper the
  wrapper below runs the same layers as ``WhisperEncoder.forward`` with the positional table
  sliced to the window, which transformers' own forward refuses to do for lengths other than 30 s.
- wav2vec2-style "group" feature extractors normalise their first convolution per clip (see
  inference/encoders/ssl.py); the exported encoder takes that clip's mean and variance as inputs,
  and a small ``encoder_stats.onnx`` gives the runtime the sums to compute them.
- Weights are stored in float16 (the published Whisper base weights and our heads are float16
  already, so nothing is lost) with a Cast to float32 in the graph, which ONNX Runtime folds when it
  loads the model: half the file size, float32 arithmetic.
- ``--int8-encoder`` (and ``--int8-head``) quantises the matrix products to int8 (ONNX
  Runtime's dynamic quantisation: int8 weights per output channel, activations quantised per
  run): about twice as fast on this CPU (AVX-512 VNNI), and 22.6 MB instead of 41 MB for Whisper
  base's encoder. Not the default: the curves move by up to about 0.8 on single frames, past the
  0.02 the runtime keeps to the torch engine (docs/inference.md). A head meant for it is
  trained on features from the same int8 encoder (``python -m inference train`` with
  ``features_runtime``); the config records ``"quantization": "int8"`` and the encoder file's
  checksum pins it.
- Attention in both graphs is ONNX Runtime's fused ``com.microsoft.MultiHeadAttention``
  (inference/fused_attention.py): no (heads, T, S) weights written out, 40-130 MB off a 60 s
  line's peak.
- The folder is written under a temporary name beside the target and renamed into place.

May import: torch, transformers (through inference.encoders), onnx, onnxruntime (to check the
export), inference.*, lipsync_core, lipsync_runtime.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from lipsync_core.params import FRAME_RATE_HZ, PARAM_NAMES, SAMPLE_RATE, SCHEMA_VERSION
from lipsync_runtime.model import (CONFIG_NAME, ENCODER_FILE, HEAD_FILE, MEL_FILTERS_FILE,
                                   RUNTIME_FORMAT, STATS_FILE, file_entry)

from .fused_attention import DOMAIN
from .commands.common import (EXIT_OK, EXIT_USAGE, OneLineParser, UsageError, fail, one_line,
                              setup_logging)

PROG = "python -m inference export"
OPSET = 17
MIN_FP16_ELEMENTS = 1024          # smaller initializers (biases, norms) stay float32
# Head windows at 50 Hz: a 10 s core read with 2 s of context either side. Attention memory grows
# with the window squared: 500-frame cores keep 60 s of speech at a 505 MB peak (1500-frame cores:
# 715 MB); lines under 14 s are one window either way.
HEAD_CHUNK_FRAMES = 500
HEAD_CONTEXT_FRAMES = 100
log = logging.getLogger(__name__)


# -- encoder wrappers (torch modules traced by the exporter) ----------------------------------
def _layer_stack(states: list[Any], layer: int | str, mix: Any | None = None) -> Any:
    """The spec's layer from the L + 1 hidden states (the last one the normalised output):
    (1, T, D); for "all", (1, L + 1, T, D) stacked, or with ``mix`` ((L + 1,) weights summing to
    1, the head's softmax) their weighted sum, (1, T, D)."""
    import torch

    if layer == "all":
        if mix is not None:
            return torch.einsum("l,bltd->btd", mix, torch.stack(states, dim=1))
        return torch.stack(states, dim=1)
    return states[int(layer)]


def whisper_window_module(encoder: Any, layer: int | str, mix: Any | None = None) -> Any:
    """(1, n_mels, 2T) log-mel, (M, L, D) float16 keys and values of M padding positions after the
    window, (1,) int64 kv_from -> the spec's hidden state(s) for T frames, and the window's own
    float16 keys and values from position kv_from on, (T - kv_from, L, D), for any T + M <= 1500
    (M = 0: a window alone; kv_from T: no keys; lipsync_runtime.padding)."""
    from torch import nn

    from inference.encoders.whisper import layers_run, window_states_kv
    run = layers_run(layer, len(encoder.layers))      # layers after the spec's are never run

    class WhisperWindow(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = encoder

        def forward(self, mel: Any, pad_keys: Any, pad_values: Any, kv_from: Any) -> Any:
            states, keys, values = window_states_kv(self.enc, mel, pad_keys, pad_values,
                                                    kv_from[0], layers=run)
            wanted = _layer_stack(list(states), "all", mix) if layer == "all" else states[run]
            return wanted, keys, values        # states stop at the spec's layer: it is the last

    return WhisperWindow().eval()


def ssl_window_module(model: Any, layer: int | str, clip_norm: Any | None,
                      mix: Any | None = None) -> Any:
    """(1, samples) normalised wave [, mean (C,), var (C,)] -> the spec's hidden state(s)."""
    import torch
    from torch import nn

    want_all = layer != -1

    class SSLWindow(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, wave: torch.Tensor, *stats: torch.Tensor) -> torch.Tensor:
            if clip_norm is not None:
                clip_norm.mean, clip_norm.var = stats
            out = self.model(input_values=wave, output_hidden_states=want_all)
            if not want_all:
                return out.last_hidden_state
            hidden = list(out.hidden_states)
            return _layer_stack(hidden[:-1] + [out.last_hidden_state], layer, mix)

    return SSLWindow().eval()


def ssl_stats_module(first_conv: Any) -> Any:
    """(1, samples) -> (sum, sum of squares) over time of the first convolution, each (C,)."""
    import torch
    from torch import nn

    class FirstConvStats(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = first_conv

        def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            y = self.conv(wave[:, None, :])[0]                               # (C, outputs)
            return y.sum(dim=1), (y * y).sum(dim=1)

    return FirstConvStats().eval()


# -- ONNX helpers ----------------------------------------------------------------------------
def _export(module: Any, args: tuple, path: Path, inputs: list[str], outputs: list[str],
            axes: dict[str, dict[int, str]]) -> None:
    import warnings

    import torch

    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")                   # tracer notices about shape arithmetic
        torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False,
                          do_constant_folding=True, custom_opsets={DOMAIN: 1})


def store_half(path: Path) -> None:
    """Rewrite ``path`` with large float32 initializers stored as float16 plus a Cast node."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts, keep = [], []
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= MIN_FP16_ELEMENTS:
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16),
                                           init.name + "__fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + "__cast"))
        else:
            keep.append(init)
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


# -- the export ------------------------------------------------------------------------------
def quantize_int8(path: Path) -> None:
    """Rewrite the float32 ONNX model at ``path`` with int8 matrix products (dynamic
    quantisation, per-channel int8 weights). Deterministic: the same float32 file gives the same
    bytes, so training features and the shipped encoder agree."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = path.with_name(path.stem + ".int8.onnx")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)                 # the quantiser's notices, for this call only
    try:
        quantize_dynamic(str(path), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    finally:
        root.setLevel(level)
    out.replace(path)


def export_model(checkpoint_dir: str | Path, out_dir: str | Path,
                 int8_encoder: bool | None = None, int8_head: bool = False) -> Path:
    """Export ``checkpoint_dir`` (a lipsync-checkpoint/1 folder) to a runtime folder ``out_dir``;
    ``int8_encoder`` quantises the encoder (see the module docstring); None = as the head was
    trained (the checkpoint's ``features_encoder``), else float32; ``int8_head`` quantises the
    head's matrix products the same way (its curves move a little: evaluate before shipping)."""
    import torch

    from .checkpoint import check_head_fits, load_checkpoint
    from .encoders import load_encoder
    from .encoders.loader import resolve_source

    checkpoint_dir, out_dir = Path(checkpoint_dir), Path(out_dir)
    device = torch.device("cpu")
    loaded = load_checkpoint(checkpoint_dir, device, torch.float32)
    spec = loaded.encoder_spec
    learned = (loaded.config.get("training") or {}).get("features_encoder") or {}
    if int8_encoder is None:
        int8_encoder = learned.get("quantization") == "int8"
    encoder = load_encoder(spec, device, torch.float32)
    head_cfg = loaded.head_cfg
    check_head_fits(head_cfg, encoder)          # before fold_layer_mix hides the layer count
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=str(out_dir.parent)))
    work.chmod(0o755)                                   # mkdtemp makes it private
    try:
        head, head_cfg, mix = fold_layer_mix(loaded.head.float().eval(), head_cfg)
        enc_cfg = _export_encoder(encoder, spec, work, mix)
        _export_head(head, head_cfg, encoder, work)
        if int8_encoder:
            quantize_int8(work / ENCODER_FILE)
            enc_cfg["quantization"] = "int8"
        if int8_head:
            quantize_int8(work / HEAD_FILE)
        for name in (ENCODER_FILE, HEAD_FILE):
            store_half(work / name)
        if learned.get("sha256") and file_entry(work / ENCODER_FILE)["sha256"] != learned["sha256"]:
            log.warning("the exported encoder is not the one this head was trained on (another "
                        "quantisation, or another onnx/onnxruntime/torch version); check the "
                        "export with python -m inference evaluate --runtime before shipping it")
        source_dir = resolve_source(spec)
        licence = _copy_licence(source_dir, work)
        training_data = training_licences(loaded.config)
        if training_data:
            licence["head_training_data"] = training_data
        files = {name: file_entry(work / name) for name in sorted(p.name for p in work.iterdir())}
        config = {
            "format": RUNTIME_FORMAT,
            "params": list(PARAM_NAMES),
            "schema_version": SCHEMA_VERSION,
            "sample_rate": SAMPLE_RATE,
            "frame_rate": FRAME_RATE_HZ,
            "encoder": enc_cfg,
            "head": {"file": HEAD_FILE, "kind": head_cfg.kind, "in_dim": head_cfg.in_dim,
                     "num_encoder_layers": head_cfg.num_encoder_layers,
                     "chunk_frames": HEAD_CHUNK_FRAMES, "context_frames": HEAD_CONTEXT_FRAMES,
                     **({"quantization": "int8"} if int8_head else {})},
            "files": files,
            "licence": licence,
            "provenance": {
                "checkpoint": str(checkpoint_dir.resolve()),
                "checkpoint_config": loaded.config,
                "encoder_source": spec.source,
                "encoder_provenance": _read_json(source_dir / "provenance.json"),
                "exported_by": "python -m inference export",
                "torch": torch.__version__,
                "opset": OPSET,
            },
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        (work / CONFIG_NAME).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            work.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            work.rename(out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out_dir


def fold_layer_mix(head: Any, cfg: Any) -> tuple[Any, Any, Any | None]:
    """A head that mixes L encoder layers (its softmax weights are fixed once trained) as a
    one-layer head and the (L,) float32 weights, so the encoder graph sums the layers and hands
    the runtime (T, D) features instead of (L, T, D): 7x less memory for Whisper base's "all"
    (an hour: 0.4 GB instead of 2.6 GB) and no mixing in the head. A one-layer head: as it is."""
    import dataclasses

    import torch

    from .heads import build_head

    if cfg.num_encoder_layers == 1:
        return head, cfg, None
    mix = torch.softmax(head.layer_logits.detach().float(), dim=0)
    folded_cfg = dataclasses.replace(cfg, num_encoder_layers=1)
    folded = build_head(folded_cfg).float().eval()
    state = {k: v for k, v in head.state_dict().items() if k != "layer_logits"}
    state["layer_logits"] = torch.zeros(1)
    folded.load_state_dict(state)
    return folded, folded_cfg, mix


def _export_encoder(encoder: Any, spec: Any, work: Path, mix: Any | None = None) -> dict[str, Any]:
    """The encoder graph and its config entry; ``mix``: the folded head's layer weights (see
    fold_layer_mix), summed in the graph, which then gives (1, T, D) for "all"."""
    import torch

    from .encoders.whisper import WhisperSpeechEncoder

    common = {"file": ENCODER_FILE, "kind": spec.kind, "source": spec.source, "layer": spec.layer,
              "dim": encoder.dim, "num_layers_out": 1 if mix is not None else encoder.num_layers_out,
              "window_frames": spec.window_frames, "margin_frames": spec.margin_frames}
    if mix is not None:
        common["layer_weights"] = [round(float(w), 6) for w in mix]     # provenance, not read
    if isinstance(encoder, WhisperSpeechEncoder):
        module = whisper_window_module(encoder.model, spec.layer, mix)
        n_mels = encoder.mel_filters.shape[1]
        frames = min(spec.window_frames, 250)                       # trace at 5 s; any length runs
        layers, dim = encoder.layers_run, encoder.dim              # the layers the graph runs
        pad = torch.zeros(7, layers, dim, dtype=torch.float16)       # M traced > 0; 0 runs too
        kv_axes = {0: "frames"}
        _export(module, (torch.zeros(1, n_mels, 2 * frames), pad, pad,
                         torch.zeros(1, dtype=torch.int64)), work / ENCODER_FILE,
                ["mel", "pad_keys", "pad_values", "kv_from"], ["features", "keys", "values"],
                {"mel": {2: "mel_frames"}, "pad_keys": {0: "pad_frames"},
                 "pad_values": {0: "pad_frames"}, "features": _time_axis(spec.layer, mix),
                 "keys": kv_axes, "values": kv_axes})
        np.save(work / MEL_FILTERS_FILE, encoder.mel_filters.astype(np.float32), allow_pickle=False)
        # Whisper was trained on 30 s windows: a clip shorter than that gets the full window
        # (None) or, when the head was trained on cut windows (the spec's min_window_s), a window
        # of at least min_window_frames (lipsync_runtime.windows.encoder_window_frames).
        # A clip shorter than the window attends to the cached keys and values of a window of
        # silence instead of computing them ("cached"; lipsync_runtime.padding); a head trained on
        # cut windows has no padding to cache.
        return {**common, "frontend": "whisper_log_mel", "mel_filters": MEL_FILTERS_FILE,
                "n_mels": int(n_mels), "min_window_frames": spec.min_window_frames,
                "attention_layers": layers,
                "padding": "cached" if spec.min_window_frames is None else "full"}
    samples = 320 * 250 + encoder.receptive - 320
    stats = encoder.clip_norm is not None
    module = ssl_window_module(encoder.model, spec.layer, encoder.clip_norm, mix)
    args: tuple = (torch.zeros(1, samples),)
    names = ["wave"]
    if stats:
        channels = encoder.first_conv.out_channels
        args += (torch.zeros(channels), torch.ones(channels))
        names += ["norm_mean", "norm_var"]
        _export(ssl_stats_module(encoder.first_conv), (torch.zeros(1, samples),),
                work / STATS_FILE, ["wave"], ["sum", "sum_sq"], {"wave": {1: "samples"}})
    _export(module, args, work / ENCODER_FILE, names, ["features"],
            {"wave": {1: "samples"}, "features": _time_axis(spec.layer, mix)})
    entry = {**common, "frontend": "waveform", "normalize": bool(encoder.normalize),
             "receptive_samples": int(encoder.receptive), "min_window_frames": None}
    if stats:
        conv = encoder.first_conv
        entry.update({"stats": STATS_FILE, "stats_kernel": int(conv.kernel_size[0]),
                      "stats_stride": int(conv.stride[0]), "stats_eps": encoder.clip_norm.eps})
    return entry


def _time_axis(layer: int | str, mix: Any | None = None) -> dict[int, str]:
    return {2: "frames"} if layer == "all" and mix is None else {1: "frames"}


def _export_head(head: Any, cfg: Any, encoder: Any, work: Path) -> None:
    import torch

    frames = 250
    shape = (2, cfg.num_encoder_layers, frames, cfg.in_dim) if cfg.num_encoder_layers > 1 \
        else (2, frames, cfg.in_dim)
    axes = {0: "batch", 2: "frames"} if cfg.num_encoder_layers > 1 else {0: "batch", 1: "frames"}
    _export(head, (torch.zeros(shape),), work / HEAD_FILE, ["features"], ["curves"],
            {"features": axes, "curves": {0: "batch", 1: "frames"}})


def _copy_licence(source_dir: Path, work: Path) -> dict[str, Any]:
    provenance = _read_json(source_dir / "provenance.json") or {}
    licence = {"encoder": provenance.get("licence") or "see the encoder's source",
               "head": "GPL-3.0-or-later (this project)"}
    for name in ("LICENSE", "LICENSE.txt", "LICENCE"):
        if (source_dir / name).is_file():
            shutil.copyfile(source_dir / name, work / "LICENSE-encoder.txt")
            licence["encoder_text"] = "LICENSE-encoder.txt"
            break
    return licence


def training_licences(checkpoint_config: dict[str, Any]) -> dict[str, list[str]]:
    """{licence line: [voices]} of the audio the head was trained on, from the checkpoint's own
    corpus summary (its training split), so the runtime model names what the training speech asks
    for (attribution for CC BY and CC BY-SA voices). Empty for a checkpoint trained before the
    trainer recorded licences."""
    corpus = (checkpoint_config.get("training") or {}).get("corpus") or {}
    out: dict[str, set[str]] = {}
    for voices in (corpus.get("train") or {}).values():
        if not isinstance(voices, dict):          # "total_minutes"
            continue
        for voice, cell in voices.items():
            if isinstance(cell, dict) and cell.get("licence"):
                out.setdefault(cell["licence"], set()).add(voice)
    return {line: sorted(v) for line, v in sorted(out.items())}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def main(argv: list[str]) -> int:
    parser = OneLineParser(prog=PROG, description="Turn a checkpoint into a runtime model folder "
                           "(config.json, encoder.onnx, head.onnx) for ONNX Runtime.")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint folder (default: the project's assets/model)")
    parser.add_argument("--out", required=True, help="runtime model folder to write")
    parser.add_argument("--int8-encoder", action=argparse.BooleanOptionalAction, default=None,
                        help="quantise the encoder's matrix products to int8 (about 2x faster on "
                             "CPUs); default: as the checkpoint's head was trained")
    parser.add_argument("--int8-head", action="store_true",
                        help="quantise the head's matrix products to int8 as well")
    parser.add_argument("--verbose", action="store_true")
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"{PROG}: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(args.verbose)
    try:
        from .checkpoint import ModelError
        from .encoders import EncoderError
        from .pipeline import resolve_model_dir

        out = export_model(resolve_model_dir(args.checkpoint, "--checkpoint"), args.out,
                           int8_encoder=args.int8_encoder, int8_head=args.int8_head)
    except Exception as exc:                                      # noqa: BLE001 - CLI boundary
        return fail(PROG, exc, args.verbose, expected=isinstance(exc, (ModelError, EncoderError)))
    print(out)
    return EXIT_OK
