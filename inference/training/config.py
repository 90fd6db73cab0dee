"""The training configuration: one JSON file says everything a run needs to be reproduced.

Owns ``TrainConfig`` (fields, defaults, validation) and ``load_config``. Relative paths in the
file are taken relative to the current working directory (run from the repository root).
Example files: inference/training/configs/*.json.

Imports: standard library only.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


def _default_cache() -> str:
    root = os.environ.get("LIPSYNC_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "lipsync"
    return str(base / "features")


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-3                  # peak learning rate (AdamW)
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-8
    warmup_steps: int = 200           # linear warm-up from 0 to lr
    min_lr_ratio: float = 0.05        # cosine decay ends at lr * min_lr_ratio at max_steps
    grad_clip: float = 1.0            # max global gradient norm (0 = off)


@dataclass(frozen=True)
class TrainConfig:
    corpora: tuple[str, ...]                      # corpus directories (each with manifest.jsonl)
    encoder: dict = field(default_factory=lambda: {"kind": "whisper", "source": "openai/whisper-base"})
    head: dict = field(default_factory=dict)      # HeadConfig fields; in_dim and
                                                  # num_encoder_layers come from the features
    loss: dict = field(default_factory=dict)      # LossConfig fields
    optim: OptimConfig = field(default_factory=OptimConfig)
    langs: tuple[str, ...] | None = None          # only these languages (None = all)
    init_from: str | None = None                  # a checkpoint folder whose head weights start
                                                  # the run (fine-tuning); its head and encoder
                                                  # must be the ones this config builds
    teachers: tuple[str, ...] = ()                # checkpoint folders (same encoder features)
                                                  # whose mean curves are blended into the
                                                  # targets: distilling an ensemble into one head
    teacher_weight: float = 0.5                   # share of the teachers' curves in each target
    uncapped_corpora: tuple[str, ...] = ()        # corpus directories read whole, outside the
                                                  # voice caps (targeted sentence sets: adding
                                                  # one never displaces the capped speech)
    voice_minutes: dict = field(default_factory=dict)  # {voice: minutes} training-speech cap
    unlearned_params: dict = field(default_factory=dict)  # {voice: [parameter names]} whose
                                                  # targets that voice does not teach (masked
                                                  # out of the loss: dataset.forget_params)
    focus_corpora: dict = field(default_factory=dict)  # {corpus directory name: [class names]}:
                                                  # that corpus teaches only the frames of those
                                                  # phone classes (dataset.focus_frames), e.g.
                                                  # noisy copies that teach pauses and p/b/m
    focus_margin_frames: int = 2                  # frames either side of a focus class kept too
    default_voice_minutes: float | None = None    # cap for voices not named above (None = all)
    train_splits: tuple[str, ...] = ("train",)
    valid_split: str = "valid"
    cache_dir: str = field(default_factory=_default_cache)
    encode_stream_seconds: float = 0.0            # >0: encode utterances joined into streams of
                                                  # about this many seconds (features.py)
    features_runtime: str | None = None           # a runtime model folder whose encoder.onnx
                                                  # makes the features (e.g. an int8 encoder)
    out_dir: str = "out/train/run"                # training state, logs and the final model
    batch_size: int = 16
    crop_seconds: tuple[float, float] = (4.0, 8.0)  # random crop length range per batch
    bucket_batches: int = 8                       # batches per length-sorted pool
    max_steps: int = 3000
    max_minutes: float = 0.0                      # wall-clock budget of one invocation (0 = none)
    eval_every: int = 200                         # steps between validation passes
    early_stopping_patience: int = 8              # evaluations without improvement before stopping
    min_delta: float = 1e-4                       # smallest valid-loss drop that counts
    checkpoint_every: int = 200                   # steps between training-state saves
    log_every_s: float = 15.0                     # seconds between progress lines
    seed: int = 0
    device: str = "cpu"
    num_threads: int = 2                          # torch intra-op threads (this machine has 2 cores)
    save_dtype: str = "float16"                   # dtype of the final model weights
    eval_max_frames: int = 6000                   # padded frames per validation batch

    def __post_init__(self) -> None:
        if not self.corpora:
            raise ValueError("The config names no corpora; set \"corpora\": [\"DIR\", ...].")
        if self.save_dtype not in ("float16", "float32"):
            raise ValueError("save_dtype must be \"float16\" or \"float32\".")
        if len(self.crop_seconds) != 2 or not 0 < self.crop_seconds[0] <= self.crop_seconds[1]:
            raise ValueError("crop_seconds must be [min, max] with 0 < min <= max.")
        if not 0.0 <= self.teacher_weight <= 1.0:
            raise ValueError("teacher_weight must be between 0 and 1 (the teachers' share of "
                             "each target).")
        shared = {Path(c).expanduser().name for c in self.corpora} & self.uncapped_names
        if shared:
            raise ValueError(f"An uncapped corpus shares the directory name {sorted(shared)[0]!r} "
                             "with a capped one; give the uncapped corpus a folder name of its "
                             "own.")
        if self.max_steps < 1 or self.batch_size < 1:
            raise ValueError("max_steps and batch_size must be at least 1.")

    @property
    def corpus_paths(self) -> list[Path]:
        """Every corpus read: the capped ones, then the uncapped ones."""
        return [Path(c).expanduser() for c in (*self.corpora, *self.uncapped_corpora)]

    @property
    def uncapped_names(self) -> frozenset[str]:
        """Directory names of the uncapped corpora (the first part of an utterance's key)."""
        return frozenset(Path(c).expanduser().name for c in self.uncapped_corpora)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return json.loads(json.dumps(data))       # tuples -> lists

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        data = {k: v for k, v in data.items() if not k.startswith("_")}   # "_comment" keys
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown training settings: {', '.join(unknown)}; "
                             f"expected some of: {', '.join(sorted(known))}.")
        data = dict(data)
        optim = dict(data.pop("optim", {}))
        oknown = {f.name for f in fields(OptimConfig)}
        if set(optim) - oknown:
            raise ValueError(f"Unknown optimiser settings: {', '.join(sorted(set(optim) - oknown))}.")
        if "betas" in optim:
            optim["betas"] = tuple(optim["betas"])
        for key in ("corpora", "uncapped_corpora", "train_splits", "crop_seconds"):
            if key in data:
                data[key] = tuple(data[key])
        if data.get("langs") is not None:
            data["langs"] = tuple(data["langs"])
        unlearned_columns(data.get("unlearned_params", {}))     # refuse bad names before any work
        focus_classes(data.get("focus_corpora", {}))
        return cls(optim=OptimConfig(**optim), **data)


