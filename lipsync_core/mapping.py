"""Mapping tables: the 26 mouth parameters -> a rig's shape keys.

A table is a list of rows ``(parameter, shape_key, weight, half, enabled)``:

- ``parameter`` is one of ``lipsync_core.params.PARAM_NAMES``;
- ``half`` picks what a row reads from its parameter: ``"+"`` the positive part ``max(v, 0)``,
  ``"-"`` the negative part ``max(-v, 0)`` (signed parameters only), ``"both"`` the magnitude
  ``|v|``. For an unsigned parameter ``"+"`` and ``"both"`` are the same;
- several rows may share a parameter or a shape key: a shape key's value is the clamp to [0, 1]
  (a shape key's slider range) of ``intensity * sum(weight * half(v))`` over its enabled rows.
  Negative weights subtract, which viseme-style presets use to keep two shapes apart.

Presets are JSON files (``assets/mappings/*.json``, format ``lipsync-mapping/1``). The ARKit preset
is generated from the schema's ``arkit`` fields (:func:`arkit_preset`) and a unit test checks the
shipped file against it. Every validation problem is one sentence that says what to change.

Imports: standard library, numpy and lipsync_core.params only.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping as _MappingABC, Sequence

import numpy as np

from .params import BY_NAME, PARAM_NAMES, PARAMS, SCHEMA_VERSION, ASSETS_DIR

FORMAT = "lipsync-mapping/1"
HALVES = ("+", "-", "both")
PRESETS_DIR = ASSETS_DIR / "mappings"


class MappingError(ValueError):
    """A mapping file or table is not valid; ``problems`` holds one sentence per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))


@dataclass(frozen=True)
class Row:
    parameter: str          # one of PARAM_NAMES
    shape_key: str          # shape key name on the rig
    weight: float = 1.0     # multiplier; negative subtracts
    half: str = "+"         # "+", "-" or "both" (see module docstring)
    enabled: bool = True


@dataclass(frozen=True)
class Mapping:
    name: str
    rows: tuple[Row, ...]
    description: str = ""

    @property
    def shape_keys(self) -> tuple[str, ...]:
        """Distinct shape-key names the rows target, in first-use order."""
        return tuple(dict.fromkeys(r.shape_key for r in self.rows))


# --------------------------------------------------------------------------------------------
# validation and JSON

def row_problems(row: _MappingABC, where: str = "") -> list[str]:
    """Problems with one row given as a dict (empty list if fine)."""
    at = f"{where}: " if where else ""
    problems = []
    name = row.get("parameter")
    if name not in BY_NAME:
        problems.append(f"{at}unknown parameter {name!r}; use one of: " + ", ".join(PARAM_NAMES) + ".")
    key = row.get("shape_key")
    if not isinstance(key, str) or not key:
        problems.append(f"{at}the shape key name is missing; give the rig's shape key as 'shape_key'.")
    weight = row.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not np.isfinite(weight):
        problems.append(f"{at}weight {weight!r} is not a finite number; use e.g. 1.0.")
    half = row.get("half", "+")
    if half not in HALVES:
        problems.append(f"{at}half {half!r} is not one of '+', '-', 'both'.")
    elif half == "-" and name in BY_NAME and not BY_NAME[name].signed:
        problems.append(f"{at}parameter {name!r} is never negative, so half '-' would never move; "
                        "use '+'.")
    enabled = row.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(f"{at}enabled must be true or false, not {enabled!r}.")
    unknown = set(row) - {"parameter", "shape_key", "weight", "half", "enabled", "note"}
    if unknown:
        problems.append(f"{at}unknown field(s) {', '.join(sorted(unknown))}; a row has parameter, "
                        "shape_key, weight, half, enabled and an optional note.")
    return problems


def from_dict(data: object, source: str = "mapping") -> Mapping:
    """Build a Mapping from parsed JSON; MappingError with every problem otherwise."""
    if not isinstance(data, dict):
        raise MappingError([f"{source}: a mapping file must hold a JSON object with 'rows'."])
    problems = []
    if data.get("format", FORMAT) != FORMAT:
        problems.append(f"{source}: format {data.get('format')!r} is not {FORMAT!r}.")
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        problems.append(f"{source}: written for parameter schema {version}, this add-on uses "
                        f"{SCHEMA_VERSION}; re-export the mapping with this version.")
    rows_in = data.get("rows")
    if not isinstance(rows_in, list):
        problems.append(f"{source}: 'rows' must be a list of rows.")
        rows_in = []
    rows = []
    for i, row in enumerate(rows_in):
        where = f"{source} row {i + 1}"
        if not isinstance(row, dict):
            problems.append(f"{where}: a row must be a JSON object.")
            continue
        found = row_problems(row, where)
        problems += found
        if not found:
            rows.append(Row(row["parameter"], row["shape_key"], float(row.get("weight", 1.0)),
                            row.get("half", "+"), bool(row.get("enabled", True))))
    if problems:
        raise MappingError(problems)
    return Mapping(str(data.get("name", Path(source).stem)), tuple(rows),
                   str(data.get("description", "")))


def to_dict(mapping: Mapping) -> dict:
    return {"format": FORMAT, "schema_version": SCHEMA_VERSION, "name": mapping.name,
            "description": mapping.description, "rows": [asdict(r) for r in mapping.rows]}


def load(path: str | os.PathLike) -> Mapping:
    """Read and validate a mapping JSON file."""
    path = Path(path)
    if not path.is_file():
        raise MappingError([f"Mapping file {str(path)!r} does not exist; check the path."])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MappingError([f"Mapping file {path.name!r} is not valid JSON ({exc})."]) from None
    return from_dict(data, path.name)


