"""The add-on on other Blender versions: re-runs the bpy-only test modules under each
interpreter listed in ``LIPSYNC_BPY_PYTHONS`` (os.pathsep-separated). ``make test`` passes the
four stock venvs (bpy 4.2.23, 4.5.15, 5.0.1 on Python 3.11, bpy 5.2.3 on 3.13), which hold the
bpy wheel and what it pulls in only; pytest for these runs lies in the venv's ``harness/``
folder and is put on PYTHONPATH here. Skipped when the variable is empty: the 5.0 wheel in the
development venv is the default. Tests that need audio (4.2's wheel has none), Piper or
onnxruntime skip there; the installed zip's own run is test_stock_blender.py."""
import os
import subprocess
from pathlib import Path

import pytest

from blender_process import ROOT

MODULES = ("tests/blender/test_addon.py", "tests/blender/test_extension.py",
           "tests/blender/test_legacy_blender.py", "tests/blender/test_environment.py")
PYTHONS = [p for p in os.environ.get("LIPSYNC_BPY_PYTHONS", "").split(os.pathsep) if p]


@pytest.mark.skipif(not PYTHONS, reason="set LIPSYNC_BPY_PYTHONS to test other Blender wheels")
@pytest.mark.parametrize("python", PYTHONS)
def test_bpy_modules_under(python, tmp_path):
    harness = Path(python).parent.parent / "harness"       # <venv>/bin/python -> <venv>/harness
    failures = []
    for module in MODULES:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["BLENDER_USER_RESOURCES"] = str(tmp_path / module.replace("/", "_"))
        env["LIPSYNC_BLENDER_CHILD"] = "1"
        if harness.is_dir():
            env["PYTHONPATH"] = str(harness)
        proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                               module], cwd=str(ROOT), env=env, capture_output=True, text=True,
                              timeout=900)
        if proc.returncode != 0:
            failures.append(f"{module} under {python}:\n" + proc.stdout[-6000:]
                            + proc.stderr[-2000:])
    assert not failures, "\n".join(failures)
