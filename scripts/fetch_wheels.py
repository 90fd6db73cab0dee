"""Download the wheels the extension zips bundle, exactly as pinned in ``wheels.lock``.

``wheels.lock`` (repository root) is the one place the bundled versions are pinned: one line per
wheel, ``PLATFORM PYTHON REQUIREMENT FILE SHA256``. Each wheel is fetched with pip itself
(``pip download --no-deps --only-binary :all: --platform TAG --python-version X``) into
``wheels/`` (gitignored), checked against the lock's file name and sha256, and listed in the
manifest's ``wheels`` (``--write-manifest`` rewrites that list from the lock).

    python scripts/fetch_wheels.py [--dest wheels]      fetch and verify (skips verified files)
    python scripts/fetch_wheels.py --relock             after editing a REQUIREMENT: re-resolve
                                                        FILE and SHA256 for every line
    python scripts/fetch_wheels.py --write-manifest     rewrite blender_manifest.toml's wheels

Stdlib only (runs under any Python 3.11+; pip does the downloading). Exit codes: 0 done,
1 failure (one line on stderr).
"""
from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "wheels.lock"
MANIFEST = ROOT / "blender_manifest.toml"
DEST = ROOT / "wheels"
MANIFEST_DIR = "./wheels/"     # how the manifest names the folder (relative to the zip root)

# Blender platform -> the pip platform tags to resolve for, newest first (pip does not widen a
# given tag to older glibc/macOS releases by itself).
PIP_PLATFORM = {
    "linux-x64": ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                  "manylinux2014_x86_64"),
    "linux-arm64": ("manylinux_2_28_aarch64", "manylinux_2_27_aarch64", "manylinux_2_26_aarch64",
                    "manylinux_2_17_aarch64", "manylinux2014_aarch64"),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx_14_0_arm64", "macosx_13_0_arm64", "macosx_12_0_arm64",
                    "macosx_11_0_arm64"),
    "macos-x64": ("macosx_13_0_x86_64", "macosx_12_0_x86_64", "macosx_11_0_x86_64",
                  "macosx_10_15_x86_64", "macosx_10_14_x86_64", "macosx_10_9_x86_64"),
}
PLATFORMS = tuple(PIP_PLATFORM)


class LockError(Exception):
    pass


@dataclass
class Pin:
    platform: str       # a Blender platform, e.g. "linux-x64"
    python: str         # "3.11" or "3.13"
    requirement: str    # "name==version"
    file: str           # the wheel file name pip picks ("-" until --relock)
    sha256: str         # hex digest of that file ("-" until --relock)

    def line(self) -> str:
        return (f"{self.platform:<12} {self.python:<5} {self.requirement:<28} {self.file} "
                f"{self.sha256}")


def read_lock(path: Path = LOCK) -> tuple[list[str], list[Pin]]:
    """The lock's leading comment lines and its pins."""
    header: list[str] = []
    pins: list[Pin] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            if not pins:
                header.append(raw)
            continue
        fields = line.split()
        if len(fields) != 5:
            raise LockError(f"{path.name} line {number} needs 5 fields "
                            f"(platform python requirement file sha256), found {len(fields)}.")
        pin = Pin(*fields)
        if pin.platform not in PIP_PLATFORM:
            raise LockError(f"{path.name} line {number}: unknown platform {pin.platform!r} "
                            f"(one of {', '.join(PLATFORMS)}).")
        if not re.fullmatch(r"3\.\d+", pin.python):
            raise LockError(f"{path.name} line {number}: python must look like 3.11.")
        if "==" not in pin.requirement:
            raise LockError(f"{path.name} line {number}: pin an exact version (name==version).")
        pins.append(pin)
    return header, pins


