"""Aligning speech to a synthetic reading (inference/corpus/synth_align.py), on real components:
the Whisper-base encoder from ``make encoder``, Piper's joe voice as the "recording" (natural
speech with exact phone times) and espeak-ng, at a different speed, as the synthetic reading."""
from __future__ import annotations

import difflib

import numpy as np
import pytest

from inference.corpus.synth_align import align_to_synthesis, dtw_path

TEXT = "Bob moved the map, and we paid for five blue boots."


def test_dtw_path_follows_a_stretched_copy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((12, 8))
    b = np.repeat(a, 2, axis=0)                      # every frame twice: a at half speed
    path = dtw_path(a, b)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (11, 23)
    assert np.all(np.diff(path, axis=0) >= 0)
    for i, j in path:
        assert j // 2 == i                           # each b frame is matched to its source
    with pytest.raises(ValueError, match="Cannot warp"):
        dtw_path(a, rng.standard_normal((5, 3)))


def _boundary_errors(phones, reference):
    """Signed errors (s) of inner boundaries whose phone symbols match between the two lists."""
    match = difflib.SequenceMatcher(a=[p[0] for p in phones], b=[p[0] for p in reference],
                                    autojunk=False)
    return np.array([phones[m.a + k][1] - reference[m.b + k][1]
                     for m in match.get_matching_blocks() for k in range(m.size)
                     if m.a + k > 0 and m.b + k > 0])


@pytest.mark.slow
def test_espeak_reading_warps_onto_piper_speech():
    pytest.importorskip("piper")
    pytest.importorskip("espeakng_loader")
    import torch
    from inference.corpus.espeak import EspeakEngine
    from inference.corpus.format import to_16k
    from inference.corpus.piper_tts import PiperEngine
    from inference.encoders import EncoderSpec, load_encoder
    torch.set_num_threads(2)
    real = PiperEngine().synthesize(TEXT, {})
    synth = EspeakEngine("en-US", "en").synthesize(TEXT, {"rate": 220})
    real16k, synth16k = to_16k(real.audio, real.sample_rate), to_16k(synth.audio, synth.sample_rate)
    encoder = load_encoder(EncoderSpec.from_dict({"kind": "whisper",
                                                  "source": "openai/whisper-base"}))
    phones = align_to_synthesis(real16k, synth16k, synth.phones,
                                lambda wave: np.asarray(encoder.encode(wave)))
    duration = len(real16k) / 16000
    assert phones[0][1] == 0.0 and phones[-1][2] == pytest.approx(duration, abs=1e-3)
    assert all(a < b for _, a, b in phones) and all(
        p[2] == q[1] for p, q in zip(phones, phones[1:]))
    warped = _boundary_errors(phones, real.phones)
    unwarped = _boundary_errors([tuple(p) for p in synth.phones], real.phones)
    assert len(warped) >= 20
    # Measured: 31 ms mean absolute error after warping (34 boundaries) against 298 ms before;
    # a robotic reading onto a natural voice is the hard case (Open JTalk onto JSUT: 17 ms).
    assert np.abs(warped).mean() < 0.045
    assert np.abs(warped).mean() < 0.5 * np.abs(unwarped).mean()
