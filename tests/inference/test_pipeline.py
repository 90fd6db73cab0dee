"""LipSyncEngine on tiny random encoders: shapes, ranges, frame rates, silence, cancel, errors."""
import math

import numpy as np
import pytest

from inference.checkpoint import ModelError
from inference.pipeline import Cancelled, LipSyncEngine, silence_gate
from lipsync_core.params import NUM_PARAMS, PARAMS

SIGNED = np.array([p.signed for p in PARAMS])
REST = np.array([p.rest for p in PARAMS], dtype=np.float32)


def check_ranges(frames):
    assert frames.shape[1] == NUM_PARAMS and np.isfinite(frames).all()
    assert np.all(np.abs(frames[:, SIGNED]) <= 1)
    assert np.all((frames[:, ~SIGNED] >= 0) & (frames[:, ~SIGNED] <= 1))


@pytest.fixture(scope="module")
def engine(tiny_checkpoint):
    return LipSyncEngine(tiny_checkpoint, device="cpu")


def test_predict_50hz(engine, speech_wav):
    stages = []
    curves = engine.predict(speech_wav, progress=lambda s, f: stages.append((s, f)))
    assert curves.fps == 50.0 and curves.start_time == 0.0
    assert curves.num_frames == 150                            # 3 s at 50 Hz
    check_ranges(curves.frames)
    assert curves.model["head"] == "bilstm" and curves.model["device"] == "cpu"
    seen = [s for s, _ in stages]
    assert seen.index("audio") < seen.index("encoder") < seen.index("head")
    assert all(0.0 <= f <= 1.0 for _, f in stages)
    assert np.ptp(curves.frames, axis=0).max() > 0             # the mouth moves during speech


@pytest.mark.parametrize("fps", [24000 / 1001, 24.0, 30000 / 1001, 60.0])
def test_predict_scene_rate_and_trim(engine, speech_wav, fps):
    curves = engine.predict(speech_wav, start=0.5, end=2.5, fps=fps)
    assert curves.fps == fps and curves.start_time == 0.5
    assert curves.num_frames == math.ceil(2.0 * fps - 1e-6)
    check_ranges(curves.frames)


def test_silence_is_a_resting_mouth(engine, tmp_path, audio):
    path = audio.write_wav(tmp_path / "silence.wav", np.zeros(32000, dtype=np.float32))
    curves = engine.predict(path)
    assert curves.num_frames == 100
    np.testing.assert_array_equal(curves.frames, np.broadcast_to(REST, curves.frames.shape))


def test_silence_gate_spares_stop_closures():
    hop = 320
    t = np.arange(48000) / 16000
    wave = (0.1 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)  # 3 s of steady voice
    wave[16000:16000 + 1600] = 0.0                             # 100 ms: a stop closure
    wave[32000:32000 + 8000] = 0.0                             # 500 ms: a pause
    gate = silence_gate(wave, 150, hop)
    assert gate[50:55].min() == 1.0                            # closure untouched
    # inside the pause: rest, beyond the 60 ms release and the 120 ms anticipation margins
    assert gate[107:116].max() == 0.0
    assert np.all(silence_gate(np.zeros(16000), 50, hop) == 0.0)
    assert silence_gate(np.zeros(0), 0, hop).shape == (0,)


def test_cancel(engine, speech_wav):
    with pytest.raises(Cancelled):
        engine.predict(speech_wav, cancel=lambda: True)
    calls = []

    def cancel_in_head():
        calls.append(1)
        return len(calls) > 3
    with pytest.raises(Cancelled):
        engine.predict(speech_wav, cancel=cancel_in_head)


def test_chunked_head_matches_one_pass(tiny_checkpoint, tmp_path, audio):
    path = audio.write_wav(tmp_path / "long.wav", audio.speechlike(30.0, seed=4))
    # float32 heads: int8 scales activations per batch, which adds its own small differences
    chunked = LipSyncEngine(tiny_checkpoint, device="cpu", chunk_frames=300, context_frames=100,
                            batch_size=4, int8=False).predict(path)
    whole = LipSyncEngine(tiny_checkpoint, device="cpu", chunk_frames=10_000,
                          int8=False).predict(path)
    np.testing.assert_allclose(chunked.frames, whole.frames, atol=1e-3)


def test_int8_head_matches_float(tiny_checkpoint, speech_wav):
    quick = LipSyncEngine(tiny_checkpoint, device="cpu")
    exact = LipSyncEngine(tiny_checkpoint, device="cpu", int8=False)
    assert quick.int8 and not exact.int8
    np.testing.assert_allclose(quick.predict(speech_wav).frames, exact.predict(speech_wav).frames,
                               atol=2e-2)


def test_all_layers_and_whisper(tmp_path, tiny_wav2vec2_dir, tiny_whisper_dir, speech_wav,
                                make_tiny_checkpoint):
    mixed = make_tiny_checkpoint(tmp_path / "mix", tiny_wav2vec2_dir, kind="transformer",
                                 layer="all")
    curves = LipSyncEngine(mixed, device="cpu").predict(speech_wav, fps=25)
    assert curves.num_frames == 75
    check_ranges(curves.frames)
    whisper = make_tiny_checkpoint(tmp_path / "wh", tiny_whisper_dir, encoder_kind="whisper")
    curves = LipSyncEngine(whisper, device="cpu").predict(speech_wav)
    assert curves.num_frames == 150
    check_ranges(curves.frames)


def test_no_default_model(monkeypatch, tmp_path):
    import inference.pipeline as pipeline
    monkeypatch.setattr(pipeline, "DEFAULT_MODEL_DIR", tmp_path / "model")
    with pytest.raises(ModelError, match="no default lip-sync model.*--model"):
        LipSyncEngine(None, device="cpu")


def test_export_without_a_default_model_names_its_own_option(monkeypatch, tmp_path, capsys):
    import inference.pipeline as pipeline
    from inference.export import main as export_main
    monkeypatch.setattr(pipeline, "DEFAULT_MODEL_DIR", tmp_path / "model")
    assert export_main(["--out", str(tmp_path / "rt")]) != 0
    err = capsys.readouterr().err
    assert "no default lip-sync model" in err and "pass --checkpoint" in err, err
    assert not (tmp_path / "rt").exists()


def test_head_encoder_mismatch(tmp_path, tiny_wav2vec2_dir, tiny_head_config):
    from inference.checkpoint import save_checkpoint
    from inference.encoders import EncoderSpec
    from inference.heads import build_head
    cfg = tiny_head_config(in_dim=16)
    path = save_checkpoint(tmp_path / "m", build_head(cfg), cfg,
                           EncoderSpec(kind="wav2vec2", source=str(tiny_wav2vec2_dir)))
    with pytest.raises(ModelError, match="16-d features.*32-d"):
        LipSyncEngine(path, device="cpu")


def test_silence_gate_keeps_the_lead_before_speech_and_rests_far_from_it():
    # 1 s of digital silence, then 1 s of loud noise: the model's anticipation (up to 120 ms
    # before the onset) survives, the middle of the silence is at rest.
    hop = 320
    rng = np.random.default_rng(0)
    wave = np.concatenate([np.zeros(16000), 0.3 * rng.standard_normal(16000)]).astype(np.float32)
    gate = silence_gate(wave, 100, hop)
    onset = 50                                            # first loud 50 Hz frame
    assert np.all(gate[onset - 6:onset] == 1.0)           # 120 ms of lead kept whole
    assert np.all(np.diff(gate[:onset]) >= 0)             # eases in, never steps down
    assert np.all(gate[:onset - 10] == 0.0)               # a second before: closed and resting