def write_lock(header: list[str], pins: list[Pin], path: Path = LOCK) -> None:
    text = "\n".join([*header, *(p.line() for p in pins)]) + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(pin: Pin, into: Path) -> Path:
    """Let pip pick and download the one wheel for ``pin``; returns its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--no-deps", "--only-binary", ":all:", "--implementation", "cp",
           *(arg for tag in PIP_PLATFORM[pin.platform] for arg in ("--platform", tag)),
           "--python-version", pin.python.replace(".", ""), "--dest", str(into), pin.requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(into.glob("*.whl"))
    if proc.returncode != 0 or len(found) != 1:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise LockError(f"pip found no {pin.requirement} wheel for {pin.platform} Python "
                        f"{pin.python}: {tail}")
    return found[0]


def fetch(pins: list[Pin], dest: Path) -> list[Path]:
    """Make ``dest`` hold every pinned wheel, verified by sha256 (downloads only what is missing)."""
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for pin in pins:
        if pin.file == "-" or pin.sha256 == "-":
            raise LockError(f"{pin.requirement} for {pin.platform} is not resolved yet: run "
                            "scripts/fetch_wheels.py --relock.")
        target = dest / pin.file
        if not (target.is_file() and sha256_of(target) == pin.sha256):
            with tempfile.TemporaryDirectory(prefix="lipsync-wheel-") as tmp:
                got = pip_download(pin, Path(tmp))
                if got.name != pin.file:
                    raise LockError(f"pip picked {got.name} for {pin.requirement} on "
                                    f"{pin.platform}, but wheels.lock pins {pin.file}: run --relock.")
                if sha256_of(got) != pin.sha256:
                    raise LockError(f"{got.name} does not match the sha256 in wheels.lock; "
                                    "refusing to bundle it.")
                shutil.move(str(got), str(target))
        paths.append(target)
    return paths


def relock(pins: list[Pin]) -> None:
    for pin in pins:
        with tempfile.TemporaryDirectory(prefix="lipsync-wheel-") as tmp:
            got = pip_download(pin, Path(tmp))
            pin.file, pin.sha256 = got.name, sha256_of(got)
        print(f"{pin.platform} {pin.python} {pin.file}")


def manifest_wheels(pins: list[Pin]) -> list[str]:
    """The manifest's ``wheels`` entries (one per distinct file, in lock order)."""
    seen: dict[str, None] = {}
    for pin in pins:
        seen.setdefault(MANIFEST_DIR + pin.file, None)
    return list(seen)


def manifest_platforms(pins: list[Pin]) -> list[str]:
    return [p for p in PLATFORMS if any(pin.platform == p for pin in pins)]


def write_manifest(pins: list[Pin], path: Path = MANIFEST) -> None:
    """Rewrite the ``wheels = [...]`` and ``platforms = [...]`` blocks from the lock."""
    text = path.read_text(encoding="utf-8")
    wheels = "wheels = [\n" + "".join(f'  "{w}",\n' for w in manifest_wheels(pins)) + "]"
    platforms = "platforms = [" + ", ".join(f'"{p}"' for p in manifest_platforms(pins)) + "]"
    for key, block in (("wheels", wheels), ("platforms", platforms)):
        pattern = re.compile(rf"^{key} = \[[^\]]*\]", re.M)
        if not pattern.search(text):
            raise LockError(f"{path.name} has no top-level `{key} = [...]` to rewrite.")
        text = pattern.sub(block.replace("\\", "\\\\"), text, count=1)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEST)
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--relock", action="store_true")
    parser.add_argument("--write-manifest", action="store_true")
    args = parser.parse_args(argv)
    try:
        header, pins = read_lock(args.lock)
        if args.relock:
            relock(pins)
            write_lock(header, pins, args.lock)
        if args.write_manifest:
            write_manifest(pins)
        if not (args.relock or args.write_manifest):
            paths = fetch(pins, args.dest)
            total = sum(p.stat().st_size for p in paths)
            print(f"{len(paths)} wheels verified in {args.dest} ({total / 2**20:.0f} MB)")
    except (LockError, OSError) as exc:
        print(f"fetch_wheels: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
