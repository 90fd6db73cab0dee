"""The built Linux zip in stock Blender, offline: install, enable, Generate, keys land.

Each Python in ``LIPSYNC_BPY_PYTHONS`` (os.pathsep-separated; ``make test`` passes the four
stock venvs: bpy 4.2.23, 4.5.15, 5.0.1 on Python 3.11 and 5.2.3 on 3.13) holds the bpy wheel and
what it pulls in, and no onnxruntime, torch or transformers: everything the worker needs must
come from the zip. Each run is a fresh process under ``unshare -n`` (no network) with a
throw-away BLENDER_USER_RESOURCES; stock_blender_child.py does the Blender side. 4.2's wheel has
no audio, so it opens a .blend with the sound strip saved by the 4.5 wheel (4.2 reads 4.5 files).
Real speech: assets/demo/speech_en.wav (Piper).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("stock_blender_child.py")
SPEECH = ROOT / "assets" / "demo" / "speech_en.wav"
PYTHONS = [p for p in os.environ.get("LIPSYNC_BPY_PYTHONS", "").split(os.pathsep) if p]
TIMEOUT_S = 600

pytestmark = pytest.mark.skipif(not PYTHONS, reason="set LIPSYNC_BPY_PYTHONS (make test does) to "
                                "the stock bpy venvs")


def run_child(python: str, *args: str, user: Path, offline: bool = True) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "LIPSYNC_PYTHON", "LIPSYNC_MODEL", "LIPSYNC_BLENDER_CHILD",
                        "VIRTUAL_ENV")}
    user.mkdir(parents=True, exist_ok=True)
    env["BLENDER_USER_RESOURCES"] = str(user)
    cmd = [python, str(CHILD), *args]
    if offline:
        cmd = ["unshare", "-n", *cmd]
    proc = subprocess.run(cmd, cwd=str(user), env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert proc.returncode == 0 and lines, (f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                                            + proc.stdout[-4000:] + proc.stderr[-4000:])
    return json.loads(lines[-1])


@pytest.fixture(scope="module")
def linux_zip(tmp_path_factory) -> Path:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode:
        pytest.fail("`unshare -n` is needed to cut the network (run the tests as root).")
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_extension
    zips = build_extension.build(ROOT, tmp_path_factory.mktemp("dist"))
    return zips["linux-x64"]


@pytest.fixture(scope="module")
def keys_json(tmp_path_factory) -> Path:
    from lipsync_core.mapping import ARKIT_52
    path = tmp_path_factory.mktemp("keys") / "arkit.json"
    path.write_text(json.dumps(list(ARKIT_52)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def probes(tmp_path_factory) -> dict[str, dict]:
    user = tmp_path_factory.mktemp("probe")
    return {python: run_child(python, "probe", user=user) for python in PYTHONS}


@pytest.fixture(scope="module")
def legacy_blend(tmp_path_factory, probes, keys_json) -> Path:
    """The face and a sound strip saved by a 4.3-4.9 wheel with audio (4.2 opens those)."""
    makers = [p for p, info in probes.items()
              if info["audio"] and (4, 3) <= tuple(info["version"][:2]) < (5, 0)]
    if not makers:
        pytest.fail("No bpy 4.3-4.9 wheel with audio in LIPSYNC_BPY_PYTHONS to save the 4.2 "
                    "fixture (make test adds the 4.5.15 venv).")
    folder = tmp_path_factory.mktemp("fixture")
    wav = shutil.copy(SPEECH, folder / "speech_en.wav")
    out = folder / "face_4_5.blend"
    run_child(makers[0], "fixture", "--out", str(out), "--wav", str(wav), "--keys",
              str(keys_json), user=folder)
    return out


@pytest.mark.parametrize("python", PYTHONS)
def test_zip_generates_offline_in_stock_blender(python, probes, linux_zip, keys_json,
                                                tmp_path, request):
    info = probes[python]
    assert not info["onnxruntime"], f"{python} has onnxruntime of its own; the venv must be stock"
    wav = shutil.copy(SPEECH, tmp_path / "speech_en.wav")
    args = ["generate", "--zip", str(linux_zip), "--wav", str(wav), "--keys", str(keys_json)]
    if not info["audio"]:
        args += ["--blend", str(request.getfixturevalue("legacy_blend"))]
    result = run_child(python, *args, user=tmp_path / "user")
    print(json.dumps({k: result[k] for k in ("version", "install_s", "generate_s",
                                             "second_generate_s", "last_device")}))

    assert result["install"] == ["FINISHED"] and result["generate"] == ["FINISHED"], result
    assert "keys on 29 shape keys" in result["report"], result["report"]
    keyed = result["keyed"]
    assert len(keyed) == 29
    assert keyed["jawOpen"][1] > 0.2 and keyed["mouthClose"][1] > 0.05   # the mouth moved
    worker = result["worker"]
    # Blender's own Python ran the worker, from the installed copy, with the wheels Blender
    # installed for the extension on its path (nothing came from the stock venv)
    assert worker["python"] == result["python"]
    assert worker["root"] == result["installed_root"] != str(ROOT)
    assert any(p.endswith("site-packages") and "extensions" in p for p in worker["paths"])
    assert worker["log"].endswith("worker.log") and Path(worker["log"]).is_file()
    assert "CPU" in result["last_device"] and result["last_provider"] == "CPUExecutionProvider"
    assert "CPUExecutionProvider" in result["providers"]
    assert result["second_generate"] == ["FINISHED"]
    assert result["check"] == ["FINISHED"] and "Worker ready on CPU" in result["check_summary"]
    assert result["worker_alive_after_disable"] is False
