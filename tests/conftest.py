"""Shared fixtures: speech-like audio files, tiny random speech encoders and tiny checkpoints.

Nothing here downloads anything: encoders are randomly initialised ``transformers`` models saved
with ``save_pretrained`` to a temporary folder, and an EncoderSpec points at that folder. torch
and transformers are imported inside the fixtures, so unit tests that do not use them stay fast.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TINY_DIM = 32                 # feature size of the tiny encoders


def speechlike(seconds: float, sr: int = 16000, seed: int = 0, channels: int = 1) -> np.ndarray:
    """Syllable-rate voiced sound with pauses: (samples,) or (samples, channels) float32.

    A glottal-like harmonic source (f0 gliding 100-180 Hz) shaped by moving formant weights,
    4 syllables a second, a 0.4 s pause every 1.5 s, a little breath noise.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    formant = 0.5 + 0.5 * np.sin(2 * np.pi * 3.1 * t)[:, None]
    k = np.arange(1, 25)[None, :]
    weights = np.exp(-((k * 140 - (500 + 1500 * formant)) / 400.0) ** 2) + 0.3 / k
    voiced = (np.sin(phase[:, None] * k) * weights).sum(axis=1)
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    envelope *= (t % 1.5) < 1.1                                   # pauses
    wave = 0.1 * voiced / np.abs(voiced).max() * envelope * 2.5
    wave += 0.003 * rng.standard_normal(len(t)) * envelope
    wave = wave.astype(np.float32)
    if channels > 1:
        wave = np.stack([wave * (1 - 0.1 * c) for c in range(channels)], axis=1)
    return wave


def write_wav(path: Path, wave: np.ndarray, sr: int = 16000, subtype: str = "PCM_16") -> Path:
    import soundfile

    soundfile.write(str(path), wave, sr, subtype=subtype)
    return path


class AudioTools:
    """What the ``audio`` fixture hands a test: the helpers above."""
    speechlike = staticmethod(speechlike)
    write_wav = staticmethod(write_wav)


@pytest.fixture(scope="session")
def audio() -> type[AudioTools]:
    """``audio.speechlike(seconds, sr, seed, channels)`` and ``audio.write_wav(path, wave, sr)``."""
    return AudioTools


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """3 s of speech-like mono audio at 16 kHz."""
    return write_wav(tmp_path_factory.mktemp("audio") / "speech.wav", speechlike(3.0))


@pytest.fixture(scope="session")
def tiny_wav2vec2_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer, 32-d wav2vec2 saved like a hub model."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(0)
    config = Wav2Vec2Config(hidden_size=TINY_DIM, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, conv_dim=(16,) * 7,
                            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                            do_stable_layer_norm=True, feat_extract_norm="layer")
    folder = tmp_path_factory.mktemp("tiny_wav2vec2")
    Wav2Vec2Model(config).eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_whisper_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer, 32-d Whisper saved like a hub model."""
    import torch
    from transformers import WhisperConfig, WhisperModel

    torch.manual_seed(0)
    config = WhisperConfig(d_model=TINY_DIM, encoder_layers=2, decoder_layers=1,
                           encoder_attention_heads=2, decoder_attention_heads=2,
                           encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=80,
                           vocab_size=100, max_source_positions=1500, max_target_positions=32,
                           pad_token_id=0, bos_token_id=1, eos_token_id=2,
                           decoder_start_token_id=1, begin_suppress_tokens=None,
                           suppress_tokens=None)
    folder = tmp_path_factory.mktemp("tiny_whisper")
    WhisperModel(config).eval().save_pretrained(folder)
    return folder


def tiny_head_config(kind: str = "bilstm", layers: int = 1, in_dim: int = TINY_DIM,
                     conv_kernel: int = 0, position: str = "alibi"):
    from inference.heads import HeadConfig

    return HeadConfig(kind=kind, in_dim=in_dim, num_encoder_layers=layers, proj_dims=(24, 20),
                      lstm_hidden=12, lstm_layers=2, out_dims=(16,), d_model=16, n_heads=4,
                      n_layers=2, ff_dim=32, conv_kernel=conv_kernel, position=position)


@pytest.fixture(name="tiny_head_config")
def tiny_head_config_fixture():
    """The factory ``tiny_head_config(kind, layers, in_dim) -> HeadConfig``."""
    return tiny_head_config


@pytest.fixture(name="make_tiny_checkpoint")
def make_tiny_checkpoint_fixture():
    """The factory ``make_tiny_checkpoint(directory, encoder_dir, kind=..., layer=...)``."""
    return make_tiny_checkpoint


def make_tiny_checkpoint(directory: Path, encoder_dir: Path, kind: str = "bilstm",
                         encoder_kind: str = "wav2vec2", layer=-1, dtype: str = "float32",
                         seed: int = 0, min_window_s: float | None = None,
                         conv_kernel: int = 0, position: str = "alibi") -> Path:
    """Save a tiny random head for the tiny encoder at ``encoder_dir`` as a checkpoint folder
    (``conv_kernel``: a transformer head's convolution module, 0 = none; ``position``: a
    transformer head's distance bias, inference.heads.HEAD_POSITIONS)."""
    import torch

    from inference.checkpoint import save_checkpoint
    from inference.encoders import EncoderSpec
    from inference.heads import build_head

    torch.manual_seed(seed)
    layers = 3 if layer == "all" else 1                 # tiny encoders: 2 layers + embeddings
    cfg = tiny_head_config(kind, layers=layers, conv_kernel=conv_kernel, position=position)
    spec = EncoderSpec(kind=encoder_kind, source=str(encoder_dir), layer=layer,
                       min_window_s=min_window_s)
    head = build_head(cfg)
    with torch.no_grad():         # unequal layer weights, as a trained head has them (the
        head.layer_logits.copy_(torch.linspace(-0.5, 0.5, layers))  # later layers weigh more)
    return save_checkpoint(directory, head, cfg, spec,
                           training={"name": "tiny-random", "note": "test fixture"}, dtype=dtype)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_wav2vec2_dir) -> Path:
    """A checkpoint folder: tiny random BiLSTM head over the tiny wav2vec2 (last layer)."""
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", tiny_wav2vec2_dir)


