"""The shipped runtime model runs on the oldest onnxruntime a zip bundles (wheels.lock: the macOS
x64 zip's), in a Python holding only numpy and the runtime's packages, and gives the same curves
as the development venv's onnxruntime. A future export with operators that release lacks fails
here instead of on an Intel Mac.

``LIPSYNC_ORT_OLDEST_PYTHON`` is that Python (``make test`` builds .venv-ort-oldest); skipped
when unset.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = os.environ.get("LIPSYNC_ORT_OLDEST_PYTHON", "")
SPEECH = ROOT / "assets" / "demo" / "speech_en.wav"
PROBE = """
import json, sys
import numpy as np, onnxruntime
from lipsync_runtime.engine import load_engine
engine = load_engine(None, device="cpu")
curves = engine.predict(sys.argv[1])
np.save(sys.argv[2], np.asarray(curves.frames, dtype=np.float32))
print(json.dumps({"onnxruntime": onnxruntime.__version__, "device": engine.device_description}))
"""


def oldest_in_lock() -> str:
    versions = re.findall(r"^\S+\s+3\.\d+\s+onnxruntime==(\S+)\s", (ROOT / "wheels.lock")
                          .read_text(), re.M)
    return min(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


@pytest.mark.skipif(not PYTHON, reason="set LIPSYNC_ORT_OLDEST_PYTHON (make test does)")
def test_shipped_model_runs_on_the_oldest_bundled_onnxruntime(tmp_path):
    if not (ROOT / "assets" / "runtime" / "config.json").is_file():
        pytest.fail("assets/runtime is missing: run `make runtime`.")
    out = tmp_path / "frames.npy"
    env = {k: v for k, v in os.environ.items() if k not in ("LIPSYNC_RUNTIME_MODEL",)}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([PYTHON, "-c", PROBE, str(SPEECH), str(out)], cwd=str(tmp_path),
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["onnxruntime"] == oldest_in_lock(), info
    old = np.load(out)

    from lipsync_runtime.engine import load_engine
    new = np.asarray(load_engine(None, device="cpu").predict(str(SPEECH)).frames)
    assert old.shape == new.shape and old.shape[1] == 26
    assert float(np.abs(old - new).max()) <= 1e-3