def unlearned_columns(unlearned: dict) -> dict[str, list[int]]:
    """{voice: [parameter indices]} of an ``unlearned_params`` setting; a name that is not one of
    the 26 mouth parameters is refused with a sentence saying so."""
    from lipsync_core.params import PARAM_NAMES
    columns = {}
    for voice, names in unlearned.items():
        bad = [n for n in names if n not in PARAM_NAMES]
        if bad:
            raise ValueError(f"unlearned_params for {voice!r} names {', '.join(bad)}, which are "
                             f"not mouth parameters; use names from lipsync_core.params "
                             f"(for example lip_pucker, lip_funnel).")
        columns[voice] = [PARAM_NAMES.index(n) for n in names]
    return columns


def focus_classes(focus: dict) -> dict[str, frozenset[str]]:
    """{corpus directory name: class names} of a ``focus_corpora`` setting; a name that is not a
    phone class of the evaluation (metrics.CLASS_NAMES) is refused with a sentence saying so."""
    from inference.training.metrics import CLASS_NAMES
    out = {}
    for corpus, names in focus.items():
        if isinstance(names, str) or not names:
            raise ValueError(f"focus_corpora for {corpus!r} must be a list of phone classes, "
                             f"for example [\"silence\", \"bilabial\"].")
        bad = [n for n in names if n not in CLASS_NAMES]
        if bad:
            raise ValueError(f"focus_corpora for {corpus!r} names {', '.join(bad)}, which are not "
                             f"phone classes; use some of {', '.join(CLASS_NAMES)}.")
        out[corpus] = frozenset(names)
    return out


def load_config(path: Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a training config JSON; ``overrides`` replace top-level keys (e.g. out_dir)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"No training config at {path}; see inference/training/configs/.") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); fix the file.") from None
    data.update(overrides or {})
    return TrainConfig.from_dict(data)
