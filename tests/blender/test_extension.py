"""The built extension: one zip per platform, each validated by Blender, holding its own
platform's wheels and the runtime model and none of the development files; the build refuses
without the runtime model; the Linux zip installs and enables headless into a throw-away user
directory, Blender installs its wheels, and it disables cleanly.

Needs assets/runtime/ (make setup) and wheels/ (make wheels); `make test` makes both.
"""
import importlib.util
import os
import sys
import tomllib
import zipfile

import pytest

bpy = pytest.importorskip("bpy")

from blender_process import ROOT  # noqa: E402

MODULE = "bl_ext.user_default.lipsync"
PLATFORMS = ["linux-x64", "linux-arm64", "windows-x64", "macos-arm64", "macos-x64"]
# the wheel every zip must carry for onnxruntime, per platform (wheels.lock)
ORT = {"linux-x64": "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl",
       "linux-arm64": "onnxruntime-1.32.0-cp313-cp313-manylinux_2_28_aarch64.whl",
       "windows-x64": "onnxruntime_directml-1.24.4-cp313-cp313-win_amd64.whl",
       "macos-arm64": "onnxruntime-1.32.0-cp311-cp311-macosx_14_0_arm64.whl",
       "macos-x64": "onnxruntime-1.23.2-cp311-cp311-macosx_13_0_x86_64.whl"}
PLATFORM_TAG = {"linux-x64": "x86_64", "linux-arm64": "aarch64", "windows-x64": "win_amd64",
                "macos-arm64": "arm64", "macos-x64": "x86_64"}


def builder():
    spec = importlib.util.spec_from_file_location("build_extension", ROOT / "scripts" /
                                                  "build_extension.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    return builder().build(ROOT, tmp_path_factory.mktemp("dist"))


def test_one_validated_zip_per_platform(zips):
    assert sorted(zips) == sorted(PLATFORMS)
    build = builder()
    cli = build._bl_pkg()
    for platform, path in zips.items():
        code, log = build._run(cli, ["validate", str(path)])          # Blender's own validator
        assert code == 0, log
        assert path.name == f"lipsync-0.1.0-{platform.replace('-', '_')}.zip"
        assert path.stat().st_size < 120 * 2**20, f"{path.name}: {path.stat().st_size} bytes"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_zip_contents(zips, platform):
    zf = zipfile.ZipFile(zips[platform])
    names = zf.namelist()
    for need in ("__init__.py", "blender_manifest.toml", "lipsync_addon/environment.py",
                 "lipsync_core/keyplan.py", "lipsync_runtime/worker.py",
                 "lipsync_runtime/__main__.py", "assets/mappings/arkit.json",
                 "assets/parameters.json", "assets/runtime/config.json",
                 "assets/runtime/encoder.onnx", "assets/runtime/head.onnx"):
        assert need in names, need
    config = __import__("json").loads(zf.read("assets/runtime/config.json"))
    licence = config["licence"]["encoder_text"]
    assert f"assets/runtime/{licence}" in names and "MIT" in zf.read(
        f"assets/runtime/{licence}").decode("utf-8", "replace").upper()
    for name in names:
        assert not name.startswith(("tests/", "docs/", "scripts/", "inference/", "assets/demo/",
                                    "assets/model/", "assets/sentences/", ".venv", "wheels.lock",
                                    "data/", "out/", "build/")), name
        assert "__pycache__" not in name and not name.endswith(".pyc"), name
    wheels = sorted(n for n in names if n.endswith(".whl"))
    assert ORT[platform] in [w.rpartition("/")[2] for w in wheels]
    for wheel in wheels:                                  # its own platform's wheels only
        tag = wheel[:-4].rsplit("-", 1)[1]
        assert tag == "any" or PLATFORM_TAG[platform] in tag, wheel
    runtime = {w.rpartition("/")[2].split("-")[0].lower() for w in wheels}
    assert {"soundfile", "cffi", "pycparser", "soxr"} <= runtime
    assert ("onnxruntime_directml" in runtime) == (platform == "windows-x64")
    # both Blender Pythons, except Intel Macs, whose last Blender (4.5) has Python 3.11 only
    pythons = {w.rsplit("-", 3)[1] for w in wheels if "onnxruntime" in w}
    assert pythons == ({"cp311"} if platform == "macos-x64" else {"cp311", "cp313"})
    manifest = tomllib.loads(zf.read("blender_manifest.toml").decode("utf-8"))
    assert manifest["build"]["generated"]["platforms"] == [platform]
    assert sorted(w.removeprefix("./") for w in manifest["build"]["generated"]["wheels"]) == wheels
    assert "network" not in manifest.get("permissions", {})


def test_build_refuses_without_the_runtime_model(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "blender_manifest.toml").write_bytes((ROOT / "blender_manifest.toml").read_bytes())
    with pytest.raises(RuntimeError, match=r"assets/runtime/config.json is missing: run "
                                           r"`make runtime`"):
        builder().build(source, tmp_path / "dist")


def test_install_enable_disable(zips):
    import addon_utils

    result = bpy.ops.extensions.package_install_files(filepath=str(zips["linux-x64"]),
                                                      repo="user_default", enable_on_install=True)
    assert result == {"FINISHED"}
    assert MODULE in sys.modules
    assert hasattr(bpy.types, "LIPSYNC_PT_panel") and hasattr(bpy.ops.lipsync, "generate")
    prefs = bpy.context.preferences.addons[MODULE].preferences
    assert prefs.device == "AUTO" and prefs.python_path == "" and prefs.model_dir == ""
    env = sys.modules[MODULE + ".lipsync_addon.environment"]
    assert env.TOP_PACKAGE == MODULE
    assert (env.RUNTIME_MODEL / "encoder.onnx").is_file()
    user_dir = env.user_dir()
    assert "lipsync" in str(user_dir) and user_dir.is_dir()
    assert env.log_path().parent == user_dir
    # Blender installed this Python's wheels into its extensions site-packages, which the
    # worker gets on PYTHONPATH
    tag = "cp{}{}".format(*sys.version_info[:2])
    paths = env.wheel_paths()
    assert paths and all(os.path.isdir(p) for p in paths)
    installed = {n.lower() for p in paths for n in os.listdir(p)}
    assert {"onnxruntime", "soundfile.py", "soxr", "cffi", "pycparser"} <= installed, installed
    assert env.worker_config().paths == tuple(paths)
    assert any(n.startswith("_cffi_backend." + ("cpython-" if os.name != "nt" else ""))
               and tag[2:] in n for n in installed), installed     # this Python's build
    # the presets ship in the zip and load from the installed copy
    mapping = sys.modules[MODULE + ".lipsync_core.mapping"]
    assert {"arkit", "mmd", "vrm"} <= set(mapping.preset_names())
    addon_utils.disable(MODULE, default_set=True)
    assert not hasattr(bpy.types, "LIPSYNC_PT_panel")
    addon_utils.enable(MODULE, default_set=True)
    assert hasattr(bpy.types, "LIPSYNC_PT_panel")