def dumps(data: dict) -> str:
    """Mapping JSON text with one row per line (readable diffs)."""
    head = {k: v for k, v in data.items() if k != "rows"}
    lines = json.dumps(head, ensure_ascii=False, indent=1)[:-2].splitlines()
    rows = [" " + json.dumps(r, ensure_ascii=False) for r in data.get("rows", [])]
    return "\n".join(lines) + ',\n "rows": [\n ' + ",\n ".join(rows) + "\n ]\n}\n"


def save(mapping: Mapping, path: str | os.PathLike) -> None:
    """Write a mapping JSON file atomically (temp file in the same folder, then replace)."""
    path = Path(path)
    text = dumps(to_dict(mapping))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------------------------
# presets

def preset_names() -> list[str]:
    """Shipped preset names (file stems), sorted."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def load_preset(name_or_path: str) -> Mapping:
    """A shipped preset by name (``"arkit"``) or any mapping file by path."""
    if name_or_path in preset_names():
        return load(PRESETS_DIR / f"{name_or_path}.json")
    if name_or_path.lower().endswith(".json") or os.sep in name_or_path or "/" in name_or_path:
        return load(name_or_path)
    raise MappingError([f"Unknown mapping {name_or_path!r}; use a preset ("
                        + ", ".join(preset_names()) + ") or the path of a .json mapping file."])


def arkit_preset() -> Mapping:
    """The ARKit preset, derived from the schema's ``arkit`` fields.

    One row per (parameter, ARKit name). Where several parameters name the same blendshape
    (``mouth_open`` and ``upper_lip_up_left`` both name mouthUpperUpLeft) each row gets weight
    1/k, so a face whose parameters all agree with its blendshapes maps back to the same values.
    """
    pairs = []
    for p in PARAMS:
        for name in p.arkit_positive:
            pairs.append((p.name, name, "+"))
        for name in p.arkit_negative:
            pairs.append((p.name, name, "-"))
    count: dict[str, int] = {}
    for _, name, _ in pairs:
        count[name] = count.get(name, 0) + 1
    rows = tuple(Row(param, name, round(1.0 / count[name], 6), half) for param, name, half in pairs)
    return Mapping("ARKit", rows, "ARKit 52 blendshape names (mouth, jaw, cheek and tongue); "
                   "generated from assets/parameters.json. Shape keys the schema does not drive "
                   "(eyes, brows, nose) are left alone.")


# ARKit's 52 blendshape names, for 'add missing shape keys' on a bare mesh.
ARKIT_52 = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut",
)


# --------------------------------------------------------------------------------------------
# matching against a rig

def normalize(name: str) -> str:
    """Name key for matching: case, spaces, underscores, dots and hyphens ignored."""
    return re.sub(r"[\s_.\-]+", "", name).casefold()


def resolve(mapping: Mapping, shape_keys: Iterable[str]) -> tuple[Mapping, list[str]]:
    """Rename rows to the rig's spelling of each shape key; drop rows whose key is missing.

    Returns the resolved mapping and the sorted missing shape-key names (one report per name).
    """
    by_norm: dict[str, str] = {}
    for key in shape_keys:
        by_norm.setdefault(normalize(key), key)
    rows, missing = [], []
    for row in mapping.rows:
        actual = by_norm.get(normalize(row.shape_key))
        if actual is None:
            missing.append(row.shape_key)
        else:
            rows.append(Row(row.parameter, actual, row.weight, row.half, row.enabled))
    return (Mapping(mapping.name, tuple(rows), mapping.description),
            sorted(set(missing), key=missing.index))


def best_preset(shape_keys: Iterable[str], presets: Iterable[Mapping]) -> tuple[Mapping | None, int]:
    """The preset matching the most shape keys by name (ties: first given), and that count."""
    norms = {normalize(k) for k in shape_keys}
    best, best_n = None, 0
    for preset in presets:
        n = len({normalize(k) for k in preset.shape_keys} & norms)
        if n > best_n:
            best, best_n = preset, n
    return best, best_n


def unmapped(mapping: Mapping, shape_keys: Iterable[str], basis: str | None = None) -> list[str]:
    """Shape keys (other than the basis) that no enabled row drives, in the rig's order."""
    driven = {normalize(r.shape_key) for r in mapping.rows if r.enabled}
    return [k for k in shape_keys if k != basis and normalize(k) not in driven]


# --------------------------------------------------------------------------------------------
# evaluation

def _half(values: np.ndarray, half: str) -> np.ndarray:
    if half == "+":
        return np.maximum(values, 0.0)
    if half == "-":
        return np.maximum(-values, 0.0)
    return np.abs(values)


def apply(curves: np.ndarray, mapping: Mapping, intensity: float = 1.0) -> dict[str, np.ndarray]:
    """Shape-key values from parameter curves.

    curves: (frames, 26) in schema order. Returns {shape_key: (frames,) float32 in [0, 1]} for
    every shape key with at least one enabled row.
    """
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim != 2 or curves.shape[1] != len(PARAMS):
        raise ValueError(f"Curves must have shape (frames, {len(PARAMS)}); got {curves.shape}.")
    sums: dict[str, np.ndarray] = {}
    for row in mapping.rows:
        if not row.enabled:
            continue
        column = curves[:, BY_NAME[row.parameter].index]
        contrib = row.weight * _half(column, row.half)
        sums[row.shape_key] = sums.get(row.shape_key, 0.0) + contrib
    return {key: np.clip(intensity * total, 0.0, 1.0).astype(np.float32)
            for key, total in sums.items()}
