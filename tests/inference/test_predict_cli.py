"""``python -m inference predict``: every bad input gives its exit code and one line on stderr.

Audio and output problems run through the runtime engine (a tiny checkpoint exported for ONNX
Runtime, as the default model is); checkpoint problems through the torch backend, which a training
checkpoint in --model selects; runtime-model problems (a damaged or mismatched folder) have tests of
their own."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.commands.predict import main
from lipsync_core.curves import read_curves
from lipsync_core.params import NUM_PARAMS, PARAM_NAMES, PARAMS

REPO = Path(__file__).resolve().parents[2]
REST = np.array([p.rest for p in PARAMS], dtype=np.float32)


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("ext", [".json", ".csv", ".npz"])
def test_writes_each_format(tmp_path, capsys, tiny_runtime_model, speech_wav, ext):
    out = tmp_path / f"curves{ext}"
    code, stdout, err = run([speech_wav, "-o", out, "--model", tiny_runtime_model, "--fps", 24,
                             "--device", "cpu"], capsys)
    assert code == 0, err
    assert "72 frames at 24 fps" in stdout
    curves = read_curves(out)
    assert curves.num_frames == 72 and curves.params == PARAM_NAMES
    assert curves.fps == pytest.approx(24.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_trim(tmp_path, capsys, tiny_runtime_model, speech_wav):
    out = tmp_path / "c.json"
    code, _, err = run([speech_wav, "-o", out, "--model", tiny_runtime_model, "--start", 1,
                        "--end", 2], capsys)
    assert code == 0, err
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["start_time"] == 1.0 and data["fps"] == 50.0 and len(data["frames"]) == 50


@pytest.mark.parametrize("argv, needle", [
    ([], "required"),
    (["a.wav"], "-o/--output"),
    (["a.wav", "-o", "x.txt"], ".json, .csv or .npz"),
    (["a.wav", "-o", "x.json", "--fps", "0"], "--fps"),
    (["a.wav", "-o", "x.json", "--fps", "abc"], "invalid float"),
    (["a.wav", "-o", "x.json", "--start", "2", "--end", "1"], "after --start"),
    (["a.wav", "-o", "x.json", "--device", "tpu"], "invalid choice"),
])
def test_usage_errors(capsys, argv, needle):
    code, _, err = run(argv, capsys)
    assert code == 2
    assert needle in one_line(err)


def failure(tmp_path, capsys, audio, model, needle, *extra):
    out = tmp_path / "out.json"
    code, stdout, err = run([audio, "-o", out, "--model", model, *extra], capsys)
    assert code == 1
    assert needle in one_line(err)
    assert not out.exists() and stdout == ""


def test_missing_file(tmp_path, capsys, tiny_runtime_model):
    failure(tmp_path, capsys, tmp_path / "absent.wav", tiny_runtime_model, "does not exist")


def test_folder_named_wav(tmp_path, capsys, tiny_runtime_model):
    folder = tmp_path / "takes.wav"
    folder.mkdir()
    failure(tmp_path, capsys, folder, tiny_runtime_model, "is a folder, not an audio file")


def test_text_file_named_wav(tmp_path, capsys, tiny_runtime_model):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n", encoding="utf-8")
    failure(tmp_path, capsys, path, tiny_runtime_model, "notes.wav")


def test_zero_length(tmp_path, capsys, tiny_runtime_model, audio):
    path = audio.write_wav(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32))
    out = tmp_path / "out.json"
    code, _, err = run([path, "-o", out, "--model", tiny_runtime_model], capsys)
    assert code == 1 and one_line(err) and not out.exists()


def test_three_channels(tmp_path, capsys, tiny_runtime_model, audio):
    path = audio.write_wav(tmp_path / "surround.wav", audio.speechlike(1.0, channels=3))
    failure(tmp_path, capsys, path, tiny_runtime_model, "3 channels")


def test_silence_is_a_resting_mouth(tmp_path, capsys, tiny_runtime_model, audio):
    path = audio.write_wav(tmp_path / "silence.wav", np.zeros(16000, dtype=np.float32))
    out = tmp_path / "rest.npz"
    code, _, err = run([path, "-o", out, "--model", tiny_runtime_model, "--fps", 30], capsys)
    assert code == 0, err
    frames = read_curves(out).frames
    assert frames.shape == (30, NUM_PARAMS)
    np.testing.assert_array_equal(frames, np.broadcast_to(REST, frames.shape))


@pytest.mark.parametrize("rate", [8000, 192000])
def test_unusual_sample_rates(tmp_path, capsys, tiny_runtime_model, audio, rate):
    path = audio.write_wav(tmp_path / f"r{rate}.wav", audio.speechlike(1.0, sr=rate), sr=rate)
    out = tmp_path / "c.json"
    code, _, err = run([path, "-o", out, "--model", tiny_runtime_model], capsys)
    assert code == 0, err
    assert read_curves(out).num_frames == 50


def test_stereo_float_flac(tmp_path, capsys, tiny_runtime_model, audio):
    path = audio.write_wav(tmp_path / "s.flac", audio.speechlike(1.0, sr=44100, channels=2),
                           sr=44100, subtype="PCM_24")
    code, _, err = run([path, "-o", tmp_path / "c.csv", "--model", tiny_runtime_model], capsys)
    assert code == 0, err


def test_non_ascii_paths(tmp_path, capsys, tiny_runtime_model, audio):
    folder = tmp_path / "声 ü"
    folder.mkdir()
    path = audio.write_wav(folder / "せりふ.wav", audio.speechlike(1.0))
    out = folder / "くち.json"
    code, _, err = run([path, "-o", out, "--model", tiny_runtime_model], capsys)
    assert code == 0, err
    assert read_curves(out).num_frames == 50


def copy_checkpoint(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for item in src.iterdir():
        (dst / item.name).write_bytes(item.read_bytes())
    return dst


def test_mismatched_checkpoint(tmp_path, capsys, tiny_checkpoint, speech_wav):
    model = copy_checkpoint(tiny_checkpoint, tmp_path / "model")
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    config["params"][0] = "jaw_drop"
    (model / "config.json").write_text(json.dumps(config), encoding="utf-8")
    failure(tmp_path, capsys, speech_wav, model, "jaw_drop")
    config["params"][0] = PARAM_NAMES[0]
    config["schema_version"] = 99
    (model / "config.json").write_text(json.dumps(config), encoding="utf-8")
    failure(tmp_path, capsys, speech_wav, model, "schema version 99")


def test_model_folder_without_weights(tmp_path, capsys, tiny_checkpoint, speech_wav):
    model = copy_checkpoint(tiny_checkpoint, tmp_path / "model")
    (model / "model.safetensors").unlink()
    failure(tmp_path, capsys, speech_wav, model, "no weights")


def test_encoder_not_available(tmp_path, capsys, tiny_checkpoint, speech_wav):
    model = copy_checkpoint(tiny_checkpoint, tmp_path / "model")
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    config["encoder"]["source"] = "nobody/no-such-encoder-here"
    (model / "config.json").write_text(json.dumps(config), encoding="utf-8")
    env = {"HF_HUB_OFFLINE": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        failure(tmp_path, capsys, speech_wav, model, "no-such-encoder-here")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_real_process_exit_codes(tmp_path, tiny_runtime_model, speech_wav):
    """Through ``python -m inference`` in a fresh process: stdout, stderr and exit codes."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = tmp_path / "c.json"
    ok = subprocess.run([sys.executable, "-m", "inference", "predict", str(speech_wav), "-o",
                         str(out), "--model", str(tiny_runtime_model)], capture_output=True,
                        text=True, env=env, cwd=tmp_path, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == "" and "150 frames" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "inference", "predict", str(tmp_path / "x.wav"),
                          "-o", str(out), "--model", str(tiny_runtime_model)], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=300)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    verbose = subprocess.run([sys.executable, "-m", "inference", "predict", str(speech_wav),
                              "-o", str(out), "--model", str(tmp_path / "nomodel"),
                              "--verbose"], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=300)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr


