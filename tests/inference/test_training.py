"""End-to-end training on a tiny synthetic corpus with a tiny random wav2vec2 encoder.

The corpus is real audio written to disk (buzz for vowels, hum for m, silence+burst for p/b,
hiss for f/v) with hand-written ARPAbet phones, in the shared corpus format; the encoder is a
randomly initialised ``Wav2Vec2Model`` saved to a directory (tests/conftest.py); the head is a tiny BiLSTM.
Checks: the loss falls, the checkpoint loads, an interrupted and resumed run ends with the same
weights as an uninterrupted one, and evaluation reports every metric.
"""
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sf = pytest.importorskip("soundfile")

SR = 16000
CONFIGS = Path(__file__).resolve().parents[2] / "inference" / "training" / "configs"
SENTENCES = [  # ARPAbet phones, durations in 10 ms units
    [("sil", 20), ("M", 9), ("AA", 14), ("P", 8), ("UW", 14), ("F", 10), ("IY", 12), ("sil", 20)],
    [("sil", 15), ("B", 8), ("AE", 15), ("V", 9), ("OW", 16), ("M", 9), ("IH", 12), ("sil", 25)],
    [("sil", 25), ("F", 10), ("AA", 16), ("M", 10), ("UW", 14), ("P", 8), ("IY", 14), ("sil", 15)],
    [("sil", 18), ("P", 9), ("IY", 13), ("B", 8), ("AA", 15), ("V", 10), ("UW", 15), ("sil", 22)],
]
VOWEL_FORMANTS = {"AA": (750, 1200), "AE": (700, 1700), "IY": (300, 2300), "IH": (400, 2000),
                  "UW": (320, 850), "OW": (450, 900)}


def _synth(phones, rng):
    """(samples,) float32 audio for [(symbol, 10 ms units)] and its [(sym, start, end)] phones."""
    chunks, timed, t = [], [], 0.0
    for sym, units in phones:
        n = units * SR // 100
        time = np.arange(n) / SR
        f0 = 110 + 10 * rng.standard_normal()
        if sym == "sil":
            x = 0.001 * rng.standard_normal(n)
        elif sym in VOWEL_FORMANTS:
            f1, f2 = VOWEL_FORMANTS[sym]
            x = sum(np.sin(2 * np.pi * f0 * h * time) * (np.exp(-((f0 * h - f1) / 150) ** 2)
                    + 0.5 * np.exp(-((f0 * h - f2) / 200) ** 2)) for h in range(1, 30))
            x = 0.3 * x / (np.abs(x).max() + 1e-9)
        elif sym == "M":
            x = 0.1 * np.sin(2 * np.pi * f0 * time) + 0.03 * np.sin(2 * np.pi * 2 * f0 * time)
        elif sym in ("P", "B"):
            x = 0.002 * rng.standard_normal(n)
            burst = n // 5                         # closure, then the release burst
            x[-burst:] += 0.2 * rng.standard_normal(burst)
        else:  # F, V
            noise = rng.standard_normal(n)
            x = 0.08 * np.diff(noise, prepend=0.0)
        chunks.append(x.astype(np.float32))
        timed.append([sym, round(t, 4), round(t + n / SR, 4)])
        t += n / SR
    return np.concatenate(chunks), timed


SYNTH_LICENCE = "test tones written by this test (CC0)"


def _write_corpus(root, splits):
    rng = np.random.default_rng(7)
    lines = []
    for i, split in enumerate(splits):
        phones = SENTENCES[i % len(SENTENCES)]
        audio, timed = _synth(phones, rng)
        uid = f"u{i:02d}"
        folder = root / "en" / "synth"
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{uid}.wav", audio, SR, subtype="PCM_16")
        duration = len(audio) / SR
        record = {"id": uid, "text": "synthetic", "lang": "en", "voice": "synth",
                  "engine": "test", "notation": "arpabet", "phones": timed,
                  "duration": duration, "augment": None, "split": split,
                  "licence": SYNTH_LICENCE}
        (folder / f"{uid}.json").write_text(json.dumps(record))
        lines.append(json.dumps({"id": uid, "path": f"en/synth/{uid}.wav",
                                 "json": f"en/synth/{uid}.json", "lang": "en", "voice": "synth",
                                 "duration": duration, "split": split}))
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_wav2vec2_dir):
    root = tmp_path_factory.mktemp("training")
    corpus = root / "corpus"
    _write_corpus(corpus, ["train"] * 8 + ["valid"] * 2 + ["test"] * 2)
    enc_dir = tiny_wav2vec2_dir
    cfg = _repo_config("tiny_test.json", corpus, enc_dir, root)
    config_path = root / "tiny.json"
    config_path.write_text(json.dumps(cfg))
    return root, corpus, config_path


