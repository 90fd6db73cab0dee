"""A runtime model folder: what ``python -m inference export`` writes and the engine loads.

Owns the folder's layout and its ``config.json`` (format ``lipsync-runtime/1``), checking it, the
files' checksums, the model's identity, and where the default model lives.
May import: standard library, lipsync_core. Ships in the extension.

    config.json         {"format": "lipsync-runtime/1", "params": [26 names], "schema_version",
                         "sample_rate": 16000, "frame_rate": 50.0,
                         "encoder": {"file", "kind", "frontend": "whisper_log_mel" | "waveform",
                                     "dim", "num_layers_out", "window_frames", "margin_frames",
                                     "min_window_frames", ...front-end settings},
                         "head": {"file", "kind", "in_dim", "num_encoder_layers", "chunk_frames",
                                  "context_frames"},
                         "files": {name: {"sha256", "bytes"}}, "licence", "provenance", "created"}
    encoder.onnx        one encoder window of any length -> features
    head.onnx           (batch, frames, dim) features -> (batch, frames, 26) curves
    mel_filters.npy     Whisper's (201, n_mels) mel filter bank (Whisper encoders)
    encoder_stats.onnx  first-convolution sums for per-clip normalisation (wav2vec2 "group" models)
    LICENSE-encoder.txt the encoder weights' licence text
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lipsync_core.params import FRAME_RATE_HZ, SAMPLE_RATE, SCHEMA_VERSION, check_names

from .errors import ModelError

RUNTIME_FORMAT = "lipsync-runtime/1"
CONFIG_NAME = "config.json"
ENCODER_FILE = "encoder.onnx"
HEAD_FILE = "head.onnx"
MEL_FILTERS_FILE = "mel_filters.npy"
STATS_FILE = "encoder_stats.onnx"
ROOT = Path(__file__).resolve().parent.parent          # repository or extension root
DEFAULT_MODEL_DIR = ROOT / "assets" / "runtime"
MODEL_ENV = "LIPSYNC_RUNTIME_MODEL"                      # overrides the default folder
_CHUNK = 1 << 20                                         # bytes read at a time for checksums


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: Path) -> dict[str, Any]:
    """{"sha256", "bytes"} of one file, as config.json records it."""
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


@dataclass(frozen=True)
class RuntimeModel:
    path: Path
    config: dict[str, Any]

    @property
    def encoder(self) -> dict[str, Any]:
        return self.config["encoder"]

    @property
    def head(self) -> dict[str, Any]:
        return self.config["head"]

    @property
    def identity(self) -> str:
        """A hex digest that changes whenever any file of the model changes (for caches)."""
        files = self.config["files"]
        text = json.dumps({name: files[name]["sha256"] for name in sorted(files)}, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def file(self, name: str) -> Path:
        return self.path / name

    def summary(self) -> dict[str, Any]:
        """What the worker's hello and curves files say about the model."""
        training = (self.config.get("provenance", {}).get("checkpoint_config") or {}) \
            .get("training", {})
        return {"name": training.get("name") or self.path.name, "path": str(self.path),
                "format": RUNTIME_FORMAT, "head": self.head.get("kind"),
                "encoder_kind": self.encoder.get("kind"), "encoder": self.encoder.get("source"),
                "identity": self.identity}


def default_model_dir() -> Path:
    """``$LIPSYNC_RUNTIME_MODEL``, else assets/runtime beside this package."""
    env = os.environ.get(MODEL_ENV, "").strip()
    return Path(env) if env else DEFAULT_MODEL_DIR


def load_model(path: str | os.PathLike | None = None, verify: bool = True) -> RuntimeModel:
    """Read and check a runtime model folder (default: :func:`default_model_dir`).

    ``verify`` checks every file's size and sha256 against config.json (about 0.1 s for the
    default model). Raises ModelError with one sentence that says what to do.
    """
    folder = Path(path) if path is not None else default_model_dir()
    config_path = folder / CONFIG_NAME
    if path is not None and not folder.is_dir():
        raise ModelError(f"The model folder {str(folder)!r} does not exist; check the path, or "
                         "leave it empty for the model that ships.")
    if not config_path.is_file():
        if path is None:
            raise ModelError(f"There is no lip-sync model in {str(folder)!r}; build it with "
                             "'make setup' (python -m inference export --out assets/runtime), or "
                             "pass --model with a runtime model folder.")
        if (folder / "model.safetensors").is_file():
            raise ModelError(f"{str(folder)!r} is a training checkpoint, not a runtime model; "
                             f"export it with 'python -m inference export --checkpoint {folder} "
                             "--out DIR', or run it with --backend torch.")
        raise ModelError(f"{str(folder)!r} is not a runtime model folder (it has no config.json).")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"The model's config.json in {str(folder)!r} cannot be read ({exc}).") \
            from None
    if isinstance(config, dict) and str(config.get("format", "")).startswith("lipsync-checkpoint"):
        raise ModelError(f"{str(folder)!r} is a training checkpoint, not a runtime model; export "
                         f"it with 'python -m inference export --checkpoint {folder} --out DIR', "
                         "or run it with --backend torch.")
    if not isinstance(config, dict) or config.get("format") != RUNTIME_FORMAT:
        raise ModelError(f"{str(config_path)!r} is not a {RUNTIME_FORMAT} model config; "
                         "re-export the model with this version's 'python -m inference export'.")
    try:
        check_names(config.get("params", ()))
    except ValueError as exc:
        raise ModelError(str(exc)) from None
    if config.get("schema_version") != SCHEMA_VERSION or \
            config.get("sample_rate") != SAMPLE_RATE or \
            float(config.get("frame_rate", 0)) != FRAME_RATE_HZ:
        raise ModelError(f"The model in {str(folder)!r} was made for another parameter schema or "
                         "audio rate; re-export it with this version.")
    for key in ("encoder", "head", "files"):
        if not isinstance(config.get(key), dict):
            raise ModelError(f"The model's config.json lacks its {key!r} section; re-export it.")
    model = RuntimeModel(folder, config)
    needed = [model.encoder.get("file"), model.head.get("file")]
    needed += [model.encoder[k] for k in ("mel_filters", "stats") if model.encoder.get(k)]
    for name in needed:
        if name not in config["files"]:
            raise ModelError(f"The model's config.json does not list {name!r}; re-export it.")
    for name, entry in config["files"].items():
        file = folder / name
        if not file.is_file():
            raise ModelError(f"The model in {str(folder)!r} lacks {name}; reinstall or re-export it.")
        if file.stat().st_size != entry.get("bytes") or (verify and
                                                         sha256_file(file) != entry.get("sha256")):
            raise ModelError(f"{name} in {str(folder)!r} is damaged (its checksum does not match "
                             "config.json); reinstall the extension or re-export the model.")
    return model
