"""``python -m inference batch`` with the local engine, on the real runtime model
(assets/runtime) and 1-1.5 s cuts of the demo recordings: error isolation, the cache, resume
after a kill, the output formats, and torch staying out of the worker processes."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lipsync_core.curves import read_curves
from lipsync_core.params import PARAMS

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "assets" / "demo"
REST = np.array([p.rest for p in PARAMS], dtype=np.float32)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (ROOT / "assets" / "runtime" / "config.json").is_file(),
    reason="no runtime model: run 'make setup' (python -m inference export --out assets/runtime)")]


def cut(src: Path, start: float, seconds: float, dst: Path) -> Path:
    wave, sr = sf.read(str(src), dtype="float32")
    sf.write(str(dst), wave[int(start * sr):int((start + seconds) * sr)], sr)
    return dst


def batch(*args, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "inference", "batch", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kw)


def summary_of(outdir: Path) -> dict:
    return json.loads((outdir / "summary.json").read_text(encoding="utf-8"))


def by_id(summary: dict) -> dict:
    return {r["id"]: r for r in summary["lines"]}


def leftovers(folder: Path) -> list[str]:
    """Temporary files of an atomic write or link that a run left behind (a killed run may
    leave hidden ones in the cache, which the next run sweeps: see cache.Cache.sweep)."""
    return [str(p.relative_to(folder)) for p in folder.rglob(".*")
            if p.is_file() and p.name.endswith((".tmp", ".link"))]


@pytest.fixture()
def lines(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    cut(DEMO / "speech_en.wav", 0.3, 1.5, audio / "en_1.wav")
    cut(DEMO / "speech_en.wav", 2.0, 1.5, audio / "en_2.wav")
    cut(DEMO / "speech_ja.wav", 0.5, 1.2, audio / "ja_1.wav")
    sf.write(str(audio / "silent.wav"), np.zeros(16000, np.float32), 16000)
    (audio / "notaudio.wav").write_text("this is a text file named .wav\n", encoding="utf-8")
    manifest = tmp_path / "lines.csv"
    manifest.write_text("audio,id,language,start\n"
                        "audio/en_1.wav,,en\naudio/gone.wav,,en\naudio/en_2.wav,,en\n"
                        "audio/notaudio.wav,,en\naudio/silent.wav,,en\naudio/ja_1.wav,,ja\n"
                        "audio/en_1.wav,late,en,30\n",
                        encoding="utf-8")
    return manifest


def test_bad_lines_fail_alone_and_a_rerun_takes_everything_from_the_cache(lines, tmp_path):
    out = tmp_path / "out"
    proc = batch(lines, "-o", out)
    assert proc.returncode == 1, proc.stderr
    s = summary_of(out)
    rec = by_id(s)
    assert s["counts"] == {"done": 4, "cached": 0, "failed": 3}
    assert "at or past the end of 'en_1.wav'" in rec["late"]["error"]    # found before any work
    assert rec["audio/gone"]["status"] == "failed" and "does not exist" in rec["audio/gone"]["error"]
    assert rec["audio/notaudio"]["status"] == "failed"
    assert "is not audio" in rec["audio/notaudio"]["error"]
    # silence is a valid resting mouth, not an error
    assert rec["audio/silent"]["status"] == "done" and rec["audio/silent"]["note"] == "silent"
    silent = read_curves(out / "audio" / "silent.json")
    assert silent.num_frames == 50 and np.allclose(silent.frames, REST, atol=1e-4)
    speech = read_curves(out / "audio" / "en_1.json")
    assert speech.fps == 50.0 and abs(speech.num_frames - 75) <= 1
    assert np.abs(speech.frames - REST).max() > 0.2          # the mouth moves on speech
    assert rec["audio/ja_1"]["language"] == "ja" and rec["audio/en_1"]["duration"] > 1.4
    assert s["torch_imported_by_workers"] is False and s["workers"] >= 1
    assert leftovers(out) == []
    inode = (out / "audio" / "en_1.json").stat().st_ino

    again = batch(lines, "-o", out)                           # nothing changed
    assert again.returncode == 1
    s2 = summary_of(out)
    assert s2["counts"] == {"done": 0, "cached": 4, "failed": 3}
    # bad lines fail before any work: no worker was even started, nothing was rewritten
    assert s2["workers"] == 0 and by_id(s2)["audio/notaudio"]["status"] == "failed"
    assert (out / "audio" / "en_1.json").stat().st_ino == inode

    cut(DEMO / "speech_en.wav", 4.0, 1.5, tmp_path / "audio" / "en_2.wav")   # one line changes
    third = batch(lines, "-o", out)
    s3 = by_id(summary_of(out))
    assert third.returncode == 1
    # the changed line is computed again with its pack-mates (they share an encoder window);
    # every other line comes from the cache
    pack = s3["audio/en_2"]["pack"]
    done = sorted(k for k, r in s3.items() if r["status"] == "done")
    assert "audio/en_2" in done and done == sorted(k for k, r in s3.items() if r["pack"] == pack)
    assert sum(r["status"] == "cached" for r in s3.values()) == 4 - len(done)


def test_formats_and_frame_rates(tmp_path):
    clip = cut(DEMO / "speech_en.wav", 1.0, 1.0, tmp_path / "hello.wav")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"audio": "hello.wav", "id": "h24", "fps": 24}) + "\n"
                        + json.dumps({"audio": str(clip), "id": "h50"}) + "\n", encoding="utf-8")
    results = {}
    for fmt in ("json", "csv", "npz", "livelink"):
        proc = batch(manifest, "-o", tmp_path / fmt, "--format", fmt, "--workers", "1")
        assert proc.returncode == 0, proc.stderr
        results[fmt] = tmp_path / fmt
    ref = read_curves(results["json"] / "h24.json")
    assert ref.fps == 24.0 and ref.num_frames == 24
    for fmt in ("csv", "npz"):
        other = read_curves(results[fmt] / f"h24.{fmt}")
        assert other.fps == pytest.approx(24.0)
        np.testing.assert_allclose(other.frames, ref.frames, atol=2e-6)
    from inference.corpus.livelink import read_livelink_csv
    times, shapes, fps = read_livelink_csv(results["livelink"] / "h50.livelink.csv")
    assert fps == 60.0 and len(times) == 60 and "jawopen" in shapes   # livelink's default 60 fps


def test_a_killed_run_resumes_where_it_stopped(tmp_path):
    audio = tmp_path / "a"
    audio.mkdir()
    names = []
    for i in range(16):                 # 4 s lines: 4-7 share an encoder window (a pack)
        src = DEMO / ("speech_en.wav" if i % 2 == 0 else "speech_ja.wav")
        names.append(cut(src, 0.1 * i, 4.0, audio / f"l{i:02d}.wav").name)
    manifest = tmp_path / "m.txt"
    manifest.write_text("\n".join(f"a/{n}" for n in names) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "inference", "batch", str(manifest), "-o",
                             str(out), "--workers", "1"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    try:                                # at least one whole pack is written by then
        while len(list((out / "a").glob("*.json"))) < 8 if (out / "a").is_dir() else True:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)                   # the run and its worker, at once
        proc.wait()
    finished = {p.name: p.stat().st_ino for p in (out / "a").glob("*.json")}
    assert 8 <= len(finished) < 16
    assert not (out / "summary.json").exists()
    # outputs are whole or absent: no temporary of the killed run outside the cache
    assert [p for p in leftovers(out) if not p.startswith(".cache")] == []
    for name in finished:
        assert read_curves(out / "a" / name).num_frames == 200

    rerun = batch(manifest, "-o", out)
    assert rerun.returncode == 0, rerun.stderr
    s = summary_of(out)
    counts = s["counts"]
    assert counts["cached"] >= 4 and counts["done"] + counts["cached"] == 16
    for record in s["lines"]:           # whole packs were kept, not rewritten
        if record["status"] == "cached":
            assert (out / record["output"]).stat().st_ino == finished[Path(record["output"]).name]
    assert leftovers(out / "a") == []
    # what the resumed run wrote is what one uninterrupted run writes
    whole = tmp_path / "whole"
    assert batch(manifest, "-o", whole).returncode == 0
    for name in names:
        stem = name.replace(".wav", ".json")
        assert (out / "a" / stem).read_bytes() == (whole / "a" / stem).read_bytes(), stem


def test_usage_and_whole_run_errors(tmp_path):
    proc = batch(tmp_path / "none.txt", "-o", tmp_path / "o")
    assert proc.returncode == 1 and "does not exist" in proc.stderr
    proc = batch(tmp_path / "none.txt", "-o", tmp_path / "o", "--address", "auto")
    assert proc.returncode == 2 and "are for --engine ray" in proc.stderr
    m = tmp_path / "m.txt"
    m.write_text("x.wav\n", encoding="utf-8")
    proc = batch(m, "-o", tmp_path / "o", "--model", tmp_path)
    assert proc.returncode == 1 and "runtime model" in proc.stderr
