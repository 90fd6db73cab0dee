"""The built extension zip: Blender's validator accepts it, it holds what it should, and it
installs and enables headless into a throw-away user directory (then disables cleanly)."""
import importlib.util
import sys
import zipfile

import pytest

bpy = pytest.importorskip("bpy")

from blender_process import ROOT  # noqa: E402

MODULE = "bl_ext.user_default.lipsync"


def builder():
    spec = importlib.util.spec_from_file_location("build_extension", ROOT / "scripts" /
                                                  "build_extension.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory):
    return builder().build(ROOT, tmp_path_factory.mktemp("dist"))


def test_zip_contents(zip_path):
    assert zip_path.name == "lipsync-0.1.0.zip"
    names = zipfile.ZipFile(zip_path).namelist()
    for need in ("__init__.py", "blender_manifest.toml", "lipsync_addon/batch.py",
                 "lipsync_core/keyplan.py", "inference/worker.py", "assets/mappings/arkit.json",
                 "assets/parameters.json", "requirements.txt"):
        assert need in names, need
    for name in names:
        assert not name.startswith(("tests/", "docs/", "scripts/", "assets/demo/", ".venv/"))
        assert "__pycache__" not in name
    assert zip_path.stat().st_size < 150 * 2**20


def test_install_enable_disable(zip_path):
    import addon_utils

    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default",
                                                      enable_on_install=True)
    assert result == {"FINISHED"}
    assert MODULE in sys.modules
    assert hasattr(bpy.types, "LIPSYNC_PT_panel") and hasattr(bpy.ops.lipsync, "generate")
    prefs = bpy.context.preferences.addons[MODULE].preferences
    assert prefs.device == "AUTO" and prefs.torch_build == "CPU"
    env = sys.modules[MODULE + ".lipsync_addon.environment"]
    assert env.TOP_PACKAGE == MODULE
    assert env.preferences() is not None
    user_dir = env.user_dir()
    assert "lipsync" in str(user_dir) and user_dir.is_dir()
    assert env.venv_dir() == user_dir / "venv"
    # the presets ship in the zip and load from the installed copy
    mapping = sys.modules[MODULE + ".lipsync_core.mapping"]
    assert mapping.preset_names() == ["arkit", "mmd", "oculus", "rhubarb", "vrm", "vroid"]
    addon_utils.disable(MODULE, default_set=True)
    assert not hasattr(bpy.types, "LIPSYNC_PT_panel")
    addon_utils.enable(MODULE, default_set=True)
    assert hasattr(bpy.types, "LIPSYNC_PT_panel")
