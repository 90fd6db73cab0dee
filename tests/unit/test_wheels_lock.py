"""wheels.lock, the one place the bundled wheels are pinned: complete for every platform and
Blender Python, resolved (file and sha256), and the manifest's wheels/platforms say the same."""
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEEDED = {"onnxruntime", "soundfile", "cffi", "pycparser", "soxr"}


def fetch_wheels():
    spec = importlib.util.spec_from_file_location("fetch_wheels", ROOT / "scripts" /
                                                  "fetch_wheels.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fetch_wheels"] = module              # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_platform_and_python_has_the_runtime_packages():
    fw = fetch_wheels()
    _, pins = fw.read_lock()
    by_platform = {}
    for pin in pins:
        name = pin.requirement.split("==")[0].replace("-directml", "")
        by_platform.setdefault(pin.platform, {}).setdefault(name, set()).add(pin.python)
        assert re.fullmatch(r"[0-9a-f]{64}", pin.sha256), pin
        assert pin.file.endswith(".whl") and pin.file.lower().startswith(
            pin.requirement.split("==")[0].replace("-", "_").lower()), pin
        assert "-" + pin.requirement.split("==")[1] + "-" in pin.file, pin
    assert set(by_platform) == set(fw.PLATFORMS)
    for platform, packages in by_platform.items():
        assert set(packages) == NEEDED, platform
        # compiled packages: a wheel per Blender Python (3.11 for 4.2-5.0, 3.13 for 5.1+), except
        # on Intel Macs, whose last Blender (4.5) has 3.11 only
        pythons = {"3.11"} if platform == "macos-x64" else {"3.11", "3.13"}
        for name in ("onnxruntime", "cffi", "soxr"):
            assert packages[name] == pythons, (platform, name)
    windows = [p.requirement for p in pins if p.platform == "windows-x64"]
    assert any(r.startswith("onnxruntime-directml==") for r in windows)


def test_manifest_matches_the_lock():
    fw = fetch_wheels()
    _, pins = fw.read_lock()
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text(encoding="utf-8"))
    assert manifest["wheels"] == fw.manifest_wheels(pins)
    assert manifest["platforms"] == fw.manifest_platforms(pins)
    assert "network" not in manifest.get("permissions", {})


def test_requirements_pin_the_bundled_onnxruntime():
    fw = fetch_wheels()
    _, pins = fw.read_lock()
    linux = {p.requirement for p in pins if p.platform == "linux-x64"}
    dev = re.search(r"^onnxruntime==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert dev and f"onnxruntime=={dev.group(1)}" in linux
