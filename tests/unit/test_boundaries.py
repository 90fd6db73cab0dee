"""The package boundaries, checked on the source: bpy only in lipsync_addon, torch and
transformers never in lipsync_addon or lipsync_core, inference never in lipsync_addon or
lipsync_core, and bpy never in inference."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {
    "lipsync_core": {"bpy", "torch", "transformers", "inference", "lipsync_addon", "bmesh", "mathutils"},
    "lipsync_addon": {"torch", "transformers", "inference"},
    "inference": {"bpy", "bmesh", "mathutils", "lipsync_addon"},
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


def test_the_walk_sees_relative_imports(tmp_path):
    # the add-on's "from ..lipsync_core import x" resolves to lipsync_core.x, not lipsync_addon
    names = [n for _, n in imported_modules(ROOT / "lipsync_addon" / "__init__.py")] \
        if (ROOT / "lipsync_addon" / "__init__.py").exists() else []
    assert all(not n.startswith("inference") for n in names)
