"""Build the Blender extension: one validated zip per platform, ``dist/<id>-<version>-<platform>.zip``.

Runs under the development venv's ``bpy`` (no ``blender`` binary needed): Blender's bundled
``bl_pkg`` module is the same code as ``blender --command extension build --split-platforms``
and ``validate``. Each zip carries its own platform's wheels (from ``wheels/``, pinned in
``wheels.lock``), the runtime model (``assets/runtime/``), lipsync_runtime/, lipsync_core/ and
lipsync_addon/; training code, the torch checkpoint, tests and docs stay out.

    python scripts/build_extension.py [--source-dir .] [--output-dir dist]

Prints one line per zip (path, size). Exit codes: 0 built, 1 failure (one line on stderr).
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 120 * 1024 * 1024        # each zip must stay under 120 MB (the aim is 80 MB)
AIM_BYTES = 80 * 1024 * 1024
RUNTIME_DIR = "assets/runtime"
RUNTIME_FILES = (f"{RUNTIME_DIR}/config.json", f"{RUNTIME_DIR}/encoder.onnx",
                 f"{RUNTIME_DIR}/head.onnx")      # plus every file its config.json lists
# Every zip must hold these, and none of the development-only folders.
REQUIRED = ("__init__.py", "blender_manifest.toml", "lipsync_addon/__init__.py",
            "lipsync_core/params.py", "lipsync_runtime/__main__.py", "assets/parameters.json",
            "assets/mappings/arkit.json", *RUNTIME_FILES)
FORBIDDEN_PREFIXES = ("tests/", "docs/", "scripts/", ".venv", "data/", "assets/demo/",
                      "assets/sentences/", "assets/model/", "inference/", "farm_templates/",
                      ".git/", "out/",
                      "dist/", "build/")
FORBIDDEN_FILES = ("Makefile", "README.md", "wheels.lock", "pytest.ini", "mypy.ini")


def _bl_pkg():
    if "BLENDER_USER_RESOURCES" not in os.environ:    # a throw-away user folder, gone at exit
        folder = tempfile.mkdtemp(prefix="lipsync-build-")
        atexit.register(shutil.rmtree, folder, True)
        os.environ["BLENDER_USER_RESOURCES"] = folder
    import bpy  # noqa: F401  (puts Blender's scripts/addons_core on sys.path)
    from bl_pkg import bl_extension_cli
    return bl_extension_cli


def _blender_ext():
    """Blender's own wheel-platform rules (``bl_pkg/cli/blender_ext.py``)."""
    _bl_pkg()
    from bl_pkg.cli import blender_ext
    return blender_ext


