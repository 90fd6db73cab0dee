"""The sound strip of a job: which strip, its audio file and its timing.

Finds the strip (by name, else the active sound strip, else the only selected one, else the
only one), checks it (muted strips are used, with a warning: dialogue is often muted while
animating), resolves its file (``//`` paths, libraries, packed sounds written to a temporary
file), refuses a file that is not audio or holds none, and reads its timing into :class:`lipsync_core.keyplan.StripTiming`.

Imports: bpy, lipsync_core (relatively), compat.
"""
from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import bpy

from ..lipsync_core.keyplan import StripTiming
from ..lipsync_core.timing import scene_fps
from . import compat

log = logging.getLogger(__name__)


class InputError(Exception):
    """Bad input the user can fix; the message is one sentence saying how."""


@dataclass
class StripSource:
    name: str
    scene_name: str
    audio_path: str                    # a readable file (a temp copy for packed sounds)
    timing: StripTiming
    warnings: list[str] = field(default_factory=list)
    temp_path: str | None = None       # delete when the job ends

    def cleanup(self) -> None:
        if self.temp_path and os.path.exists(self.temp_path):
            try:
                os.unlink(self.temp_path)
            except OSError:
                log.warning("Could not remove the temporary sound file %s", self.temp_path)
        self.temp_path = None


def sound_strips(scene: Any) -> list[Any]:
    se = scene.sequence_editor
    return [s for s in compat.strips(se) if s.type == "SOUND"]


def find_strip(scene: Any, name: str = "") -> Any:
    """The strip a job uses; InputError with one sentence when there is none or it is ambiguous."""
    strips = sound_strips(scene)
    if name:
        for s in strips:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in strips) or "none"
        raise InputError(f"There is no sound strip named {name!r} in scene {scene.name!r} "
                         f"(sound strips: {known}).")
    if not strips:
        raise InputError(f"Scene {scene.name!r} has no sound strip; add the voice recording in "
                         "the Video Sequencer (Add > Sound) first.")
    se = scene.sequence_editor
    active = getattr(se, "active_strip", None)
    if active is not None and active.type == "SOUND":
        return active
    selected = [s for s in strips if s.select]
    if len(selected) == 1:
        return selected[0]
    if len(strips) == 1:
        return strips[0]
    raise InputError(f"Scene {scene.name!r} has {len(strips)} sound strips; make one active in "
                     "the sequencer or choose it by name.")


def _audio_file(strip: Any) -> tuple[str, str | None]:
    """(path to read, temp path to delete or None)."""
    sound = strip.sound
    if sound is None:
        raise InputError(f"Sound strip {strip.name!r} has no sound data; re-add the file.")
    if sound.packed_file is not None:
        suffix = os.path.splitext(sound.filepath)[1] or ".wav"
        fd, tmp = tempfile.mkstemp(prefix="lipsync-packed-", suffix=suffix)
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(sound.packed_file.data))
        return tmp, tmp
    path = bpy.path.abspath(sound.filepath, library=sound.library)
    path = os.path.normpath(path)
    if not os.path.isfile(path):
        raise InputError(f"The sound file of strip {strip.name!r} is missing ({path}); relink it "
                         "or pack it into the .blend.")
    return path, None


def file_duration(path: str) -> float | None:
    """Seconds of a WAV file by its header (None for other formats; the worker clips those)."""
    import wave
    try:
        with wave.open(path, "rb") as w:
            return w.getnframes() / float(w.getframerate())
    except (wave.Error, EOFError, OSError, ZeroDivisionError):
        return None


def strip_timing(scene: Any, strip: Any, duration: float | None) -> StripTiming:
    fps = scene_fps(scene.render.fps, scene.render.fps_base)
    if duration is None and getattr(strip, "frame_duration", 0) > 0:
        duration = strip.frame_duration / fps       # Blender's own length of the sound, frames
    return StripTiming(
        frame_start=float(strip.frame_start),
        frame_final_start=float(strip.frame_final_start),
        frame_final_end=float(strip.frame_final_end),
        fps=fps,
        sound_offset=float(getattr(strip, "sound_offset", 0.0)),          # 4.5+
        animation_offset_start=float(getattr(strip, "animation_offset_start", 0.0)),
        file_duration=duration,
    )


WAV_SUFFIXES = (".wav", ".wave")
RIFF_MAGIC = (b"RIFF", b"RF64", b"BW64")     # the first four bytes of a WAV file


def check_audio(strip: Any, path: str, duration: float | None) -> None:
    """InputError when the strip's file is not audio or holds none; checked before the strip's
    length (a 1-frame strip Blender makes from a bad file would otherwise say "lengthen it").
    ``duration``: seconds by the WAV header, None when the header was not read."""
    where = f"The file of sound strip {strip.name!r} ({os.path.basename(strip.sound.filepath)})"
    fix = "choose a recording (WAV, FLAC, MP3, OGG) in the strip's sound settings."
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise InputError(f"{where} cannot be read ({exc.strerror}); {fix}") from None
    if size == 0:
        raise InputError(f"{where} is empty (0 bytes): it contains no audio; {fix}")
    if duration is not None and duration <= 0.0:
        raise InputError(f"{where} contains no audio (0 samples); record or export it again.")
    if os.path.splitext(path)[1].lower() in WAV_SUFFIXES and magic not in RIFF_MAGIC:
        raise InputError(f"{where} is named .wav but is not audio; {fix}")
    readable = bool(getattr(bpy.app.build_options, "audaspace", True))
    if duration is None and readable and getattr(strip.sound, "samplerate", 1) == 0:
        raise InputError(f"{where} is not audio Blender can read; {fix}")


def read_strip(scene: Any, name: str = "") -> StripSource:
    """The strip ``name`` (or the active one) of ``scene``, its file and its timing."""
    strip = find_strip(scene, name)
    warnings = []
    if strip.mute:
        warnings.append(f"Sound strip {strip.name!r} is muted; lip sync was made from it anyway.")
    path, tmp = _audio_file(strip)
    try:
        duration = file_duration(path)
        check_audio(strip, path, duration)
        timing = strip_timing(scene, strip, duration)
    except BaseException:
        if tmp is not None and os.path.exists(tmp):     # a packed sound's copy
            os.unlink(tmp)
        raise
    return StripSource(strip.name, scene.name, path, timing, warnings, tmp)
