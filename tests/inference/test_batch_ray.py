"""``python -m inference batch --engine ray`` against a local Ray cluster that this module starts
(``ray start --head --block``, two CPUs) and stops after it: the same files as the local engine,
byte for byte, whether the audio travels in the task or is read where it lies."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("ray", reason="the Ray extra is not installed (pip install '.[ray]')")

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "assets" / "demo"
RAY = Path(sys.executable).with_name("ray")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (ROOT / "assets" / "runtime" / "config.json").is_file(),
    reason="no runtime model: run 'make setup' (python -m inference export --out assets/runtime)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The address of a private head node; its whole process group is ended afterwards."""
    tmp = tmp_path_factory.mktemp("ray")
    port = free_port()
    log = open(tmp / "ray.log", "w")
    proc = subprocess.Popen([str(RAY), "start", "--head", "--block", "--port", str(port),
                             "--num-cpus", "2", "--include-dashboard", "false",
                             "--disable-usage-stats", "--temp-dir", str(tmp / "t")],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while "block forever" not in (tmp / "ray.log").read_text(errors="replace"):
            assert proc.poll() is None, (tmp / "ray.log").read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "ray start did not come up in 120 s"
            time.sleep(0.5)
        yield address
    finally:
        try:                                   # ray's own processes live in this group only
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        log.close()


def batch(*args):
    return subprocess.run([sys.executable, "-m", "inference", "batch", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ray_output_is_identical_to_local(cluster, tmp_path):
    wave, sr = sf.read(str(DEMO / "speech_en.wav"), dtype="float32")
    lines = []
    for i in range(8):                  # 4 s lines: more than one pack, so both actors work
        path = tmp_path / f"l{i}.wav"
        sf.write(str(path), wave[int(0.4 * i * sr):int((0.4 * i + 4.0) * sr)], sr)
        lines.append(path.name)
    sf.write(str(tmp_path / "quiet.wav"), np.zeros(8000, np.float32), 16000)
    (tmp_path / "text.wav").write_text("not audio", encoding="utf-8")
    manifest = tmp_path / "m.txt"
    manifest.write_text("\n".join(lines + ["quiet.wav", "text.wav"]) + "\n", encoding="utf-8")

    local = batch(manifest, "-o", tmp_path / "local", "--workers", "2")
    shipped = batch(manifest, "-o", tmp_path / "shipped", "--engine", "ray", "--address",
                    cluster, "--workers", "2", "--ship-audio", "always")
    shared = batch(manifest, "-o", tmp_path / "shared", "--engine", "ray", "--address",
                   cluster, "--workers", "2", "--ship-audio", "never")
    for proc in (local, shipped, shared):
        assert proc.returncode == 1, proc.stderr[-3000:]      # text.wav fails, alone
    ref = json.loads((tmp_path / "local" / "summary.json").read_text())
    for name in ("shipped", "shared"):
        s = json.loads((tmp_path / name / "summary.json").read_text())
        assert s["engine"] == "ray" and s["workers"] == 2
        assert len({r["pack"] for r in s["lines"] if r["pack"] is not None}) >= 2
        assert s["counts"] == ref["counts"] == {"done": 9, "cached": 0, "failed": 1}
        assert s["torch_imported_by_workers"] is False
        for stem in [Path(n).stem for n in lines] + ["quiet"]:
            a = (tmp_path / "local" / f"{stem}.json").read_bytes()
            b = (tmp_path / name / f"{stem}.json").read_bytes()
            assert a == b, f"{name}: {stem} differs from the local engine's"
        text = {r["id"]: r for r in s["lines"]}["text"]
        assert "is not audio" in text["error"] and "text.wav" in text["error"]
        assert {r["id"]: r for r in s["lines"]}["quiet"]["note"] == "silent"
