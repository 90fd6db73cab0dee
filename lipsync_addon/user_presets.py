"""The artist's own mapping presets: JSON files in the extension's user folder
(``environment.user_dir()/mappings``), listed beside the shipped presets as ``user:NAME``.

Save Preset writes there with lipsync_core.mapping.save (the atomic writer); every place that
takes a preset name (the panel's list, Load Preset, Generate's ``mapping``) loads through
:func:`load`, so a user preset works wherever a shipped one does.

Imports: lipsync_core (relatively), environment.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ..lipsync_core import mapping
from . import environment

PREFIX = "user:"                       # enum identifier of a user preset: PREFIX + file stem
_BAD_CHARS = set('/\\:*?"<>|')


def folder() -> Path:
    path = environment.user_dir() / "mappings"
    path.mkdir(parents=True, exist_ok=True)
    return path


def names() -> list[str]:
    """The user presets' names (file stems), sorted."""
    try:
        return sorted(p.stem for p in folder().glob("*.json"))
    except OSError:
        return []


def check_name(name: str) -> str:
    """The name stripped; MappingError with one sentence when it cannot be a file name."""
    name = name.strip()
    if not name or name.startswith(".") or _BAD_CHARS & set(name) or len(name) > 60:
        raise mapping.MappingError([f"{name!r} cannot be a preset name; use up to 60 letters, "
                                    "digits, spaces, '-' or '_'."])
    return name


def save(table: mapping.Mapping, name: str) -> Path:
    """Write ``table`` as the user preset ``name`` (replacing one of that name)."""
    name = check_name(name)
    path = folder() / f"{name}.json"
    mapping.save(dataclasses.replace(table, name=name), path)
    return path


def load(name: str) -> mapping.Mapping:
    """A preset by its list identifier: ``user:NAME``, a shipped name, or a file path."""
    if name.startswith(PREFIX):
        path = folder() / f"{name[len(PREFIX):]}.json"
        if not os.path.isfile(path):
            raise mapping.MappingError([f"There is no user preset {name[len(PREFIX):]!r} in "
                                        f"{folder()}; save it again with Save Preset."])
        return mapping.load(path)
    return mapping.load_preset(name)


def all_presets() -> list[mapping.Mapping]:
    """Shipped and user presets (Auto-match picks among these); unreadable files are skipped."""
    tables = [mapping.load_preset(n) for n in mapping.preset_names()]
    for n in names():
        try:
            tables.append(load(PREFIX + n))
        except mapping.MappingError:
            continue
    return tables
