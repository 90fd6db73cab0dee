"""The ONNX Runtime engine against the torch engine it was exported from: same curves.

Each case exports a checkpoint with ``python -m inference export``'s code, runs the same audio
through lipsync_runtime.engine.RuntimeEngine and inference.pipeline.LipSyncEngine (float32 head,
one head worker, so both cut the head's windows alike) and compares the (frames, 26) curves.
Tiny random encoders of every front end (Whisper log-mel, wav2vec2 with layer norm, wav2vec2 with
per-clip group norm), both heads, one layer or all layers; audio longer than one encoder window
checks the windowing too. The shipped model is checked on real speech (the demo clips) against
issue 11's bound of 0.02 on every parameter.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipsync_runtime.audio import load_audio
from lipsync_runtime.engine import RuntimeEngine

REPO = Path(__file__).resolve().parents[2]
TINY_TOLERANCE = 2e-4          # float32 arithmetic in two libraries
REAL_TOLERANCE = 0.02          # issue 11: max abs difference on every parameter, real speech


def torch_engine(checkpoint, runtime: RuntimeEngine):
    """The torch engine with the runtime's head windows and padding, float32, one head worker."""
    from inference.pipeline import LipSyncEngine

    head = runtime.model.head
    return LipSyncEngine(checkpoint, device="cpu", int8=False, head_workers=1,
                         chunk_frames=head["chunk_frames"], context_frames=head["context_frames"],
                         padding="full" if runtime.padding_cache is None else "cached")


CASES = [  # (encoder fixture, encoder kind, head kind, layer)
    ("tiny_whisper_dir", "whisper", "transformer", -1),
    ("tiny_whisper_dir", "whisper", "conformer", -1),      # transformer + convolution module
    ("tiny_whisper_dir", "whisper", "gauss", -1),          # transformer, squared-distance bias
    ("tiny_whisper_dir", "whisper", "bilstm", "all"),
    ("tiny_wav2vec2_dir", "wav2vec2", "bilstm", -1),
    ("tiny_wav2vec2_dir", "wav2vec2", "transformer", "all"),
    ("tiny_wav2vec2_group_dir", "wav2vec2", "transformer", -1),
    ("tiny_hubert_dir", "hubert", "bilstm", -1),
    ("tiny_wavlm_dir", "wavlm", "transformer", -1),
]


