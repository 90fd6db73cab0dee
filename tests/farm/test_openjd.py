"""The OpenJD job template (farm_templates/openjd) run by ``openjd run`` on a two-scene farm job:
two .blend shots (scenes "Demo" and "Shot020", see conftest.py), one task per chunk, the bpy
module's python standing in for ``blender -b --factory-startup --python``.

With CurvesDir the tasks key curves that ``python -m inference batch`` made (no model); without
it a task runs the model's worker itself."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "farm_templates" / "openjd" / "lipsync-blender.yaml"
OPENJD = Path(sys.executable).with_name("openjd")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not OPENJD.exists(), reason="openjd-cli is not installed "
                                 "(pip install -r requirements-farm.txt)"),
              pytest.mark.skipif(importlib.util.find_spec("bpy") is None,
                                 reason="needs the bpy wheel")]


@pytest.fixture(scope="module")
def jobs(shots):
    path = shots.parent / "jobs.json"
    path.write_text(json.dumps({"jobs": [
        {"blend": "shots/sh010.blend", "scene": "Demo", "object": "Face", "strip": "Dialogue",
         "mapping": "arkit"},
        {"blend": "shots/sh020.blend", "scene": "Shot020", "object": "Face",
         "strip": "Dialogue", "mapping": "arkit"}]}), encoding="utf-8")
    return path


def openjd(jobs: Path, out: Path, chunks: str, curves: str = "") -> subprocess.CompletedProcess:
    params = {"JobsFile": jobs, "OutputDir": out, "CurvesDir": curves, "ChunkSize": 1,
              "Chunks": chunks, "RepoDir": ROOT, "BlenderCommand": sys.executable}
    cmd = [str(OPENJD), "run", str(TEMPLATE)]
    for k, v in params.items():
        cmd += ["-p", f"{k}={v}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)


def test_template_is_valid():
    proc = subprocess.run([str(OPENJD), "check", str(TEMPLATE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_plan_gives_one_chunk_per_shot(jobs):
    proc = subprocess.run([sys.executable, str(ROOT / "lipsync_addon" / "batch.py"), "--farm",
                           str(jobs), "--chunk-size", "1", "--plan"], capture_output=True,
                          text=True, timeout=60)
    plan = json.loads(proc.stdout)
    assert plan["chunks"] == 2 and plan["range"] == "0-1"
    proc = subprocess.run([sys.executable, str(ROOT / "lipsync_addon" / "batch.py"), "--farm",
                           str(jobs), "--chunk-size", "4", "--plan"], capture_output=True,
                          text=True, timeout=60)
    assert json.loads(proc.stdout)["range"] == "0-0"          # both shots fit one chunk


def test_two_scene_job_from_cached_curves(jobs, curves, keys_in):
    out = jobs.parent / "out-curves"
    proc = openjd(jobs, out, "0-1", str(curves))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Chunks run: 2" in proc.stdout or "Tasks run: 2" in proc.stdout, proc.stdout[-1500:]
    for chunk, (blend, scene) in enumerate((("sh010", "Demo"), ("sh020", "Shot020"))):
        summary = json.loads((out / f"summary-chunk-{chunk}.json").read_text())
        (job,) = summary["jobs"]
        assert summary["ok"] and job["scene"] == scene and job["keys"] > 1000
        assert job["device"].startswith("curves file")       # no model was loaded
        result = keys_in(out / f"{blend}.blend")
        assert scene in result["scenes"]
        assert result["objects"]["Face"]['key_blocks["jawOpen"].value'] >= 100


def test_a_task_without_curves_runs_the_model(jobs, keys_in):
    out = jobs.parent / "out-model"
    proc = openjd(jobs, out, "1")                             # the second shot only
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    summary = json.loads((out / "summary-chunk-1.json").read_text())
    (job,) = summary["jobs"]
    assert summary["ok"] and job["scene"] == "Shot020"
    assert not job["device"].startswith("curves file")
    assert not (out / "sh010.blend").exists() and (out / "sh020.blend").is_file()
    assert keys_in(out / "sh020.blend")["objects"]["Face"]['key_blocks["mouthClose"].value'] >= 100
