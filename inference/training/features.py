"""The feature and target cache: every corpus utterance encoded once, reused by every run.

Owns: reading corpus manifests into ``CachedUtterance`` records, the cache layout, and filling it::

    <cache>/<encoder-key>/<lang>/<voice>/<id>.<audio-sha1[:12]>.npy   float16 (frames, dim) or
                                                                    (L, frames, dim), 50 Hz
    <cache>/targets-<articulation-key>/<lang>/<voice>/<id>.<sha1[:12]>.npy   float32 (frames, 26)

``encoder-key`` is a readable slug plus a hash of the EncoderSpec dict, so a different encoder,
layer or window never reuses features; the audio hash keeps a rebuilt corpus from reusing stale
ones. ``articulation-key`` hashes the source of ``inference.articulation``, so changed target
rules recompute targets. Capture data (``targets_file`` instead of phones) is read as is.
Filling is resumable (existing files are skipped) and atomic (temporary file + os.replace).

``python -m inference.training.features --config FILE`` fills the cache for a training config
without training.

Imports: numpy, soundfile, torch (only while encoding), inference.encoders, inference.articulation,
lipsync_core.params.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lipsync_core.params import NUM_PARAMS

log = logging.getLogger(__name__)

from lipsync_core.atomic import write_atomic
from lipsync_core.params import SAMPLE_RATE  # noqa: E402  Hz, every corpus wav
HOP = 320                      # samples per 50 Hz frame
# Streaming (``encode_stream_seconds`` in the training config): Whisper encodes a whole 30 s
# window whatever the clip length, so a 2 s utterance alone costs as much as 30 s of audio, and its
# frames only ever sit at the start of a window. Streaming joins utterances into long audio
# (SpeechEncoder.encode_many), about 10x cheaper for short TTS sentences, with frames at every
# window position as in long audio at inference. Evaluation encodes each clip alone.
STREAMS_PER_SAVE = 5           # streams encoded between saves (what an interruption can lose)
ARTICULATION_DIR = Path(__file__).resolve().parent.parent / "articulation"


@dataclass(frozen=True)
class CachedUtterance:
    """One corpus utterance and where its cached features and targets live."""
    key: str                   # "<corpus name>/<lang>/<voice>/<id>", unique across corpora
    lang: str
    voice: str
    split: str                 # "train" | "valid" | "test"
    duration: float            # seconds
    wav: Path
    meta: Path                 # the utterance's .json
    features: Path             # float16 (frames, dim) or (L, frames, dim)
    targets: Path              # float32 (frames, 26)
    source: str | None = None  # an augmented copy: the id of the utterance it was made from

    @property
    def frames(self) -> int:
        return frames_for(round(self.duration * SAMPLE_RATE))

    def record(self) -> dict:
        return json.loads(self.meta.read_text(encoding="utf-8"))

    def load_features(self) -> np.ndarray:
        return np.load(self.features, mmap_mode="r")

    def load_targets(self) -> np.ndarray:
        return np.load(self.targets)


def corpus_of(key: str) -> str:
    """The corpus directory name of an utterance key ("<corpus name>/<lang>/<voice>/<id>")."""
    return str(key).split("/", 1)[0]


def frames_for(samples: int) -> int:
    """50 Hz frames of ``samples`` at 16 kHz: ceil(samples / 320)."""
    return max(1, math.ceil(samples / HOP))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[-40:] or "x"


def _short_hash(data: bytes, n: int = 12) -> str:
    return hashlib.sha1(data).hexdigest()[:n]


def encoder_key(spec_dict: dict, stream_seconds: float = 0.0, runtime_sha: str = "") -> str:
    """Directory name of one encoder's features: slug + hash of the whole spec dict (and of the
    stream length, when streaming, and of the runtime encoder file, when it makes them)."""
    keyed = dict(spec_dict, _stream_seconds=float(stream_seconds)) if stream_seconds else spec_dict
    if runtime_sha:
        keyed = dict(keyed, _runtime_encoder=runtime_sha)
    canonical = json.dumps(keyed, sort_keys=True, separators=(",", ":")).encode()
    source = Path(str(spec_dict.get("source", ""))).name or str(spec_dict.get("source", ""))
    layer = spec_dict.get("layer", "")
    return f"{_slug(str(spec_dict.get('kind', 'enc')))}-{_slug(source)}-L{_slug(str(layer))}-" \
           f"{_short_hash(canonical, 16)}"


def articulation_key() -> str:
    """Hash of the articulation package's source: changed rules, fresh targets."""
    digest = hashlib.sha1()
    for path in sorted(ARTICULATION_DIR.rglob("*.py")) + sorted(ARTICULATION_DIR.rglob("*.json")):
        digest.update(path.relative_to(ARTICULATION_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def read_manifest(corpus: Path, splits: tuple[str, ...] | None = None,
                  langs: tuple[str, ...] | None = None) -> list[dict]:
    """Manifest rows of ``corpus`` (optionally only some splits / languages), with absolute paths."""
    corpus = Path(corpus)
    manifest = corpus / "manifest.jsonl"
    if not manifest.is_file():
        raise FileNotFoundError(f"{corpus} has no manifest.jsonl; build the corpus first "
                                "('python -m inference corpus ...') or point to its directory.")
    rows = []
    for n, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"{manifest} line {n} is not JSON; rebuild the manifest.") from None
        if splits is not None and row.get("split") not in splits:
            continue
        if langs is not None and row.get("lang") not in langs:
            continue
        wav = corpus / row["path"]
        row["wav"] = wav
        row["meta"] = corpus / row.get("json", str(Path(row["path"]).with_suffix(".json")))
        rows.append(row)
    return rows


def _utt_id(row: dict) -> str:
    return str(row.get("id") or Path(row["path"]).stem)


def runtime_encoder_sha(runtime: Path | None, spec_dict: dict) -> str:
    """The sha256 of the encoder file of the runtime model folder ``runtime`` ("" for None),
    after checking that it is the spec's encoder (kind, source, layer)."""
    if runtime is None:
        return ""
    from lipsync_runtime.model import load_model
    model = load_model(runtime, verify=True)
    enc = model.encoder
    for key in ("kind", "source", "layer"):
        if enc.get(key) != spec_dict.get(key):
            raise ValueError(f"The runtime model {runtime} has encoder {key} {enc.get(key)!r} but "
                             f"the training config asks for {spec_dict.get(key)!r}; export that "
                             "encoder (python -m inference export) and name it in features_runtime.")
    return str(model.config["files"][enc["file"]]["sha256"])


def plan(corpora: list[Path], spec_dict: dict, cache: Path, splits: tuple[str, ...] | None = None,
         langs: tuple[str, ...] | None = None, stream_seconds: float = 0.0,
         runtime: Path | None = None) -> list[CachedUtterance]:
    """Where every utterance's features and targets are (or will be) cached. Reads each wav once
    to hash it (cheap next to encoding). ``runtime``: see :func:`fill_cache`."""
    cache = Path(cache)
    enc_dir = cache / encoder_key(spec_dict, stream_seconds, runtime_encoder_sha(runtime, spec_dict))
    tgt_dir = cache / f"targets-{articulation_key()}"
    out = []
    for corpus in corpora:
        corpus = Path(corpus)
        for row in read_manifest(corpus, splits, langs):
            wav: Path = row["wav"]
            if not wav.is_file():
                raise FileNotFoundError(f"{wav} is listed in {corpus}/manifest.jsonl but missing; "
                                        "rebuild the corpus.")
            audio_hash = _short_hash(wav.read_bytes())
            uid = _utt_id(row)
            lang, voice = str(row["lang"]), str(row["voice"])
            meta = row["meta"]
            meta_bytes = meta.read_bytes()
            target_hash = _short_hash(audio_hash.encode() + meta_bytes)
            augment = json.loads(meta_bytes).get("augment") or {}
            sub = Path(_slug(lang)) / _slug(voice)
            out.append(CachedUtterance(
                key=f"{corpus.name}/{lang}/{voice}/{uid}", lang=lang, voice=voice,
                split=str(row.get("split", "train")), duration=float(row["duration"]),
                wav=wav, meta=meta,
                features=enc_dir / sub / f"{_slug(uid)}.{audio_hash}.npy",
                targets=tgt_dir / sub / f"{_slug(uid)}.{target_hash}.npy",
                source=augment.get("source")))
    keys = [u.key for u in out]
    if len(set(keys)) != len(keys):
        raise ValueError("Two utterances share corpus name, language, voice and id; give the "
                         "corpora distinct directory names.")
    return out


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """np.save, atomically (lipsync_core.atomic)."""
    write_atomic(path, lambda handle: np.save(handle, array))


def read_wave(wav: Path) -> np.ndarray:
    """(samples,) float32 at 16 kHz of a corpus wav."""
    import soundfile as sf
    audio, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    if sr != SAMPLE_RATE:
        raise ValueError(f"{wav} is {sr} Hz; corpus audio must be {SAMPLE_RATE} Hz mono.")
    return audio.mean(axis=1)


def fit_frames(array: np.ndarray, n: int, axis: int = 0) -> np.ndarray:
    """Trim or edge-pad ``array`` along ``axis`` to ``n`` frames."""
    have = array.shape[axis]
    if have == n:
        return array
    if have > n:
        return np.take(array, np.arange(n), axis=axis)
    pad = [(0, 0)] * array.ndim
    pad[axis] = (0, n - have)
    return np.pad(array, pad, mode="edge")


def compute_targets(record: dict, meta: Path, n_frames: int, lead: bool = True) -> np.ndarray:
    """(n_frames, 26) float32 targets of one utterance record: from its phones through
    ``inference.articulation.curves_from_phones``, or its capture ``targets_file``."""
    if record.get("targets_file"):
        targets = np.load(meta.parent / record["targets_file"]).astype(np.float32)
    else:
        from inference.articulation import curves_from_phones
        phones = [(str(s), float(a), float(b)) for s, a, b in record["phones"]]
        targets = np.asarray(curves_from_phones(
            phones, record["notation"], record["lang"], frame_rate=50.0,
            duration=float(record["duration"]), lead=lead), dtype=np.float32)
    if targets.ndim != 2 or targets.shape[1] != NUM_PARAMS:
        raise ValueError(f"{meta}: targets are {targets.shape}, expected (frames, {NUM_PARAMS}).")
    if abs(len(targets) - n_frames) > 2:
        log.warning("%s: %d target frames for %d audio frames; trimming/padding",
                    meta, len(targets), n_frames)
    return fit_frames(targets, n_frames)


def fill_targets(utts: list[CachedUtterance]) -> None:
    """Compute every missing target file."""
    for utt in utts:
        if not utt.targets.exists():
            save_npy_atomic(utt.targets, compute_targets(utt.record(), utt.meta, utt.frames))


def fill_cache(utts: list[CachedUtterance], spec_dict: dict, device: str = "cpu",
               dtype: str = "float32", stream_seconds: float = 0.0,
               runtime: Path | None = None) -> None:
    """Compute every missing target and feature file. The encoder is loaded only if needed.

    ``stream_seconds`` > 0 encodes the utterances joined into streams of about that many seconds
    (``SpeechEncoder.encode_many``), as long audio is encoded at inference; 0 encodes each alone,
    as a single short clip is. It must match the value ``plan`` was given (it is in the cache key).
    ``runtime``: a runtime model folder whose ``encoder.onnx`` makes the features instead of the
    torch encoder (each utterance alone, windowed as the spec says), so a head can be trained on
    exactly what a quantised shipped encoder gives (``export --int8-encoder``).
    """
    fill_targets(utts)
    todo = [u for u in utts if not u.features.exists()]
    if not todo:
        return
    if runtime is not None:
        _fill_from_runtime(todo, spec_dict, Path(runtime), stream_seconds)
        return
    import torch
    from inference.encoders import EncoderSpec, load_encoder
    spec = EncoderSpec.from_dict(spec_dict)
    encoder = load_encoder(spec, device, getattr(torch, dtype))
    total_s = sum(u.duration for u in todo)
    log.info("encoding %d utterances (%.1f min of audio) with %s%s", len(todo), total_s / 60,
             spec_dict.get("source"),
             f", in {stream_seconds:g} s streams" if stream_seconds else ", one at a time")
    report = _Progress(total_s)
    for group in _groups(todo, stream_seconds):
        waves = [read_wave(u.wav) for u in group]
        with torch.inference_mode():
            if stream_seconds > 0:
                feats = encoder.encode_many(waves, stream_s=stream_seconds)
            else:
                feats = [encoder.encode(w) for w in waves]
        for utt, wave, f in zip(group, waves, feats):
            array = f.detach().to("cpu", torch.float32).numpy()
            array = fit_frames(array, frames_for(len(wave)), axis=array.ndim - 2)
            save_npy_atomic(utt.features, array.astype(np.float16))
        report.add(sum(u.duration for u in group))


def _fill_from_runtime(todo: list[CachedUtterance], spec_dict: dict, runtime: Path,
                       stream_seconds: float) -> None:
    """Features of ``todo`` from the runtime model folder's ONNX encoder (see fill_cache)."""
    from inference.encoders import EncoderSpec
    from lipsync_runtime.engine import RuntimeEngine
    if stream_seconds:
        raise ValueError("features_runtime encodes each utterance alone; set "
                         "encode_stream_seconds to 0.")
    spec = EncoderSpec.from_dict(spec_dict)
    engine = RuntimeEngine(runtime, device="cpu", min_window_s=spec.min_window_s,
                           padding="full")            # training features: every window exact
    engine.full_window, engine.margin = spec.window_frames, spec.margin_frames
    total_s = sum(u.duration for u in todo)
    log.info("encoding %d utterances (%.1f min of audio) with the runtime encoder of %s",
             len(todo), total_s / 60, runtime)
    report = _Progress(total_s)
    for utt in todo:
        wave = read_wave(utt.wav)
        array = fit_frames(engine.encode(wave), frames_for(len(wave)), axis=-2)
        save_npy_atomic(utt.features, array.astype(np.float16))
        report.add(utt.duration)


class _Progress:
    """A log line about every 10 s (and at the end) while features are made."""

    def __init__(self, total_s: float) -> None:
        self.total_s, self.done_s = total_s, 0.0
        self.t0 = self.last = time.monotonic()

    def add(self, seconds: float) -> None:
        self.done_s += seconds
        now = time.monotonic()
        if now - self.last > 10 or self.done_s >= self.total_s - 1e-6:
            self.last = now
            rate = self.done_s / max(now - self.t0, 1e-6)
            log.info("features %.1f/%.1f min of audio, %.1fx real time, ETA %s",
                     self.done_s / 60, self.total_s / 60, rate,
                     _fmt_s((self.total_s - self.done_s) / max(rate, 1e-6)))


def _groups(utts: list[CachedUtterance], stream_seconds: float) -> list[list[CachedUtterance]]:
    """Utterances encoded (and saved) together: one alone, or about STREAMS_PER_SAVE streams."""
    if stream_seconds <= 0:
        return [[u] for u in utts]
    budget = stream_seconds * STREAMS_PER_SAVE
    groups: list[list[CachedUtterance]] = [[]]
    length = 0.0
    for u in utts:
        if groups[-1] and length + u.duration > budget:
            groups.append([])
            length = 0.0
        groups[-1].append(u)
        length += u.duration
    return groups


def _fmt_s(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.training.features",
                                     description="Fill the feature/target cache of a training config.")
    parser.add_argument("--config", required=True, help="training config JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    from inference.training.config import load_config
    cfg = load_config(Path(args.config))
    from inference.encoders import EncoderSpec
    spec = EncoderSpec.from_dict(cfg.encoder).to_dict()
    splits = tuple(cfg.train_splits) + (cfg.valid_split,)
    runtime = Path(cfg.features_runtime) if cfg.features_runtime else None
    utts = plan(cfg.corpus_paths, spec, Path(cfg.cache_dir), splits, cfg.langs,
                cfg.encode_stream_seconds, runtime)
    fill_cache(utts, spec, cfg.device, stream_seconds=cfg.encode_stream_seconds, runtime=runtime)
    print(f"{len(utts)} utterances cached under {cfg.cache_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
