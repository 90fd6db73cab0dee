"""Build the Blender extension zip: ``dist/<id>-<version>.zip``, validated, path printed.

Runs under the development venv's ``bpy`` (no ``blender`` binary needed): Blender's bundled
``bl_pkg`` module is the same code as ``blender --command extension build|validate``.

    python scripts/build_extension.py [--source-dir .] [--output-dir dist]

Exit codes: 0 built, 1 failure (one line on stderr).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 150 * 1024 * 1024        # the zip must stay under 150 MB
# The zip must hold these, and none of the development-only folders.
REQUIRED = ("__init__.py", "blender_manifest.toml", "lipsync_addon/__init__.py",
            "lipsync_core/params.py", "inference/__main__.py", "assets/parameters.json")
FORBIDDEN_PREFIXES = ("tests/", "docs/", "scripts/", ".venv/", "data/", "assets/demo/", ".git/")


def _bl_pkg():
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="lipsync-build-"))
    import bpy  # noqa: F401  (puts Blender's scripts/addons_core on sys.path)
    from bl_pkg import bl_extension_cli
    return bl_extension_cli


def _run(cli, args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.cli_extension_handler(args)
    return code, out.getvalue()


def check_zip(path: Path) -> list[str]:
    """Problems with the built zip's contents (empty list if fine)."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    problems = [f"{path.name} lacks {need}." for need in REQUIRED if need not in names]
    problems += [f"{path.name} holds {n}, a development file." for n in names
                 if n.startswith(FORBIDDEN_PREFIXES)]
    if path.stat().st_size >= MAX_BYTES:
        problems.append(f"{path.name} is {path.stat().st_size / 2**20:.0f} MB; keep it under 150 MB.")
    return problems


def build(source_dir: Path, output_dir: Path) -> Path:
    manifest = tomllib.loads((source_dir / "blender_manifest.toml").read_text(encoding="utf-8"))
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{manifest['id']}-{manifest['version']}.zip"
    cli = _bl_pkg()
    code, log = _run(cli, ["validate", str(source_dir)])
    if code != 0:
        raise RuntimeError(f"The manifest does not validate: {log.strip()}")
    code, log = _run(cli, ["build", "--source-dir", str(source_dir),
                           "--output-filepath", str(target)])
    if code != 0 or not target.exists():
        raise RuntimeError(f"Blender's extension build failed: {log.strip()}")
    code, log = _run(cli, ["validate", str(target)])
    if code != 0:
        raise RuntimeError(f"The built zip does not validate: {log.strip()}")
    problems = check_zip(target)
    if problems:
        raise RuntimeError(" ".join(problems))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=ROOT)
    parser.add_argument("--output-dir", "--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    try:
        path = build(args.source_dir.resolve(), args.output_dir.resolve())
    except (RuntimeError, OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        print(f"build_extension: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
