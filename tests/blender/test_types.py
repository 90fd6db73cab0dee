"""mypy over the add-on against fake-bpy-module-5-0 (stubs; see mypy.ini).

The add-on imports the core relatively (``from ..lipsync_core import ...``), so mypy must see the
repository root as a package: the test links the root under a fixed package name in a temporary
folder and checks ``-p lipsync_ext.lipsync_addon`` from there.
"""
import os
import subprocess
import sys

import pytest

from blender_process import ROOT


@pytest.mark.slow
def test_addon_type_checks(tmp_path):
    pytest.importorskip("mypy")
    if not (ROOT / ".venv").exists() and not any(p.endswith("site-packages") for p in sys.path):
        pytest.skip("no site-packages to find bpy-stubs in")
    (tmp_path / "lipsync_ext").symlink_to(ROOT, target_is_directory=True)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "mypy.ini"),
         "--cache-dir", str(tmp_path / ".mypy_cache"),
         "-p", "lipsync_ext.lipsync_addon", "-m", "lipsync_ext.lipsync_core.mapping",
         "-m", "lipsync_ext.lipsync_core.keyplan"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "MYPYPATH": ""})
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
