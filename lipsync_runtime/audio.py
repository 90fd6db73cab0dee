"""Audio in: any file libsndfile reads -> float32 mono samples at 16 kHz.

Owns: ``load_audio``, ``audio_duration``, ``AudioError`` and ``check_wave`` (what an encoder
accepts).
May import: numpy, soundfile, soxr, lipsync_core (no torch, no bpy). Ships in the extension.

Files are read in blocks from the requested start (the rest of a long file is never read), mixed
down to mono and resampled with soxr's streaming resampler, so memory is the output plus one block.
"""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from lipsync_core.params import SAMPLE_RATE

from .errors import EncoderError

log = logging.getLogger(__name__)

BLOCK_SECONDS = 10.0  # seconds read from the file at a time
MAX_CHANNELS = 2  # mono or stereo; more is refused rather than guessed at
FORMATS_HINT = "WAV, FLAC, OGG or MP3"


class AudioError(Exception):
    """Bad or unreadable audio; ``str()`` is one sentence for a person.

    ``code`` is the worker protocol's error code: "missing_file" or "bad_audio".
    """

    def __init__(self, message: str, code: str = "bad_audio") -> None:
        super().__init__(message)
        self.code = code


def _check_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise AudioError(f"The audio file '{path}' does not exist.", code="missing_file")
    if path.is_dir():
        raise AudioError(f"'{path}' is a folder; choose an audio file ({FORMATS_HINT}).")
    return path


def _unreadable(path: Path) -> AudioError:
    return AudioError(f"'{path.name}' is not audio that can be read ({FORMATS_HINT} expected); "
                      "it may be corrupt or in another format, so convert it to WAV and try again.")


def _open(path: Path) -> sf.SoundFile:
    try:
        handle = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        log.debug("soundfile cannot open %s: %s", path, exc)
        raise _unreadable(path) from None
    except OSError as exc:
        raise AudioError(f"'{path.name}' cannot be opened ({exc.strerror or exc}).") from None
    if handle.channels > MAX_CHANNELS:
        channels = handle.channels
        handle.close()
        raise AudioError(f"'{path.name}' has {channels} channels; export it as mono or stereo and try again.")
    if handle.frames <= 0 or handle.samplerate <= 0:
        handle.close()
        raise AudioError(f"'{path.name}' contains no audio (it is zero length).")
    return handle


def audio_duration(path: str | os.PathLike) -> float:
    """Length of an audio file in seconds (from its header). Raises AudioError."""
    path = _check_path(path)
    with _open(path) as handle:
        return handle.frames / float(handle.samplerate)


def _frame_range(path: Path, frames: int, rate: int, start: float | None,
                 end: float | None) -> tuple[int, int]:
    duration = frames / float(rate)
    for name, value in (("start", start), ("end", end)):
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise AudioError(f"The {name} time must be a number of seconds, not {value!r}.")
    begin = 0.0 if start is None else float(start)
    stop = duration if end is None else float(end)
    if begin < 0:
        raise AudioError(f"The start time ({begin:g} s) cannot be negative.")
    if begin >= duration:
        raise AudioError(f"The start time ({begin:g} s) is at or past the end of '{path.name}', "
                         f"which is {duration:.3f} s long.")
    if stop <= begin:
        raise AudioError(f"The end time ({stop:g} s) must be after the start time ({begin:g} s).")
    if stop > duration:
        log.info("end %.3f s is past the end of %s (%.3f s); reading to the end", stop, path, duration)
        stop = duration
    first = int(round(begin * rate))
    last = min(frames, int(round(stop * rate)))
    if last <= first:
        raise AudioError(f"The range {begin:g}-{stop:g} s of '{path.name}' holds no samples.")
    return first, last


def audio_span(path: str | os.PathLike, start: float | None = None,
               end: float | None = None) -> tuple[float, float, float]:
    """(start, end, duration) in seconds of the range ``load_audio(path, start, end)`` would read,
    without reading it: the same checks and the same one-sentence AudioErrors, an end past the
    file clipped to it."""
    path = _check_path(path)
    with _open(path) as handle:
        rate, frames = int(handle.samplerate), int(handle.frames)
    first, last = _frame_range(path, frames, rate, start, end)
    return first / rate, last / rate, frames / rate


def load_audio(path: str | os.PathLike, start: float | None = None,
               end: float | None = None) -> np.ndarray:
    """Read ``path`` as float32 mono at 16 kHz.

    Parameters
    ----------
    path : any file libsndfile reads (WAV, FLAC, OGG, MP3 ...); non-ASCII paths are fine.
    start, end : optional seconds of the file to keep (None = its start / its end). An end past
        the file is clipped to the file; a start at or past the end, or end <= start, is an error.

    Returns
    -------
    np.ndarray, (samples,) float32 at SAMPLE_RATE. Silence is returned as silence, not an error.

    Raises
    ------
    AudioError with one sentence for a person.
    """
    path = _check_path(path)
    with _open(path) as handle:
        rate = int(handle.samplerate)
        first, last = _frame_range(path, handle.frames, rate, start, end)
        resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ") \
            if rate != SAMPLE_RATE else None
        pieces: list[np.ndarray] = []
        block = max(1, int(BLOCK_SECONDS * rate))
        try:
            handle.seek(first)
            position = first
            while position < last:
                count = min(block, last - position)
                data = handle.read(count, dtype="float32", always_2d=True)  # (count, channels)
                if data.shape[0] == 0:
                    break  # the header promised more than the file holds: keep what was read
                position += data.shape[0]
                mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
                if not np.all(np.isfinite(mono)):
                    raise AudioError(f"'{path.name}' contains invalid samples (NaN or infinity); "
                                     "re-export it and try again.")
                if resampler is not None:
                    mono = resampler.resample_chunk(mono, last=position >= last)
                pieces.append(np.ascontiguousarray(mono, dtype=np.float32))
            if resampler is not None and position < last:
                pieces.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
        except (sf.LibsndfileError, RuntimeError) as exc:
            log.debug("soundfile failed reading %s: %s", path, exc)
            raise _unreadable(path) from None
    wave = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    if wave.size == 0:
        raise AudioError(f"'{path.name}' contains no readable audio in the requested range.")
    return wave


def check_wave(wave: np.ndarray) -> np.ndarray:
    """``wave`` as (samples,) float32 for an encoder; EncoderError (one sentence) if it is not
    mono, empty or finite. Both engines' encoders call this."""
    wave = np.asarray(wave)
    if wave.ndim != 1:
        raise EncoderError(f"The encoder takes mono audio shaped (samples,), not {wave.shape}.")
    if wave.size == 0:
        raise EncoderError("There is no audio to encode (zero samples).")
    if not np.all(np.isfinite(wave)):
        raise EncoderError("The audio contains NaN or infinite samples.")
    return wave.astype(np.float32, copy=False)