@pytest.mark.slow
@pytest.mark.parametrize("encoder_fixture,kind,head,layer", CASES)
def test_runtime_matches_torch(request, tmp_path, audio, make_tiny_checkpoint, export_runtime,
                               encoder_fixture, kind, head, layer):
    encoder_dir = request.getfixturevalue(encoder_fixture)
    extra = {"conformer": {"conv_kernel": 5}, "gauss": {"position": "gauss"}}.get(head, {})
    checkpoint = make_tiny_checkpoint(tmp_path / "ckpt", encoder_dir, kind=head if not extra
                                      else "transformer", encoder_kind=kind, layer=layer, **extra)
    folder = export_runtime(checkpoint, tmp_path / "runtime")
    runtime = RuntimeEngine(folder, device="cpu", min_window_s=None)
    if head == "gauss":          # exported without a bias input: ONNX Runtime's fused path
        import onnx
        nodes = [n for n in onnx.load(str(folder / "head.onnx")).graph.node
                 if n.op_type == "MultiHeadAttention"]
        assert nodes and all(len([i for i in n.input if i]) == 3 for n in nodes)
    if layer == "all":           # the head's layer weights are summed in the encoder graph
        import onnx
        encoder = runtime.model.encoder
        weights = encoder["layer_weights"]
        assert encoder["num_layers_out"] == runtime.model.head["num_encoder_layers"] == 1
        assert len(weights) > 2 and abs(sum(weights) - 1) < 1e-4
        out = onnx.load(str(folder / "encoder.onnx")).graph.output[0]
        assert len(out.type.tensor_type.shape.dim) == 3             # (1, T, D), not (1, L, T, D)
    reference = torch_engine(checkpoint, runtime)
    # 3 s: one window; 47 s: several encoder windows (20 s or 30 s) and head windows (30 s + 2 s)
    for seconds in (3.0, 47.0):
        wave = audio.speechlike(seconds, seed=int(seconds))
        ours, theirs = runtime.predict_wave(wave), reference.predict_wave(wave)
        assert ours.shape == theirs.shape == (-(-len(wave) // 320), 26)
        assert np.abs(ours - theirs).max() < TINY_TOLERANCE, (kind, head, layer, seconds)


@pytest.mark.slow
@pytest.mark.parametrize("layer", [-1, "all"])
def test_cut_windows_match_torch(tmp_path, audio, make_tiny_checkpoint, export_runtime,
                                 tiny_whisper_dir, layer):
    """A head trained on windows cut to the clip (the spec's min_window_s): the export carries
    the setting, and both engines cut a short clip's window the same way."""
    checkpoint = make_tiny_checkpoint(tmp_path / "ckpt", tiny_whisper_dir, kind="transformer",
                                      encoder_kind="whisper", layer=layer, min_window_s=1.0)
    folder = export_runtime(checkpoint, tmp_path / "runtime")
    runtime = RuntimeEngine(folder, device="cpu")                   # the model's own setting
    assert runtime.min_window_frames == 50
    reference = torch_engine(checkpoint, runtime)
    full = RuntimeEngine(folder, device="cpu", min_window_s=None)
    # below the minimum, cut to 4 s, full windows (47 s: two either way; 55 s: two with fitted
    # 2.5 s margins where full-window models take three)
    for seconds in (0.4, 3.0, 47.0, 55.0):
        wave = audio.speechlike(seconds, seed=int(seconds * 10))
        ours, theirs = runtime.predict_wave(wave), reference.predict_wave(wave)
        assert np.abs(ours - theirs).max() < TINY_TOLERANCE, (layer, seconds)
        padded = full.predict_wave(wave)
        if seconds == 47.0:
            assert np.abs(ours - padded).max() < TINY_TOLERANCE
        else:                               # the cut window really is another computation
            assert np.abs(ours - padded).max() > 10 * TINY_TOLERANCE, seconds
    # Many short lines (the batch): each in its own cut window, as alone, not packed together.
    lines = [audio.speechlike(s, seed=i) for i, s in enumerate((1.2, 2.5, 0.7))]
    for alone, many in zip([runtime.predict_wave(w) for w in lines], runtime.predict_many(lines)):
        assert np.array_equal(alone, many)
    packed = full.predict_many(lines)                 # a full-window model packs them instead
    assert np.abs(packed[1] - full.predict_wave(lines[1])).max() > 10 * TINY_TOLERANCE


@pytest.mark.slow
def test_runtime_curves_files_match_torch_at_scene_rates(tmp_path, tiny_checkpoint,
                                                        tiny_runtime_model, speech_wav):
    runtime = RuntimeEngine(tiny_runtime_model, device="cpu", min_window_s=None)
    reference = torch_engine(tiny_checkpoint, runtime)
    for fps in (24.0, 29.97):
        ours = runtime.predict(speech_wav, start=0.5, end=2.5, fps=fps)
        theirs = reference.predict(speech_wav, start=0.5, end=2.5, fps=fps)
        assert ours.fps == theirs.fps == fps and ours.start_time == 0.5
        assert np.abs(ours.frames - theirs.frames).max() < TINY_TOLERANCE
    assert ours.model["identity"] and ours.model["backend"] == "onnxruntime"


@pytest.mark.slow
def test_shipped_model_matches_torch_on_real_speech():
    runtime_dir = REPO / "assets" / "runtime"
    if not (runtime_dir / "config.json").is_file():
        pytest.fail("assets/runtime is missing: 'make setup' exports it (python -m inference "
                    "export --out assets/runtime)")
    for padding in ("cached", "full"):          # short clips' padding: the shipped way, and exact
        runtime = RuntimeEngine(runtime_dir, device="cpu", min_window_s=None, padding=padding)
        reference = torch_engine(None, runtime)
        for name in ("speech_en.wav", "speech_ja.wav"):
            wave = load_audio(REPO / "assets" / "demo" / name)
            difference = np.abs(runtime.predict_wave(wave) -
                                reference.predict_wave(wave)).max(axis=0)
            assert difference.max() <= REAL_TOLERANCE, \
                (padding, name, dict(zip(range(26), difference.round(4))))
