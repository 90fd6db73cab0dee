"""Mapping tables: the 26 mouth parameters -> a rig's shape keys.

A table is a list of rows ``(parameter, shape_key, weight, half, enabled)``:

- ``parameter`` is one of ``lipsync_core.params.PARAM_NAMES``;
- ``half`` picks what a row reads from its parameter: ``"+"`` the positive part ``max(v, 0)``,
  ``"-"`` the negative part ``max(-v, 0)`` (signed parameters only), ``"both"`` the magnitude
  ``|v|``. For an unsigned parameter ``"+"`` and ``"both"`` are the same;
- several rows may share a parameter or a shape key: a shape key's value is the clamp to [0, 1]
  (a shape key's slider range) of ``intensity * sum(weight * half(v))`` over its enabled rows.
  Negative weights subtract, which viseme-style presets use to keep two shapes apart.

A table also says which *convention* the rig follows (what its shapes mean), and
lipsync_core.retarget turns curves into shape-key values accordingly:

- ``"table"``: the weighted sums above, nothing else;
- ``"arkit"``: the weighted sums, then ARKit's meanings: mouthClose closes the lips against the
  open jaw, so it is tied to jawOpen and never exceeds it, the jaw opens a little through a seal
  (``options.seal_jaw``), and the lip openers give way to a closure (and the lower lip's openers
  and the jaw to an f/v tuck: lipsync_core.retarget);
- ``"solve"``: viseme and vowel rigs. A row is a *signature* entry: ``weight`` is what
  ``parameter`` reads when ``shape_key`` is fully on. Per frame a non-negative solve finds the
  shape weights that best reproduce the curves, and a closure wins (lipsync_core.viseme_solve);
  before the solve the lower lip's openers and the jaw give way to an f/v tuck
  (lipsync_core.retarget).
  ``options.mode`` "blend" or "hold" (one shape at a time) and ``options.min_hold_ms``.

Presets are JSON files (``assets/mappings/*.json``, format ``lipsync-mapping/1``; ``convention``,
``options`` and ``aliases`` (other spellings of a preset's shape keys) are optional). The ARKit
preset is generated from the schema's ``arkit`` fields (:func:`arkit_preset`) and a unit test
checks the shipped file against it. Every validation problem is one sentence that says what to
change. Rig name families (``_L``/``_R``, CC4, exporter prefixes) are matched by
lipsync_core.rig_names.

Imports: standard library, numpy and lipsync_core (params, rig_names) only.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping as _MappingABC, Sequence

import numpy as np

from . import rig_names
from .atomic import write_bytes_atomic
from .params import BY_NAME, PARAM_NAMES, PARAMS, SCHEMA_VERSION, ASSETS_DIR

FORMAT = "lipsync-mapping/1"
HALVES = ("+", "-", "both")
CONVENTIONS = ("table", "arkit", "solve")
MODES = ("blend", "hold")
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
class Options:
    """How a convention is applied (see the module docstring)."""
    seal_jaw: float = 0.08      # "arkit": jawOpen (0..1) through a full seal, as captured data has
    mode: str = "blend"         # "solve": "blend" the solved weights or "hold" one shape at a time
    min_hold_ms: float = 0.0    # "solve": shortest time a shape is shown, milliseconds


@dataclass(frozen=True)
class Mapping:
    name: str
    rows: tuple[Row, ...]
    description: str = ""
    convention: str = "table"                           # one of CONVENTIONS
    options: Options = Options()
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()   # shape key -> other spellings

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
    convention = data.get("convention", "table")
    if convention not in CONVENTIONS:
        problems.append(f"{source}: convention {convention!r} is not one of "
                        + ", ".join(repr(c) for c in CONVENTIONS) + ".")
    options, found = options_from_dict(data.get("options", {}), source)
    problems += found
    aliases, found = _aliases_from_dict(data.get("aliases", {}), source)
    problems += found
    if problems:
        raise MappingError(problems)
    return Mapping(str(data.get("name", Path(source).stem)), tuple(rows),
                   str(data.get("description", "")), convention, options, aliases)


def options_from_dict(data: object, source: str = "mapping") -> tuple[Options, list[str]]:
    """Options from a JSON object, and the problems found (one sentence each)."""
    if not isinstance(data, dict):
        return Options(), [f"{source}: 'options' must be a JSON object."]
    problems = []
    unknown = set(data) - {"seal_jaw", "mode", "min_hold_ms"}
    if unknown:
        problems.append(f"{source}: unknown option(s) {', '.join(sorted(unknown))}; options are "
                        "seal_jaw, mode and min_hold_ms.")
    seal = data.get("seal_jaw", Options.seal_jaw)
    if isinstance(seal, bool) or not isinstance(seal, (int, float)) or not 0.0 <= seal <= 1.0:
        problems.append(f"{source}: seal_jaw {seal!r} must be a number from 0 to 1.")
        seal = Options.seal_jaw
    mode = data.get("mode", Options.mode)
    if mode not in MODES:
        problems.append(f"{source}: mode {mode!r} is not 'blend' or 'hold'.")
        mode = Options.mode
    hold = data.get("min_hold_ms", Options.min_hold_ms)
    if isinstance(hold, bool) or not isinstance(hold, (int, float)) or not 0.0 <= hold <= 1000.0:
        problems.append(f"{source}: min_hold_ms {hold!r} must be 0 to 1000 milliseconds.")
        hold = Options.min_hold_ms
    return Options(float(seal), str(mode), float(hold)), problems


def _aliases_from_dict(data: object, source: str) -> tuple[tuple, list[str]]:
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(a, str) for a in v)
            for k, v in data.items()):
        return (), [f"{source}: 'aliases' must map a shape key to a list of other spellings."]
    return tuple((k, tuple(v)) for k, v in data.items()), []


def to_dict(mapping: Mapping) -> dict:
    data = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "name": mapping.name,
            "description": mapping.description}
    if mapping.convention != "table":
        data["convention"] = mapping.convention
    if mapping.options != Options():
        data["options"] = asdict(mapping.options)
    if mapping.aliases:
        data["aliases"] = {k: list(v) for k, v in mapping.aliases}
    data["rows"] = [asdict(r) for r in mapping.rows]
    return data


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
    """Write a mapping JSON file atomically (lipsync_core.atomic)."""
    write_bytes_atomic(path, dumps(to_dict(mapping)).encode("utf-8"))


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
                   "generated from assets/parameters.json. ARKit convention: mouthClose is tied "
                   "to jawOpen and never exceeds it, the jaw opens a little through a seal, the "
                   "lip openers and the funnel give way to a closure, the lower lip's openers "
                   "and the jaw to an f/v tuck. Also matches _L/_R, "
                   "CC4/Reallusion and exporter-prefixed names. Shape keys the schema does not "
                   "drive (eyes, brows, nose) are left alone.", "arkit")


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
    return rig_names.normalize(name)


def resolve(mapping: Mapping, shape_keys: Iterable[str]) -> tuple[Mapping, list[str]]:
    """Rename rows to the rig's spelling of each shape key; drop rows whose key is missing.

    A preset name may stand for several rig keys (CC4 splits ARKit's mouthFunnel into four):
    a table row is then repeated for each. A "solve" signature takes the first only (one rig
    shape per signature). Returns the resolved mapping and the missing preset names in order.
    """
    keys = list(shape_keys)
    aliases = dict(mapping.aliases)
    found: dict[str, list[str]] = {}
    rows, missing = [], []
    for row in mapping.rows:
        if row.shape_key not in found:
            targets = rig_names.matches(row.shape_key, keys, aliases)
            found[row.shape_key] = targets[:1] if mapping.convention == "solve" else targets
        targets = found[row.shape_key]
        if not targets:
            missing.append(row.shape_key)
        for actual in targets:
            rows.append(Row(row.parameter, actual, row.weight, row.half, row.enabled))
    return (replace(mapping, rows=tuple(rows)), list(dict.fromkeys(missing)))


# what a rig needs before a preset's convention can work on it
ESSENTIAL = {"arkit": ("jawOpen",)}


def match_count(preset: Mapping, shape_keys: Sequence[str]) -> int:
    """How many of the preset's shape keys the rig has under any spelling (0 if it lacks one
    its convention cannot work without, such as ARKit's jawOpen)."""
    aliases = dict(preset.aliases)
    if any(not rig_names.matches(n, shape_keys, aliases) for n in ESSENTIAL.get(preset.convention, ())):
        return 0
    return rig_names.coverage(preset.shape_keys, shape_keys, aliases)


def best_preset(shape_keys: Iterable[str], presets: Iterable[Mapping]) -> tuple[Mapping | None, int]:
    """The preset matching the most shape keys (ties: first given), and that count.

    ARKit-convention presets need jawOpen (any spelling); a rig with both ARKit keys and visemes
    gets the ARKit preset when it matches more keys, which is the richer mouth.
    """
    keys = list(shape_keys)
    best, best_n = None, 0
    for preset in presets:
        n = match_count(preset, keys)
        if n > best_n:
            best, best_n = preset, n
    return best, best_n


def describe(mapping: Mapping) -> str:
    """One sentence naming a mapping's convention, for Auto-match and the panel."""
    if mapping.convention == "arkit":
        return (f"{mapping.name!r} (ARKit convention: mouthClose tied to jawOpen, seal jaw "
                f"{mapping.options.seal_jaw:g})")
    if mapping.convention == "solve":
        hold = f", min hold {mapping.options.min_hold_ms:g} ms" if mapping.options.min_hold_ms else ""
        return (f"{mapping.name!r} (viseme solve over {len(mapping.shape_keys)} shapes, "
                f"{mapping.options.mode}{hold}; a closure wins)")
    return f"{mapping.name!r} (weighted table)"


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
