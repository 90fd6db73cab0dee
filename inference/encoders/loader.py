"""``load_encoder``: find an encoder's files (local directory, offline conversion, HF cache or hub)
and build the frozen model.

Owns: source resolution, the hub/offline error sentences, and weight loading for each kind.
May import: torch, transformers, huggingface_hub, safetensors, the other ``inference.encoders``
modules.

Where a source is looked for, in order:
1. a local directory (``config.json`` + weights);
2. for a hub id that ``python -m inference fetch-encoder`` converts (``openai/whisper-base``), its
   converted directory under ``$LIPSYNC_CACHE/encoders/`` (no hub access at all);
3. the Hugging Face cache, then the hub (cache only when ``HF_HUB_OFFLINE`` is set).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from inference.encoders.base import SpeechEncoder
from inference.encoders.cache import CONVERTIBLE, find_converted
from inference.encoders.spec import EncoderError, EncoderSpec

log = logging.getLogger(__name__)

MODEL_TYPES = {"whisper": "whisper", "wav2vec2": "wav2vec2", "hubert": "hubert", "wavlm": "wavlm"}
# Weights a published wav2vec2-family checkpoint may lack without harm: the learned mask vector
# is used only in pre-training.
OPTIONAL_SSL_WEIGHTS = frozenset({"masked_spec_embed"})
_WEIGHT_PATTERNS = ["config.json", "preprocessor_config.json", "model.safetensors",
                    "model.safetensors.index.json", "model-*.safetensors"]


def hub_offline() -> bool:
    """True when the user asked the Hugging Face libraries to stay offline."""
    value = os.environ.get("HF_HUB_OFFLINE", "") or os.environ.get("TRANSFORMERS_OFFLINE", "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def _looks_local(source: str) -> bool:
    return source.startswith((".", "/", "~")) or os.sep in source.replace("/", "") \
        or source.count("/") > 1 or Path(source).expanduser().exists()


def _not_available(source: str, exc: BaseException | None) -> EncoderError:
    fix_fetch = ("run 'python -m inference fetch-encoder', "
                 if source in CONVERTIBLE else "")
    if hub_offline():
        return EncoderError(
            f"The speech encoder {source!r} is not in the local cache and HF_HUB_OFFLINE is set; "
            f"{fix_fetch}pass a local model directory, or go online once to download it.")
    detail = f" ({type(exc).__name__})" if exc is not None else ""
    return EncoderError(
        f"The speech encoder {source!r} could not be downloaded from the Hugging Face hub{detail}; "
        f"{fix_fetch}pass a local model directory, or check the network and try again.")


def resolve_source(spec: EncoderSpec) -> Path:
    """A local directory holding ``spec.source``'s config and weights (see the module docstring)."""
    source = spec.source
    if _looks_local(source):
        path = Path(source).expanduser()
        if not path.exists():
            raise EncoderError(f"The encoder directory {str(path)!r} does not exist.")
        if not path.is_dir() or not (path / "config.json").is_file():
            raise EncoderError(f"{str(path)!r} is not a model directory (it needs config.json and weights).")
        return path
    converted = find_converted(source)
    if converted is not None:
        log.info("using the offline conversion of %s at %s", source, converted)
        return converted
    try:
        from huggingface_hub import snapshot_download

        if spec.kind == "whisper":  # safetensors only: the decoder is skipped when loading
            return Path(snapshot_download(source, allow_patterns=_WEIGHT_PATTERNS, local_files_only=hub_offline()))
        return Path(snapshot_download(source, local_files_only=hub_offline(),
                                      allow_patterns=_WEIGHT_PATTERNS + ["pytorch_model.bin"]))
    except Exception as exc:  # noqa: BLE001 - every hub failure becomes one sentence
        log.debug("hub lookup of %s failed", source, exc_info=True)
        raise _not_available(source, exc) from exc


def _check_model_type(directory: Path, kind: str) -> dict:
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EncoderError(f"The encoder's config.json in {str(directory)!r} cannot be read.") from exc
    model_type = config.get("model_type")
    if model_type != MODEL_TYPES[kind]:
        raise EncoderError(f"{str(directory)!r} holds a {model_type!r} model, not a {kind} encoder; "
                           "fix the encoder kind or the source.")
    return config