@pytest.fixture(scope="session")
def tiny_wav2vec2_group_dir(tmp_path_factory) -> Path:
    """A tiny random wav2vec2 whose first convolution is group-normalised per clip (as in
    wav2vec2-base / hubert-base, unlike the layer-norm ``tiny_wav2vec2_dir``)."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(1)
    config = Wav2Vec2Config(hidden_size=TINY_DIM, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, conv_dim=(16,) * 7,
                            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                            do_stable_layer_norm=False, feat_extract_norm="group")
    folder = tmp_path_factory.mktemp("tiny_wav2vec2_group")
    Wav2Vec2Model(config).eval().save_pretrained(folder)
    return folder


def export_runtime(checkpoint: Path, out: Path) -> Path:
    """``python -m inference export`` of ``checkpoint`` into ``out`` (a runtime model folder)."""
    from inference.export import export_model

    return export_model(checkpoint, out)


@pytest.fixture(name="export_runtime")
def export_runtime_fixture():
    """The factory ``export_runtime(checkpoint, out) -> runtime model folder``."""
    return export_runtime


@pytest.fixture(scope="session")
def tiny_runtime_model(tmp_path_factory, tiny_checkpoint) -> Path:
    """The tiny checkpoint exported for ONNX Runtime: what the shipped worker runs in tests."""
    return export_runtime(tiny_checkpoint, tmp_path_factory.mktemp("runtime") / "tiny")


def _tiny_ssl(folder: Path, kind: str) -> Path:
    import torch
    import transformers

    config_cls, model_cls = {"hubert": (transformers.HubertConfig, transformers.HubertModel),
                             "wavlm": (transformers.WavLMConfig, transformers.WavLMModel)}[kind]
    torch.manual_seed(2)
    config = config_cls(hidden_size=TINY_DIM, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, conv_dim=(16,) * 7, num_conv_pos_embeddings=16,
                        num_conv_pos_embedding_groups=2, do_stable_layer_norm=False,
                        feat_extract_norm="group")
    model_cls(config).eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_hubert_dir(tmp_path_factory) -> Path:
    """A tiny random HuBERT (group-normalised first convolution, as hubert-base)."""
    return _tiny_ssl(tmp_path_factory.mktemp("tiny_hubert"), "hubert")


@pytest.fixture(scope="session")
def tiny_wavlm_dir(tmp_path_factory) -> Path:
    """A tiny random WavLM (relative position buckets in its attention)."""
    return _tiny_ssl(tmp_path_factory.mktemp("tiny_wavlm"), "wavlm")
