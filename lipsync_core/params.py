"""The 26 mouth-control parameters: the one source of truth.

Everything that needs parameter names, order, ranges or ARKit correspondences reads them here
(the model's output size, the add-on's mapping rows, preset validation, CSV headers, the names a
checkpoint records). The data lives in ``assets/parameters.json``; this module validates it once
and exposes it as immutable Python objects.

Imports: standard library only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
SCHEMA_PATH = ASSETS_DIR / "parameters.json"


@dataclass(frozen=True)
class Param:
    name: str                 # snake_case identifier, e.g. "jaw_open"
    index: int                # column in every (frames, 26) array
    group: str                # "jaw", "aperture", "rounding", ...
    signed: bool              # True: [-1, 1] (tanh); False: [0, 1] (sigmoid)
    rest: float               # value of a closed, relaxed mouth
    resample: str             # "peak" or "mean" (see timing.resample_curves)
    description: str          # one line for tooltips and docs
    arkit_positive: tuple[str, ...]   # ARKit blendshapes of the + half (or of the whole, unsigned)
    arkit_negative: tuple[str, ...]   # ARKit blendshapes of the - half (signed only)

    @property
    def low(self) -> float:
        return -1.0 if self.signed else 0.0

    @property
    def high(self) -> float:
        return 1.0


def _load(path: Path) -> tuple[int, tuple[Param, ...]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    params = []
    for index, row in enumerate(data["parameters"]):
        if row["range"] not in ("signed", "unsigned"):
            raise ValueError(f"{path}: parameter {row['name']!r} has range {row['range']!r}; "
                             "use 'signed' or 'unsigned'.")
        if row["resample"] not in ("peak", "mean"):
            raise ValueError(f"{path}: parameter {row['name']!r} has resample {row['resample']!r}; "
                             "use 'peak' or 'mean'.")
        arkit = row.get("arkit", {})
        params.append(Param(
            name=row["name"], index=index, group=row["group"], signed=row["range"] == "signed",
            rest=float(row["rest"]), resample=row["resample"], description=row["description"],
            arkit_positive=tuple(arkit.get("positive", ())),
            arkit_negative=tuple(arkit.get("negative", ())),
        ))
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: parameter names repeat.")
    return int(data["schema_version"]), tuple(params)


SCHEMA_VERSION, PARAMS = _load(SCHEMA_PATH)
PARAM_NAMES: tuple[str, ...] = tuple(p.name for p in PARAMS)
NUM_PARAMS = len(PARAMS)                       # 26
BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}
SIGNED_MASK: tuple[bool, ...] = tuple(p.signed for p in PARAMS)
FRAME_RATE_HZ = 50.0                           # model output rate: one frame per 20 ms
SAMPLE_RATE = 16000                            # Hz: the audio every speech encoder here reads
HOP_SAMPLES = 320                              # samples per 50 Hz frame (SAMPLE_RATE / FRAME_RATE_HZ)
# mouth_close (0..1) at or above this means the lips are sealed: the evaluation's closure test
# (inference/training/metrics.py) and the retargeting's full seal (viseme_solve.closure_strength)
# read the model's output with this one meaning
MOUTH_CLOSE_SEALED = 0.5


def index_of(name: str) -> int:
    """Column of parameter ``name``; a clear error for an unknown name."""
    try:
        return BY_NAME[name].index
    except KeyError:
        raise KeyError(f"Unknown mouth parameter {name!r}; expected one of: "
                       + ", ".join(PARAM_NAMES)) from None


def check_names(names) -> None:
    """Raise ValueError unless ``names`` is exactly the schema's parameter list, in order."""
    names = tuple(names)
    if names == PARAM_NAMES:
        return
    missing = [n for n in PARAM_NAMES if n not in names]
    extra = [n for n in names if n not in BY_NAME]
    detail = []
    if missing:
        detail.append("missing " + ", ".join(missing))
    if extra:
        detail.append("unknown " + ", ".join(extra))
    if not detail:
        detail.append("same names in a different order")
    raise ValueError(f"The parameter list does not match schema version {SCHEMA_VERSION} "
                     f"({'; '.join(detail)}); retrain or convert the model for this schema.")