def _repo_config(name, corpus, enc_dir, root):
    """A shipped tiny config with this test's corpus, encoder and temporary directories."""
    cfg = json.loads((CONFIGS / name).read_text())
    cfg.update(corpora=[str(corpus)], cache_dir=str(root / "cache"),
               out_dir=str(root / name.replace(".json", "")))
    cfg["encoder"]["source"] = str(enc_dir)
    return cfg


def _tensors(model_dir):
    from safetensors.torch import load_file
    return load_file(str(model_dir / "model.safetensors"))


@pytest.mark.slow
def test_train_resume_and_evaluate(setup, capsys):
    from inference.checkpoint import load_checkpoint
    from inference.training import evaluate, train
    root, corpus, config_path = setup

    full = root / "full"
    assert train.main(["--config", str(config_path), "--out", str(full)]) == 0
    summary = json.loads((full / "summary.json").read_text())
    losses = [h["valid_loss"] for h in summary["history"]]
    assert summary["steps"] == 24 and summary["finished"]
    assert losses[0] > 0 and min(losses[1:]) < 0.8 * losses[0], losses
    assert summary["corpus"]["train"]["en"]["synth"]["utterances"] == 8
    assert summary["corpus"]["train"]["en"]["synth"]["licence"] == SYNTH_LICENCE

    loaded = load_checkpoint(full / "model", "cpu")
    assert loaded.config["training"]["steps"] == 24
    assert loaded.config["encoder"]["kind"] == "wav2vec2"
    feats = torch.randn(1, 40, loaded.head_cfg.in_dim)
    assert loaded.head(feats).shape == (1, 40, 26)

    # A fresh run without --resume refuses to overwrite; an interrupted one resumes exactly.
    assert train.main(["--config", str(config_path), "--out", str(full)]) == 1
    cache_files = sorted(p for p in (root / "cache").rglob("*.npy"))
    mtimes = [p.stat().st_mtime_ns for p in cache_files]
    split = root / "split"
    assert train.main(["--config", str(config_path), "--out", str(split), "--stop-after", "9"]) == 0
    first = json.loads((split / "summary.json").read_text())
    assert first["steps"] == 9 and not first["finished"]
    assert train.main(["--config", str(config_path), "--out", str(split), "--resume"]) == 0
    resumed = json.loads((split / "summary.json").read_text())
    assert resumed["steps"] == 24
    assert [h["valid_loss"] for h in resumed["history"]] == losses
    a, b = _tensors(full / "model"), _tensors(split / "model")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # The feature cache was reused, not recomputed.
    assert [p.stat().st_mtime_ns for p in cache_files] == mtimes

    report_path = root / "report.json"
    capsys.readouterr()
    assert evaluate.main(["--model", str(full / "model"), "--data", str(corpus), "--split", "test",
                          "--out", str(report_path), "--per-clip",
                          "--cache", str(root / "cache")]) == 0
    assert "aperture_auc" in capsys.readouterr().out
    report = json.loads(report_path.read_text())
    en = report["per_language"]["en"]
    for system in ("model", "loudness", "reference"):
        for key in ("aperture_auc", "rounding_auc", "lip_roll_auc", "closure_recall",
                    "false_closures", "silence_closed", "lag_ms"):
            assert key in en[system], (system, key)
        assert set(en[system]["params"]["jaw_open"]) >= {"mae", "rmse", "pearson", "std_ratio",
                                                         "velocity_error", "jitter"}
    # The product path (LipSyncEngine: windowed encoder, chunked head) reports the same way.
    engine_report = root / "report-engine.json"
    assert evaluate.main(["--model", str(full / "model"), "--data", str(corpus), "--split", "test",
                          "--out", str(engine_report), "--engine"]) == 0
    via_engine = json.loads(engine_report.read_text())["per_language"]["en"]["model"]
    assert via_engine["clips"] == 2
    assert abs(via_engine["mae"] - en["model"]["mae"]) < 0.05
    assert en["reference"]["aperture_auc"] >= 0.95
    assert en["reference"]["closure_recall"] == 1.0
    assert len(report["clips"]) == 3 * 2


