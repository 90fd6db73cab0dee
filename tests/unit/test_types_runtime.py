"""mypy over what the extension ships besides the add-on: lipsync_core and lipsync_runtime
(the worker, the engine, the audio reader). tests/blender/test_types.py checks the add-on."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_runtime_type_checks(tmp_path):
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "mypy.ini"),
         "--cache-dir", str(tmp_path / ".mypy_cache"), "-p", "lipsync_core", "-p", "lipsync_runtime"],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