def copy_runtime(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for item in src.iterdir():
        (dst / item.name).write_bytes(item.read_bytes())
    return dst


def test_runtime_model_problems(tmp_path, capsys, tiny_runtime_model, speech_wav):
    model = copy_runtime(tiny_runtime_model, tmp_path / "model")
    head = model / "head.onnx"
    head.write_bytes(head.read_bytes()[:-1] + b"\0")              # same size, other bytes
    failure(tmp_path, capsys, speech_wav, model, "damaged")
    head.unlink()
    failure(tmp_path, capsys, speech_wav, model, "lacks head.onnx")
    model = copy_runtime(tiny_runtime_model, tmp_path / "model2")
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    config["params"][0] = "jaw_drop"
    (model / "config.json").write_text(json.dumps(config), encoding="utf-8")
    failure(tmp_path, capsys, speech_wav, model, "jaw_drop")
    config["format"] = "lipsync-runtime/9"
    (model / "config.json").write_text(json.dumps(config), encoding="utf-8")
    failure(tmp_path, capsys, speech_wav, model, "re-export")


def test_torch_backend_refuses_a_runtime_folder(tmp_path, capsys, tiny_runtime_model, speech_wav):
    failure(tmp_path, capsys, speech_wav, tiny_runtime_model, "without --backend torch",
            "--backend", "torch")


def test_runtime_backend_refuses_a_checkpoint(tmp_path, capsys, tiny_checkpoint, speech_wav):
    failure(tmp_path, capsys, speech_wav, tiny_checkpoint, "python -m inference export",
            "--backend", "onnx")
