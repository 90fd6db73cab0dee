"""The package boundaries, checked on the source: bpy only in lipsync_addon; torch and
transformers only in inference (training, export, the torch backend), never in what ships
(lipsync_runtime, lipsync_core, lipsync_addon); inference never imported by what ships; and bpy
never in inference."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {
    "lipsync_core": {"bpy", "torch", "transformers", "inference", "lipsync_addon", "bmesh", "mathutils"},
    # ONNX Runtime sessions live in the worker process: creating one flushes denormal floats on
    # the creating thread (lipsync_runtime/providers.py), which must not happen inside Blender
    "lipsync_addon": {"torch", "transformers", "inference", "onnxruntime"},
    "inference": {"bpy", "bmesh", "mathutils", "lipsync_addon"},
    # what the extension ships and runs with Blender's own Python: ONNX Runtime and numpy only
    "lipsync_runtime": {"bpy", "bmesh", "mathutils", "torch", "transformers", "safetensors",
                        "huggingface_hub", "inference", "lipsync_addon"},
}


def imported_modules(path: Path):
    """(line, absolute-ish module name) for every import; relative imports resolved by name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = path.relative_to(ROOT).parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                parts = list(base) + ([node.module] if node.module else [])
                if not parts:          # "from .. import x" at the repository root
                    parts = [a.name for a in node.names]
                if not node.module:
                    for alias in node.names:
                        yield node.lineno, ".".join(list(base) + [alias.name])
                    continue
                yield node.lineno, ".".join(parts)
            else:
                yield node.lineno, node.module or ""


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_crosses_a_boundary(package):
    crossings = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, name in imported_modules(path):
            top = name.split(".")[0]
            if top in FORBIDDEN[package]:
                crossings.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not crossings, "\n".join(crossings)


def test_the_walk_sees_relative_and_lazy_imports(tmp_path, monkeypatch):
    # A relative import resolves against its package, and an import inside a function counts:
    # both must be seen, or a crossing could hide behind them.
    package = tmp_path / "lipsync_runtime"
    package.mkdir()
    source = package / "probe.py"
    source.write_text("from ..inference import heads\n"
                      "def later():\n    import torch.nn\n", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    names = [name for _, name in imported_modules(source)]
    assert names == ["inference", "torch.nn"]
    assert {n.split(".")[0] for n in names} <= FORBIDDEN["lipsync_runtime"]
