"""A head on an inner Whisper layer: the encoder runs only the layers up to it, in torch and in the
exported graph, and the features are exactly that layer of the whole encoder's.

Real components: a randomly initialised 2-layer Whisper saved like a hub model (tests/conftest.py),
the torch encoder, ``python -m inference export`` and ONNX Runtime.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.encoders import EncoderSpec, load_encoder
from inference.encoders.whisper import layers_run


def test_layers_run_stops_at_the_spec_layer():
    assert layers_run(-1, 6) == 6 and layers_run(6, 6) == 6 and layers_run("all", 6) == 6
    assert layers_run(4, 6) == 4 and layers_run(-3, 6) == 4 and layers_run(0, 6) == 0


@pytest.mark.parametrize("layer", [0, 1, -2])
def test_inner_layer_features_equal_that_layer_of_the_whole_encoder(tiny_whisper_dir, audio,
                                                                   layer):
    """3 s (one padded window) and 47 s (three windows with margins)."""
    source = str(tiny_whisper_dir)
    whole = load_encoder(EncoderSpec("whisper", source, "all"))
    inner = load_encoder(EncoderSpec("whisper", source, layer))
    assert inner.layers_run == layer % 3 < len(whole.model.layers) + (layer == -1)
    for seconds in (3.0, 47.0):
        wave = audio.speechlike(seconds, seed=3)
        want = whole.encode(wave)[layer % 3]                        # (frames, dim)
        got = inner.encode(wave)
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_exported_inner_layer_encoder_runs_only_its_layers(tmp_path, tiny_whisper_dir, audio,
                                                          make_tiny_checkpoint, export_runtime):
    """The graph's padding inputs carry one layer's keys (the spec's layer 1 of 2), and the runtime
    engine gives the torch engine's curves, short clip (cached padding) and long."""
    import onnxruntime as ort

    from lipsync_runtime.engine import RuntimeEngine
    from inference.pipeline import LipSyncEngine

    checkpoint = make_tiny_checkpoint(tmp_path / "ckpt", tiny_whisper_dir, kind="transformer",
                                      encoder_kind="whisper", layer=1)
    folder = export_runtime(checkpoint, tmp_path / "runtime")
    session = ort.InferenceSession(str(folder / "encoder.onnx"), providers=["CPUExecutionProvider"])
    pad = {i.name: i.shape for i in session.get_inputs()}["pad_keys"]
    assert pad[1] == 1, pad                                          # (M, layers, dim)
    runtime = RuntimeEngine(folder, device="cpu", min_window_s=None)
    head = runtime.model.head
    reference = LipSyncEngine(checkpoint, device="cpu", int8=False, head_workers=1,
                              chunk_frames=head["chunk_frames"],
                              context_frames=head["context_frames"], padding="cached")
    for seconds in (3.0, 47.0):
        wave = audio.speechlike(seconds, seed=5)
        ours, theirs = runtime.predict_wave(wave), reference.predict_wave(wave)
        assert np.abs(ours - theirs).max() < 2e-4, seconds


def test_exported_attention_is_one_fused_node_per_layer(tmp_path, tiny_whisper_dir,
                                                        make_tiny_checkpoint, export_runtime):
    """Both exported graphs compute attention in ONNX Runtime's fused MultiHeadAttention (one node
    per layer, inference/fused_attention.py): no Softmax, so a 30 s window's (heads, 1500, 1500)
    weights are never written out; the head's node takes the ALiBi bias as its attention_bias."""
    import onnx

    checkpoint = make_tiny_checkpoint(tmp_path / "ckpt", tiny_whisper_dir, kind="transformer",
                                      encoder_kind="whisper", layer=-1)
    runtime = export_runtime(checkpoint, tmp_path / "runtime")
    for name, layers, biased in (("encoder.onnx", 2, False), ("head.onnx", 2, True)):
        nodes = onnx.load(str(runtime / name)).graph.node
        fused = [n for n in nodes if n.op_type == "MultiHeadAttention"]
        assert len(fused) == layers, name
        assert all(n.domain == "com.microsoft" for n in fused)
        assert not any(n.op_type == "Softmax" for n in nodes), name
        assert all((len(n.input) > 5 and n.input[5] != "") == biased for n in fused), name


def test_a_head_mixing_other_layers_than_its_encoder_gives_is_one_sentence(
        tmp_path, tiny_whisper_dir, make_tiny_checkpoint, export_runtime):
    """The export folds a head's layer mix into the encoder graph, so a head that mixes 3 layers
    over an encoder that gives 1 must be refused before it is folded, and nothing written."""
    import json

    from inference.checkpoint import ModelError

    checkpoint = make_tiny_checkpoint(tmp_path / "ckpt", tiny_whisper_dir, kind="transformer",
                                      encoder_kind="whisper", layer="all")
    config = json.loads((checkpoint / "config.json").read_text())
    config["encoder"]["layer"] = -1                      # the head still mixes 3 hidden states
    (checkpoint / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="^The model's head mixes 3 encoder layers but its "
                                         "encoder gives 1; the checkpoint is inconsistent.$"):
        export_runtime(checkpoint, tmp_path / "runtime")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
