"""What a speech encoder is, as a checkpoint records it, and the errors loading or running one raises.

Owns: ``EncoderSpec`` (kind, source, layer, window settings), ``EncoderError``, ``EncodingCancelled``.
May import: the standard library, lipsync_core, lipsync_runtime.errors (no torch), so checkpoint
configs can be read cheaply.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Union

from lipsync_core.params import FRAME_RATE_HZ
from lipsync_runtime.errors import EncoderError  # noqa: F401 (re-exported)

KINDS = ("whisper", "wav2vec2", "hubert", "wavlm")

# Window defaults in seconds, per kind. Whisper: 30 s windows, as Whisper was trained (shorter audio
# is padded with silence, exactly like Whisper's own front end); a 5 s context margin each side is
# computed and discarded, so consecutive windows hop by 20 s. wav2vec2 family: 20 s windows with 2 s
# margins (their transformers attend globally; the positional convolution reaches 1.3 s).
DEFAULT_WINDOWS: dict[str, tuple[float, float]] = {
    "whisper": (30.0, 5.0),
    "wav2vec2": (20.0, 2.0),
    "hubert": (20.0, 2.0),
    "wavlm": (20.0, 2.0),
}

Layer = Union[int, str]  # an index into the hidden states (-1 = last), or "all"


class EncodingCancelled(Exception):
    """``encode`` stopped because its ``cancel`` callback asked it to."""


@dataclass(frozen=True)
class EncoderSpec:
    """Which speech encoder, which layer, and how long audio is windowed (all recorded in checkpoints).

    kind      : "whisper" | "wav2vec2" | "hubert" | "wavlm".
    source    : a hub id ("openai/whisper-base", "facebook/wav2vec2-base") or a local directory.
    layer     : index into the L + 1 hidden states: 0 = the input to the first transformer layer,
                k = the output of layer k, L (or -1) = the encoder's final output (last_hidden_state,
                after any final layer norm); or "all" for all L + 1 stacked, for a learned
                weighted sum.
    window_s  : seconds of audio the encoder sees at once; None = the kind's default.
    margin_s  : seconds of context at each side of a window that is computed and discarded;
                None = the kind's default. Both are rounded to whole 20 ms frames.
    min_window_s : Whisper only. None = every clip shorter than a window is padded to the whole
                window, as Whisper pads (a 2 s line costs a 30 s window); a number = such a clip
                gets a window of max(clip, min_window_s) rounded up to a whole second, with no
                margins (lipsync_runtime.windows.encoder_window_frames), so encoding costs about
                the clip's length. A head trained on one setting should run with the same one.
    """

    kind: str
    source: str
    layer: Layer = -1
    window_s: float | None = field(default=None)
    margin_s: float | None = field(default=None)
    min_window_s: float | None = field(default=None)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise EncoderError(f"Unknown encoder kind {self.kind!r}; choose one of {', '.join(KINDS)}.")
        if not isinstance(self.source, str) or not self.source:
            raise EncoderError("An encoder needs a source: a hub id or a local directory.")
        if isinstance(self.layer, bool) or not (isinstance(self.layer, int) or self.layer == "all"):
            raise EncoderError(f"Encoder layer must be an integer or \"all\", not {self.layer!r}.")
        window, margin = DEFAULT_WINDOWS[self.kind]
        window = float(window if self.window_s is None else self.window_s)
        margin = float(margin if self.margin_s is None else self.margin_s)
        if self.kind == "whisper" and window > 30.0:
            raise EncoderError("Whisper windows cannot be longer than 30 seconds.")
        if not (math.isfinite(window) and math.isfinite(margin)) or margin < 0 or window - 2 * margin < 0.02:
            raise EncoderError(f"Encoder window {window} s with margins {margin} s leaves no centre to keep; "
                               "use a window longer than twice the margin.")
        object.__setattr__(self, "window_s", window)
        object.__setattr__(self, "margin_s", margin)
        if self.min_window_s is not None:
            if self.kind != "whisper":
                raise EncoderError("min_window_s is a Whisper setting; remove it for "
                                   f"{self.kind} encoders, whose windows already fit the clip.")
            minimum = self.min_window_s
            if isinstance(minimum, bool) or not isinstance(minimum, (int, float)) or \
                    not math.isfinite(minimum) or not 0 <= minimum <= window:
                raise EncoderError(f"min_window_s must be a number of seconds from 0 to {window:g}; "
                                   f"got {minimum!r}.")
            object.__setattr__(self, "min_window_s", float(minimum))

    @property
    def window_frames(self) -> int:
        """Window length in 50 Hz frames."""
        return int(round(self.window_s * FRAME_RATE_HZ))  # type: ignore[operator]

    @property
    def margin_frames(self) -> int:
        """Discarded context at each side of a window, in 50 Hz frames."""
        return int(round(self.margin_s * FRAME_RATE_HZ))  # type: ignore[operator]

    @property
    def min_window_frames(self) -> int | None:
        """``min_window_s`` in 50 Hz frames, or None (every short clip gets the full window)."""
        if self.min_window_s is None:
            return None
        return int(round(self.min_window_s * FRAME_RATE_HZ))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with every default resolved (so a checkpoint pins its windows).
        ``min_window_s`` appears only when set, so specs (and feature-cache keys) made before it
        existed stay the same."""
        data = asdict(self)
        if data.get("min_window_s") is None:
            data.pop("min_window_s", None)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EncoderSpec":
        """Inverse of ``to_dict``; unknown keys are refused so a typo cannot pass silently."""
        if not isinstance(data, dict):
            raise EncoderError("An encoder spec must be a JSON object.")
        allowed = {"kind", "source", "layer", "window_s", "margin_s", "min_window_s"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise EncoderError(f"Unknown encoder setting(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}.")
        missing = [key for key in ("kind", "source") if key not in data]
        if missing:
            raise EncoderError(f"The encoder spec lacks {' and '.join(missing)}.")
        return cls(**data)
