"""The Flamenco job type (farm_templates/flamenco/lipsync_batch.js) compiled under node by a
harness that implements Flamenco's documented job-compiler API (flamenco_harness.js), its task
commands checked, then run for real: each ``blender-render`` command with the bpy module's
python standing in for Blender (``{blender} {blenderArgs} FILE.blend --python batch.py -- ARGS``
becomes ``python batch.py -- --blend FILE.blend ARGS``), in dependency order."""
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "farm_templates" / "flamenco" / "lipsync_batch.js"
HARNESS = Path(__file__).with_name("flamenco_harness.js")
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="needs node (the job compiler is JavaScript)")


def compile_job(tmp_path: Path, **settings) -> dict:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings), encoding="utf-8")
    proc = subprocess.run([NODE, str(HARNESS), str(SCRIPT), str(path)], capture_output=True,
                          text=True, timeout=60)
    result = json.loads(proc.stdout)
    assert (proc.returncode == 0) == ("error" not in result), proc.stderr
    return result


def test_jobs_are_chunked_and_chunks_of_one_file_are_chained(tmp_path):
    jobs = [{"object": "A", "strip": "s1"}, {"object": "B", "strip": "s2"},
            {"object": "C", "strip": "s3", "scene": "Alt"},
            {"object": "A", "strip": "s4", "blend": "/farm/sh020.blend"}]
    result = compile_job(tmp_path, jobs=json.dumps(jobs), chunk_size=2,
                         blendfile="/farm/sh010.blend", output_dir="/farm/out",
                         addon_dir="/opt/lipsync", curves_dir="/farm/curves")
    tasks = result["tasks"]
    assert [t["name"] for t in tasks] == ["lipsync-sh010.blend-1of2", "lipsync-sh010.blend-2of2",
                                          "lipsync-sh020.blend-1of1"]
    assert [t["dependencies"] for t in tasks] == [[], ["lipsync-sh010.blend-1of2"], []]
    assert {t["type"] for t in tasks} == {"blender"}
    first, second, other = ((t["commands"][0]) for t in tasks)
    assert first["name"] == "blender-render"
    p = first["parameters"]
    assert (p["exe"], p["exeArgs"], p["argsBefore"]) == ("{blender}", "{blenderArgs}", [])
    assert p["blendfile"] == "/farm/sh010.blend"
    assert second["parameters"]["blendfile"] == "/farm/out/sh010.blend"   # continues chunk 1
    assert other["parameters"]["blendfile"] == "/farm/sh020.blend"
    args = p["args"]
    assert args[:3] == ["--python", "/opt/lipsync/lipsync_addon/batch.py", "--"]
    assert json.loads(args[args.index("--jobs") + 1]) == jobs[:2]
    assert json.loads(second["parameters"]["args"][4]) == [jobs[2]]
    assert json.loads(other["parameters"]["args"][4]) == [{"object": "A", "strip": "s4"}]
    assert args[args.index("--output") + 1] == "/farm/out/sh010.blend"
    assert args[args.index("--curves") + 1] == "/farm/curves"
    assert "--keep-going" in args and "--json" in args
    assert args[-2:] == ["--mapping", "arkit"]                    # extra_args' default


def test_bad_settings_are_one_sentence(tmp_path):
    base = dict(blendfile="/f.blend", output_dir="/o", addon_dir="/a")
    assert "not JSON" in compile_job(tmp_path, jobs="[{", **base)["error"]
    assert "has no 'object'" in compile_job(tmp_path, jobs='[{"strip": "x"}]', **base)["error"]
    assert "non-empty" in compile_job(tmp_path, jobs="[]", **base)["error"]
    assert "output_dir is missing" in compile_job(tmp_path, jobs='[{"object": "A"}]',
                                                  blendfile="/f.blend", addon_dir="/a")["error"]


def run_task(command: dict) -> dict:
    """A blender-render command with the bpy module's python standing in for Blender."""
    p = command["parameters"]
    args = p["args"]
    script = args[args.index("--python") + 1]
    rest = args[args.index("--") + 1:]
    proc = subprocess.run([sys.executable, script, "--", "--blend", p["blendfile"], *rest],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)                                # --json: stdout is JSON only


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs the bpy wheel")
def test_compiled_tasks_run_and_chained_chunks_keep_each_others_keys(tmp_path, shots, curves,
                                                                     keys_in):
    out = tmp_path / "out"
    jobs = [{"object": "Face", "strip": "Dialogue", "scene": "Demo"},
            {"object": "Face2", "strip": "Dialogue", "scene": "Demo"},
            {"object": "Face", "strip": "Dialogue", "scene": "Shot020",
             "blend": str(shots / "sh020.blend")}]
    result = compile_job(tmp_path, jobs=json.dumps(jobs), chunk_size=1,
                         blendfile=str(shots / "sh010.blend"), output_dir=str(out),
                         addon_dir=str(ROOT), curves_dir=str(curves))
    done: set[str] = set()
    for task in result["tasks"]:                               # listed in dependency order
        assert set(task["dependencies"]) <= done
        summary = run_task(task["commands"][0])
        assert summary["ok"] and summary["jobs"][0]["device"].startswith("curves file")
        done.add(task["name"])
    sh010 = keys_in(out / "sh010.blend")["objects"]
    assert sh010["Face"]['key_blocks["jawOpen"].value'] >= 100       # chunk 1's keys survived
    assert sh010["Face2"]['key_blocks["jawOpen"].value'] >= 100      # chunk 2's
    sh020 = keys_in(out / "sh020.blend")
    assert "Shot020" in sh020["scenes"] and sh020["objects"]["Face"]