def _run(cli, args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.cli_extension_handler(args)
    return code, out.getvalue()


def read_manifest(source_dir: Path) -> dict:
    return tomllib.loads((source_dir / "blender_manifest.toml").read_text(encoding="utf-8"))


def runtime_files(source_dir: Path) -> list[str]:
    """The runtime model's files (zip-relative): the fixed three plus what config.json lists
    (the encoder's licence text among them)."""
    config_path = source_dir / RUNTIME_FILES[0]
    listed: list[str] = []
    if config_path.is_file():
        config = json.loads(config_path.read_text(encoding="utf-8"))
        listed = [f"{RUNTIME_DIR}/{name}" for name in config.get("files", {})]
        licence = (config.get("licence") or {}).get("encoder_text")
        if licence:
            listed.append(f"{RUNTIME_DIR}/{licence}")
    return list(dict.fromkeys([*RUNTIME_FILES, *listed]))


def check_sources(source_dir: Path, manifest: dict) -> None:
    """Refuse early, in one sentence, when the runtime model or a wheel is missing."""
    missing = [f for f in runtime_files(source_dir) if not (source_dir / f).is_file()]
    if missing:
        raise RuntimeError(f"{missing[0]} is missing: run `make runtime` (or `make setup`) to "
                           "export the runtime model into assets/runtime/ first.")
    wheels = [w for w in manifest.get("wheels", []) if not (source_dir / w).is_file()]
    if wheels:
        raise RuntimeError(f"{len(wheels)} bundled wheels are missing (first: {wheels[0]}): run "
                           "`make wheels` first.")


def wheels_for(platform: str, wheels: list[str]) -> set[str]:
    """The manifest wheels Blender's split build puts in ``platform``'s zip (zip-relative paths)."""
    ext = _blender_ext()
    return {w.removeprefix("./") for w in wheels
            if ext.blender_platform_compatible_with_wheel_platform_from_filepath(platform, w)}


def check_zip(path: Path, platform: str | None = None, wheels: list[str] | None = None,
              required: tuple[str, ...] | list[str] = REQUIRED) -> list[str]:
    """Problems with a built zip's contents (empty list if fine). With ``platform``: it holds
    exactly that platform's wheels and its generated manifest names that platform alone."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest_text = zf.read("blender_manifest.toml").decode("utf-8") \
            if "blender_manifest.toml" in names else ""
    problems = [f"{path.name} lacks {need}." for need in required if need not in names]
    problems += [f"{path.name} holds {n}, a development file." for n in names
                 if n.startswith(FORBIDDEN_PREFIXES) or n in FORBIDDEN_FILES]
    problems += [f"{path.name} holds {n}, a compiled cache." for n in names
                 if "__pycache__" in n or n.endswith(".pyc")]
    size = path.stat().st_size
    if size >= MAX_BYTES:
        problems.append(f"{path.name} is {size / 2**20:.0f} MB; keep it under "
                        f"{MAX_BYTES / 2**20:.0f} MB.")
    if platform is not None:
        held = {n for n in names if n.endswith(".whl")}
        want = wheels_for(platform, wheels or [])
        if held != want:
            problems.append(f"{path.name} holds wheels {sorted(held - want)} it should not and "
                            f"lacks {sorted(want - held)}.")
        generated = tomllib.loads(manifest_text).get("build", {}).get("generated", {}) \
            if manifest_text else {}
        if generated.get("platforms") != [platform]:
            problems.append(f"{path.name}'s manifest names platforms {generated.get('platforms')}, "
                            f"not [{platform!r}].")
    return problems


def build(source_dir: Path, output_dir: Path) -> dict[str, Path]:
    """Build and check one zip per platform in the manifest; returns ``{platform: zip}``."""
    manifest = read_manifest(source_dir)
    platforms = list(manifest.get("platforms") or [])
    if not platforms:
        raise RuntimeError("blender_manifest.toml declares no platforms: run "
                           "`python scripts/fetch_wheels.py --write-manifest`.")
    check_sources(source_dir, manifest)
    output_dir.mkdir(parents=True, exist_ok=True)
    cli = _bl_pkg()
    code, log = _run(cli, ["validate", str(source_dir)])
    if code != 0:
        raise RuntimeError(f"The manifest does not validate: {log.strip()}")
    stem = f"{manifest['id']}-{manifest['version']}"
    targets = {p: output_dir / f"{stem}-{p.replace('-', '_')}.zip" for p in platforms}
    for target in targets.values():
        target.unlink(missing_ok=True)
    code, log = _run(cli, ["build", "--split-platforms", "--source-dir", str(source_dir),
                           "--output-dir", str(output_dir)])
    if code != 0 or not all(t.exists() for t in targets.values()):
        raise RuntimeError(f"Blender's extension build failed: {log.strip()}")
    for platform, target in targets.items():
        code, log = _run(cli, ["validate", str(target)])
        if code != 0:
            raise RuntimeError(f"{target.name} does not validate: {log.strip()}")
        problems = check_zip(target, platform, list(manifest.get("wheels", [])),
                             (*REQUIRED, *runtime_files(source_dir)))
        if problems:
            raise RuntimeError(" ".join(problems))
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=ROOT)
    parser.add_argument("--output-dir", "--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    try:
        zips = build(args.source_dir.resolve(), args.output_dir.resolve())
    except (RuntimeError, OSError, KeyError, ValueError, tomllib.TOMLDecodeError) as exc:
        print(f"build_extension: {exc}", file=sys.stderr)
        return 1
    for platform, path in zips.items():
        size = path.stat().st_size
        note = "" if size < AIM_BYTES else f" (over the {AIM_BYTES / 2**20:.0f} MB aim)"
        print(f"{path}  {size / 2**20:.1f} MB{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