def _read_encoder_tensors(directory: Path) -> dict[str, torch.Tensor]:
    """Whisper encoder weights from safetensors, with any ``model.encoder.``/``encoder.`` prefix removed."""
    from safetensors import safe_open

    index = directory / "model.safetensors.index.json"
    if index.is_file():
        files = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
    elif (directory / "model.safetensors").is_file():
        files = ["model.safetensors"]
    else:
        raise EncoderError(f"{str(directory)!r} has no model.safetensors; only safetensors weights are loaded.")
    state: dict[str, torch.Tensor] = {}
    bare: dict[str, torch.Tensor] = {}
    for name in files:
        with safe_open(str(directory / name), framework="pt") as handle:
            for key in handle.keys():
                for prefix in ("model.encoder.", "encoder."):
                    if key.startswith(prefix):
                        state[key[len(prefix):]] = handle.get_tensor(key)
                        break
                else:
                    if not key.startswith(("model.decoder.", "decoder.", "proj_out")):
                        bare[key] = handle.get_tensor(key)
    return state or bare


def _load_whisper(spec: EncoderSpec, directory: Path, device: torch.device, dtype: torch.dtype) -> SpeechEncoder:
    from transformers import WhisperConfig, WhisperFeatureExtractor
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    from inference.encoders.whisper import WhisperSpeechEncoder

    config = WhisperConfig.from_pretrained(str(directory))
    if spec.window_frames > config.max_source_positions:
        raise EncoderError(f"This Whisper model takes at most {config.max_source_positions / 50:g} s windows.")
    state = _read_encoder_tensors(directory)
    if "embed_positions.weight" in state:
        state["embed_positions.weight"] = state["embed_positions.weight"][: spec.window_frames]
    config.max_source_positions = spec.window_frames  # the model is built for the spec's window
    model = WhisperEncoder(config)
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        raise EncoderError(f"The Whisper weights in {str(directory)!r} do not fit its config.json.") from exc
    if (directory / "preprocessor_config.json").is_file():
        extractor = WhisperFeatureExtractor.from_pretrained(str(directory))
    else:
        extractor = WhisperFeatureExtractor(feature_size=config.num_mel_bins)
    if extractor.feature_size != config.num_mel_bins:
        raise EncoderError("The Whisper feature extractor and model disagree on the number of mel bins.")
    return WhisperSpeechEncoder(spec, model, extractor.mel_filters, device, dtype)


def _load_ssl(spec: EncoderSpec, directory: Path, config: dict, device: torch.device,
              dtype: torch.dtype) -> SpeechEncoder:
    import transformers

    from inference.encoders.ssl import SSLSpeechEncoder

    cls: Any = {"wav2vec2": transformers.Wav2Vec2Model, "hubert": transformers.HubertModel,
           "wavlm": transformers.WavLMModel}[spec.kind]
    try:
        model, info = cls.from_pretrained(str(directory), local_files_only=True,
                                          output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise EncoderError(f"The {spec.kind} weights in {str(directory)!r} could not be loaded.") from exc
    # A weight the files lack would be left at random initialisation and the encoder would run
    # as noise (transformers only warns, and its warnings are silenced): refuse instead. Extra
    # weights (a CTC or pre-training head beside the encoder) are normal and ignored.
    missing = [k for k in info.get("missing_keys", []) if k not in OPTIONAL_SSL_WEIGHTS]
    mismatched = info.get("mismatched_keys", [])
    if missing or mismatched:
        names = [str(k[0] if isinstance(k, tuple) else k) for k in (missing + list(mismatched))]
        raise EncoderError(f"The {spec.kind} model in {str(directory)!r} does not match its "
                           f"config.json ({len(names)} weights missing or of another shape, e.g. "
                           f"{names[0]}); it would run with random layers, so choose the folder "
                           "of a complete checkpoint.")
    normalize = config.get("feat_extract_norm") == "layer"
    prep = directory / "preprocessor_config.json"
    if prep.is_file():
        try:
            normalize = bool(json.loads(prep.read_text(encoding="utf-8")).get("do_normalize", normalize))
        except ValueError:
            log.warning("ignoring unreadable %s", prep)
    return SSLSpeechEncoder(spec, model, normalize, device, dtype)


def load_encoder(spec: EncoderSpec, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32) -> SpeechEncoder:
    """Load the frozen encoder ``spec`` describes, in eval mode, on ``device`` in ``dtype``.

    Raises EncoderError (one sentence for a person) when it cannot be found or loaded.
    """
    device = torch.device(device)
    directory = resolve_source(spec)
    config = _check_model_type(directory, spec.kind)
    if spec.kind == "whisper":
        encoder = _load_whisper(spec, directory, device, dtype)
    else:
        encoder = _load_ssl(spec, directory, config, device, dtype)
    log.info("loaded %s encoder from %s: dim %d, %d hidden states, %s %s", spec.kind, directory,
             encoder.dim, encoder.num_hidden, device, dtype)
    return encoder