def test_bad_config_is_one_sentence(tmp_path, capsys):
    from inference.training import train
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"corpora": [str(tmp_path / "nowhere")], "bogus": 1}))
    assert train.main(["--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bogus" in err and "Traceback" not in err
    bad.write_text(json.dumps({"corpora": [str(tmp_path / "nowhere")],
                               "loss": {"param_weights": {"jaw_opn": 2.0}}}))
    assert train.main(["--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "Unknown mouth parameter 'jaw_opn'" in err and "Traceback" not in err


@pytest.mark.slow
def test_transformer_on_all_layers_trains_and_saves_fp16(setup):
    from inference.checkpoint import load_checkpoint
    from inference.training import train
    root, corpus, _ = setup
    cfg = _repo_config("tiny_transformer_test.json", corpus, Path(json.loads(
        (root / "tiny.json").read_text())["encoder"]["source"]), root)
    path = root / "tiny_transformer.json"
    path.write_text(json.dumps(cfg))
    assert train.main(["--config", str(path)]) == 0
    out = Path(cfg["out_dir"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["history"][-1]["valid_loss"] < summary["history"][0]["valid_loss"]
    loaded = load_checkpoint(out / "model", "cpu")
    assert loaded.config["dtype"] == "float16"
    assert loaded.head_cfg.kind == "transformer" and loaded.head_cfg.num_encoder_layers == 3
    assert loaded.config["encoder"]["layer"] == "all"


@pytest.mark.slow
def test_head_trained_on_int8_cut_window_features_exports_with_that_encoder(
        setup, tiny_whisper_dir, make_tiny_checkpoint, export_runtime, tmp_path):
    """The fast runtime's features end to end: an int8 encoder exported once makes the training
    features (windows cut to each utterance), and the trained head's export gets the very same
    encoder file, so the shipped model runs on what its head learned."""
    import onnx

    from inference.export import export_model
    from inference.training import train
    from inference.training.features import read_wave
    from lipsync_runtime.engine import RuntimeEngine
    from lipsync_runtime.model import load_model

    root, corpus, _ = setup
    seed_ckpt = make_tiny_checkpoint(tmp_path / "seed", tiny_whisper_dir, kind="transformer",
                                     encoder_kind="whisper")
    features_rt = export_model(seed_ckpt, tmp_path / "int8", int8_encoder=True)
    again = export_model(seed_ckpt, tmp_path / "int8_again", int8_encoder=True)
    model = load_model(features_rt)
    assert model.encoder["quantization"] == "int8"
    sha = model.config["files"]["encoder.onnx"]["sha256"]
    assert load_model(again).config["files"]["encoder.onnx"]["sha256"] == sha    # deterministic
    ops = {node.op_type for node in onnx.load(str(features_rt / "encoder.onnx")).graph.node}
    assert {"MatMulInteger", "DynamicQuantizeLinear"} <= ops

    cfg = _repo_config("tiny_transformer_test.json", corpus, tiny_whisper_dir, root)
    cfg["encoder"] = {"kind": "whisper", "source": str(tiny_whisper_dir), "layer": -1,
                      "min_window_s": 1.0}
    cfg.update(features_runtime=str(features_rt), encode_stream_seconds=0,
               out_dir=str(root / "int8cut"))
    path = root / "int8cut.json"
    path.write_text(json.dumps(cfg))
    assert train.main(["--config", str(path)]) == 0

    # the cached features are the int8 encoder's on a window cut to the utterance
    engine = RuntimeEngine(features_rt, device="cpu", min_window_s=1.0)
    wav = corpus / "en" / "synth" / "u00.wav"
    cached = [p for p in (root / "cache").rglob("u00.*.npy")
              if "targets-" not in str(p) and "whisper" in str(p)]
    (feature_file,) = cached
    expected = engine.encode(read_wave(wav)).astype(np.float16)
    assert np.array_equal(np.load(feature_file), expected)

    shipped = export_runtime(root / "int8cut" / "model", tmp_path / "shipped")
    int8 = export_model(root / "int8cut" / "model", tmp_path / "shipped8")   # as trained
    assert load_model(int8).config["files"]["encoder.onnx"]["sha256"] == sha
    assert load_model(int8).encoder["min_window_frames"] == 50
    plain = export_model(root / "int8cut" / "model", tmp_path / "plain", int8_encoder=False)
    assert load_model(plain).encoder.get("quantization") is None
    assert load_model(shipped).encoder["quantization"] == "int8"      # the CLI's default too
    # the runtime model names the licences of the audio its head was trained on
    assert load_model(int8).config["licence"]["head_training_data"] == {SYNTH_LICENCE: ["synth"]}
    both = export_model(root / "int8cut" / "model", tmp_path / "both", int8_head=True)
    assert load_model(both).head["quantization"] == "int8"
    ops = {node.op_type for node in onnx.load(str(both / "head.onnx")).graph.node}
    assert "MatMulInteger" in ops
    wave = read_wave(wav)
    close = RuntimeEngine(int8, device="cpu").predict_wave(wave)
    assert np.abs(RuntimeEngine(both, device="cpu").predict_wave(wave) - close).max() < 0.2


@pytest.mark.slow
def test_fine_tuning_starts_from_the_named_checkpoint(setup):
    """init_from: the run's untrained valid loss is the start checkpoint's own (its weights, not
    a fresh initialisation), and a checkpoint of another head is refused in one sentence."""
    from inference.training import train
    from inference.training.config import load_config
    root, corpus, config_path = setup
    cfg = json.loads(config_path.read_text())
    base = root / "base"
    assert train.main(["--config", str(config_path), "--out", str(base)]) == 0
    best = json.loads((base / "summary.json").read_text())["best_valid_loss"]
    tuned_cfg = dict(cfg, init_from=str(base / "model"), max_steps=8)
    tuned_path = root / "tuned.json"
    tuned_path.write_text(json.dumps(tuned_cfg))
    assert train.main(["--config", str(tuned_path), "--out", str(root / "tuned")]) == 0
    history = json.loads((root / "tuned" / "summary.json").read_text())["history"]
    assert history[0]["step"] == 0 and history[0]["valid_loss"] == pytest.approx(best, rel=1e-4)
    fresh = json.loads((base / "summary.json").read_text())["history"][0]["valid_loss"]
    assert abs(fresh - best) > 1e-3                  # a fresh start would score differently
    other = dict(cfg, init_from=str(base / "model"), head=dict(cfg["head"], lstm_hidden=8))
    other_path = root / "other.json"
    other_path.write_text(json.dumps(other))
    with pytest.raises(ValueError, match="different head"):
        train.train(load_config(other_path, {"out_dir": str(root / "other")}))


@pytest.mark.slow
def test_focused_corpus_trains_on_its_pauses_and_closures_only(setup):
    """focus_corpora reaches the run: the same head at step 0 scores another validation loss
    when the corpus teaches only its pauses and p/b/m, a finite one, and training ends with
    other weights than the plain run; an unknown class is refused before any work."""
    from inference.training import train
    root, corpus, config_path = setup
    cfg = dict(json.loads(config_path.read_text()), max_steps=4, eval_every=4)
    runs = {}
    for name, focus in (("plain", {}), ("focused", {"corpus": ["silence", "bilabial"]})):
        path = root / f"{name}.json"
        path.write_text(json.dumps(dict(cfg, focus_corpora=focus)))
        assert train.main(["--config", str(path), "--out", str(root / name)]) == 0
        runs[name] = json.loads((root / name / "summary.json").read_text())["history"]
    plain, focused = runs["plain"][0]["valid_loss"], runs["focused"][0]["valid_loss"]
    assert np.isfinite(focused) and abs(focused - plain) > 1e-4
    assert np.isfinite(runs["focused"][-1]["valid_loss"])
    start, end = _tensors(root / "plain" / "model"), _tensors(root / "focused" / "model")
    assert any(not torch.equal(start[k], end[k]) for k in start)
    bad = root / "bad_focus.json"
    bad.write_text(json.dumps(dict(cfg, focus_corpora={"corpus": ["pauses"]})))
    assert train.main(["--config", str(bad), "--out", str(root / "bad")]) != 0


def test_teachers_blend_into_the_targets(tiny_head_config):
    """blend_teachers: weight 0 keeps the targets, 1 gives the teachers' mean curves, and
    between them a straight mix, frame by frame."""
    from inference.heads import build_head
    from inference.training.train import blend_teachers
    torch.manual_seed(4)
    teachers = [build_head(tiny_head_config("transformer", in_dim=16)).eval() for _ in range(2)]
    x = torch.randn(2, 30, 16)
    mask = torch.ones(2, 30, dtype=torch.bool)
    y = torch.rand(2, 30, 26)
    with torch.no_grad():
        mean = (teachers[0](x, mask) + teachers[1](x, mask)) / 2
    assert torch.equal(blend_teachers(y, x, mask, teachers, 0.0), y)
    torch.testing.assert_close(blend_teachers(y, x, mask, teachers, 1.0), mean)
    torch.testing.assert_close(blend_teachers(y, x, mask, teachers, 0.25), 0.75 * y + 0.25 * mean)
    assert blend_teachers(y, x, mask, [], 0.5) is y


@pytest.mark.slow
def test_distillation_run_reads_its_teachers(setup, monkeypatch):
    """teachers: every training step's targets pass through blend_teachers with the loaded
    teacher heads and the config's weight, and what comes back (the teacher's curves, not the
    phone targets) is what the loss sees; a teacher of other features, or a weight outside
    0..1, is refused."""
    from inference.training import train
    from inference.training.config import load_config
    root, corpus, config_path = setup
    cfg = json.loads(config_path.read_text())
    base = root / "teacher"
    assert train.main(["--config", str(config_path), "--out", str(base)]) == 0
    calls = []
    real = train.blend_teachers

    def spy(y, x, mask, teachers, weight):
        out = real(y, x, mask, teachers, weight)
        calls.append((len(teachers), weight, float((out - y).abs().max())))
        return out

    monkeypatch.setattr(train, "blend_teachers", spy)
    student = dict(cfg, teachers=[str(base / "model")], teacher_weight=1.0, max_steps=4)
    path = root / "student.json"
    path.write_text(json.dumps(student))
    assert train.main(["--config", str(path), "--out", str(root / "student")]) == 0
    assert [c[:2] for c in calls] == [(1, 1.0)] * 4
    assert all(c[2] > 0.05 for c in calls)          # the targets really became other curves
    other = dict(cfg, teachers=[str(base / "model")],
                 encoder=dict(cfg["encoder"], layer="all"))
    other_path = root / "other_teacher.json"
    other_path.write_text(json.dumps(other))
    with pytest.raises(ValueError, match="other encoder features"):
        train.train(load_config(other_path, {"out_dir": str(root / "other_teacher")}))
    bad_path = root / "bad_teacher.json"
    bad_path.write_text(json.dumps(dict(cfg, teacher_weight=1.5)))
    with pytest.raises(ValueError, match="teacher_weight"):
        load_config(bad_path, {})


def test_fine_tuning_may_move_a_head_to_another_distance_bias(tmp_path, tiny_wav2vec2_dir,
                                                              make_tiny_checkpoint):
    """init_from: an ALiBi checkpoint starts a squared-distance ("gauss") head with its very
    weights (the bias has none of its own), so only the attention pattern differs; any other
    difference in the head is still refused."""
    import dataclasses

    from inference.checkpoint import load_checkpoint
    from inference.heads import build_head
    from inference.training.train import _start_from
    start = load_checkpoint(make_tiny_checkpoint(tmp_path / "alibi", tiny_wav2vec2_dir,
                                                 kind="transformer"))
    spec = start.encoder_spec.to_dict()
    gauss_cfg = dataclasses.replace(start.head_cfg, position="gauss")
    torch.manual_seed(1)
    gauss = build_head(gauss_cfg)
    _start_from(gauss, gauss_cfg, spec, tmp_path / "alibi")
    for name, tensor in start.head.state_dict().items():
        torch.testing.assert_close(gauss.state_dict()[name].float(), tensor.float())
    x, mask = torch.randn(1, 40, gauss_cfg.in_dim), torch.ones(1, 40, dtype=torch.bool)
    with torch.no_grad():
        assert (gauss.eval()(x, mask) - start.head.float().eval()(x, mask)).abs().max() > 1e-4
    deeper = dataclasses.replace(gauss_cfg, n_layers=gauss_cfg.n_layers + 1)
    with pytest.raises(ValueError, match="different head"):
        _start_from(build_head(deeper), deeper, spec, tmp_path / "alibi")
