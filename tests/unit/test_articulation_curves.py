"""Coarticulation behaviours (issue 5 section 1), each against a contrasting context.

Utterances are hand-timed phone lists with silence around them. Times in seconds; curves are
sampled at frame k = k / rate seconds (1000 Hz where a timing is measured, else 50 Hz).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from inference.articulation import Segment, curves_from_phones, curves_from_segments
from inference.articulation.inventory import INVENTORY
from lipsync_core.params import PARAMS, index_of

PAD = 0.4          # seconds of silence before and after each utterance


def utter(symbols, durations, pad=PAD):
    """(phones with silence around, [(start, end)] of each symbol)."""
    phones, spans, t = [("sil", 0.0, pad)], [], pad
    for sym, dur in zip(symbols, durations):
        phones.append((sym, t, t + dur))
        spans.append((t, t + dur))
        t += dur
    phones.append(("sil", t, t + pad))
    return phones, spans


def col(curves, name):
    return curves[:, index_of(name)]


def at(curves, name, t, rate=50.0):
    """Value of a parameter at the frame nearest time t."""
    return float(col(curves, name)[int(round(t * rate))])


def over(curves, name, t0, t1, rate=50.0):
    """Values of a parameter on frames whose time lies in [t0, t1]."""
    k0, k1 = int(math.ceil(t0 * rate - 1e-9)), int(math.floor(t1 * rate + 1e-9))
    return col(curves, name)[k0:k1 + 1]


def mid(span):
    return 0.5 * (span[0] + span[1])


# ------------------------------------------------------------------ shape and range
def test_frames_count_dtype_and_ranges_on_every_phone():
    symbols = [s for s in INVENTORY if s != "sil"] * 2
    phones, _ = utter(symbols, [0.07] * len(symbols))
    segments = [Segment(*p) for p in phones]
    for rate in (50.0, 24.0):
        curves = curves_from_segments(segments, frame_rate=rate)
        assert curves.dtype == np.float32
        assert curves.shape == (math.ceil(phones[-1][2] * rate - 1e-9), len(PARAMS))
        assert np.isfinite(curves).all()
        for p in PARAMS:
            values = col(curves, p.name)
            assert values.min() >= p.low and values.max() <= p.high, p.name


def test_duration_pads_at_rest_and_empty_input_is_rest():
    phones, _ = utter(["M", "AA1"], [0.08, 0.15])
    short = curves_from_phones(phones, "arpabet")
    longer = curves_from_phones(phones, "arpabet", duration=3.0)
    assert longer.shape[0] == 150 and short.shape[0] == math.ceil(phones[-1][2] * 50)
    np.testing.assert_allclose(longer[:len(short)], short, atol=1e-6)
    assert np.abs(longer[-20:]).max() < 1e-3
    assert np.abs(curves_from_phones([], "arpabet", duration=1.0)).max() == 0.0


def test_frame_k_is_time_k_over_rate():
    phones, _ = utter("W IY1 N UW1 M AA1 P".split(), [0.07, 0.12, 0.07, 0.2, 0.08, 0.15, 0.09])
    c50 = curves_from_phones(phones, "arpabet", frame_rate=50.0)
    c100 = curves_from_phones(phones, "arpabet", frame_rate=100.0)
    np.testing.assert_allclose(c100[::2][:len(c50)], c50, atol=1e-6)


# ------------------------------------------------------------------ bilabials
@pytest.mark.parametrize("bilabial,contrast", [("M", "N"), ("P", "T"), ("B", "D")])
@pytest.mark.parametrize("vowel", ["AA1", "IY1", "UW1"])
def test_bilabials_close_the_lips_where_alveolars_do_not(bilabial, contrast, vowel):
    lips = []
    for cons in (bilabial, contrast):
        phones, spans = utter([vowel, cons, vowel], [0.15, 0.08, 0.15])
        c = curves_from_phones(phones, "arpabet")
        first_half = (spans[1][0], mid(spans[1]))       # the lips part a little before the burst
        lips.append((over(c, "mouth_close", *first_half).min(),
                     over(c, "jaw_open", *first_half).max(),
                     over(c, "mouth_open", *first_half).max()))
    (close, jaw, open_), (close_alv, _, open_alv) = lips
    assert close >= 0.95 and jaw <= 0.1 and open_ <= 0.05
    assert close_alv <= 0.05 and open_alv >= open_ + 0.05


def test_short_bilabial_in_fast_speech_still_closes_fully():
    phones, spans = utter("AH0 B AA1 B AH0".split(), [0.05, 0.04, 0.06, 0.04, 0.05])
    c = curves_from_phones(phones, "arpabet")
    for k in (1, 3):
        assert over(c, "mouth_close", *spans[k]).max() >= 0.95
    # and the vowel between them still opens
    assert over(c, "jaw_open", *spans[2]).max() >= 0.25


def test_lip_press_peaks_just_before_the_release():
    rate = 1000.0
    for sym, dur in (("P", 0.09), ("M", 0.12), ("B", 0.07)):
        phones, spans = utter(["AA1", sym, "AA1"], [0.15, dur, 0.15])
        c = curves_from_phones(phones, "arpabet", frame_rate=rate)
        start, release = spans[1]
        press, close = col(c, "lip_press_left"), col(c, "mouth_close")
        k_peak = int(np.argmax(press))
        assert start <= k_peak / rate <= release, sym
        # at its peak the lips are still sealed, and they part within the next 30 ms
        assert close[k_peak] >= 0.95 and close[k_peak + 30] < 0.95, sym
        k_seal = int(np.nonzero(close >= 0.95)[0][0])
        assert np.all(np.diff(press[k_seal:k_peak]) >= 0)          # rising through the closure
        assert press[k_seal] < 0.7 * press.max()
        assert press[int((release + 0.06) * rate)] < 0.05         # gone after the release
        np.testing.assert_allclose(press, col(c, "lip_press_right"))
    # a vowel context without bilabials never presses
    phones, _ = utter(["AA1", "T", "AA1"], [0.15, 0.09, 0.15])
    assert col(curves_from_phones(phones, "arpabet"), "lip_press_left").max() == 0.0


# ------------------------------------------------------------------ f / v
def test_f_and_v_roll_the_lower_lip_where_s_and_z_do_not():
    durs = [0.1, 0.18, 0.07, 0.08, 0.15, 0.07, 0.1]
    five, spans = utter("F AY1 V V AE1 N Z".split(), durs)           # "five vans"
    size, _ = utter("S AY1 Z Z AE1 N Z".split(), durs)               # "size zans"
    cf, cs = curves_from_phones(five, "arpabet"), curves_from_phones(size, "arpabet")
    for k in (0, 2, 3):                                    # f and the two v
        assert at(cf, "lip_roll_lower", mid(spans[k])) >= 0.7
        assert at(cs, "lip_roll_lower", mid(spans[k])) <= 0.05
        assert at(cf, "mouth_close", mid(spans[k])) <= 0.05
    assert at(cf, "lip_roll_lower", mid(spans[4])) < 0.3          # off again in the vowel


# ------------------------------------------------------------------ rounding
def test_w_and_u_pucker_where_y_and_i_spread():
    durs = [0.07, 0.12, 0.07, 0.2]
    we, spans = utter("W IY1 N UW1".split(), durs)                  # "we knew"
    ye, _ = utter("Y IY1 N IY1".split(), durs)                      # "ye knee"
    cw, cy = curves_from_phones(we, "arpabet"), curves_from_phones(ye, "arpabet")
    for k in (0, 3):
        assert at(cw, "lip_pucker", mid(spans[k])) >= 0.5
        assert at(cy, "lip_pucker", mid(spans[k])) <= 0.1
    assert at(cw, "lip_pucker", mid(spans[3])) > at(cw, "lip_pucker", mid(spans[1])) + 0.3
    assert at(cy, "lip_stretch_left", mid(spans[3])) > at(cw, "lip_stretch_left", mid(spans[3]))


def _japanese(symbols, durations):
    phones, spans = utter(symbols, durations)
    return curves_from_phones(phones, "openjtalk", "ja", frame_rate=1000.0), spans


def test_rounding_of_the_final_vowel_shows_during_ga():
    durs = [0.1, 0.04, 0.07, 0.05, 0.09, 0.06, 0.1, 0.1]
    to, spans = _japanese("a r i g a t o u".split(), durs)          # ありがとう
    ta, _ = _japanese("a r i g a t a i".split(), durs)              # ありがたい
    g_start, a_end = spans[3][0], spans[4][1]

    def rounding(c, t):
        return at(c, "lip_pucker", t, 1000.0) + at(c, "lip_funnel", t, 1000.0)
    # rising through が in ありがとう ...
    assert rounding(to, a_end) > rounding(to, g_start) + 0.2
    # ... and above ありがたい, whose が is followed by a spread vowel
    assert rounding(to, a_end) > rounding(ta, a_end) + 0.3
    assert rounding(to, mid((g_start, a_end))) > rounding(ta, mid((g_start, a_end))) + 0.1
    assert rounding(to, a_end) > rounding(ta, g_start) + 0.2
    # and it is anticipation: before the ga, the two words still look alike
    assert abs(rounding(to, spans[1][0]) - rounding(ta, spans[1][0])) < 0.05


# ------------------------------------------------------------------ ん and っ
def test_moraic_nasal_closes_before_p_and_opens_before_k():
    durs = [0.1, 0.1, 0.1, 0.08, 0.15]
    sanpo, spans = _japanese("s a N p o".split(), durs)             # さんぽ
    sanka, _ = _japanese("s a N k a".split(), durs)                 # さんか
    n_mid = mid(spans[2])
    assert at(sanpo, "mouth_close", n_mid, 1000.0) >= 0.95
    assert at(sanka, "mouth_close", n_mid, 1000.0) <= 0.05
    aperture_ka = at(sanka, "jaw_open", n_mid, 1000.0) + at(sanka, "mouth_open", n_mid, 1000.0)
    aperture_po = at(sanpo, "jaw_open", n_mid, 1000.0) + at(sanpo, "mouth_open", n_mid, 1000.0)
    assert aperture_ka >= 0.3 and aperture_po <= 0.1
    # one closure for ん + p: the press rises once, to its peak before p's release
    press = col(sanpo, "lip_press_left")
    seg = press[int(spans[2][0] * 1000):int(spans[3][1] * 1000)]
    assert np.all(np.diff(seg[:np.argmax(seg)]) >= -1e-6)


def test_moraic_nasal_before_t_is_alveolar_and_before_vowels_nasal_vowel_like():
    honto, spans = _japanese("h o N t o".split(), [0.08, 0.1, 0.1, 0.06, 0.15])   # ほんと
    honya, _ = _japanese("h o N y a".split(), [0.08, 0.1, 0.1, 0.06, 0.15])       # ほんや
    n_mid = mid(spans[2])
    assert at(honto, "tongue_up", n_mid, 1000.0) >= 0.6
    assert at(honya, "tongue_up", n_mid, 1000.0) <= 0.2
    for c in (honto, honya):
        assert at(c, "mouth_close", n_mid, 1000.0) <= 0.05
        assert at(c, "jaw_open", n_mid, 1000.0) >= 0.1


def test_sokuon_holds_the_next_consonant():
    ippai, spans = _japanese("i cl p a i".split(), [0.1, 0.12, 0.06, 0.12, 0.1])  # いっぱい
    itte, _ = _japanese("i cl t e".split(), [0.1, 0.12, 0.06, 0.15])              # いって
    ikkai, _ = _japanese("i cl k a i".split(), [0.1, 0.12, 0.06, 0.12, 0.1])      # いっかい
    hold = (spans[1][0] + 0.01, spans[2][0] + 0.01)          # っ and into the consonant
    assert over(ippai, "mouth_close", *hold, rate=1000.0).min() >= 0.95
    assert over(itte, "mouth_close", *hold, rate=1000.0).max() <= 0.05
    # the tongue holds the t from the middle of っ on (its release leads the sound a little)
    tongue_hold = (mid(spans[1]), spans[2][0])
    assert over(itte, "tongue_up", *tongue_hold, rate=1000.0).min() >= 0.6
    assert over(ikkai, "tongue_up", *tongue_hold, rate=1000.0).max() <= 0.2
    press = col(ippai, "lip_press_left")
    assert spans[2][0] <= np.argmax(press) / 1000.0 <= spans[2][1]   # one peak, at p


def test_japanese_ipa_from_espeak_gives_the_same_nasal_contrast():
    durs = [0.1, 0.1, 0.1, 0.08, 0.15]
    sanpo, spans = utter(["s", "ä", "ũ", "p", "o̞"], durs)
    sanka, _ = utter(["s", "ä", "ŋ", "k", "ä"], durs)
    cp = curves_from_phones(sanpo, "ipa", "ja")
    ck = curves_from_phones(sanka, "ipa", "ja")
    assert at(cp, "mouth_close", mid(spans[2])) >= 0.95
    assert at(ck, "mouth_close", mid(spans[2])) <= 0.05


# ------------------------------------------------------------------ lead
def _crossing(values, level, after=0):
    """First index >= after where values reach level (linear)."""
    idx = np.nonzero(values[after:] >= level)[0]
    return after + int(idx[0]) if len(idx) else None


def test_mouth_starts_opening_50_to_100_ms_before_the_first_vowel():
    rate = 1000.0
    leads = {}
    for lead in (True, False):
        phones, spans = utter(["AA1", "T", "AH0"], [0.2, 0.08, 0.12])
        c = curves_from_phones(phones, "arpabet", frame_rate=rate, lead=lead)
        jaw = col(c, "jaw_open")
        peak = jaw[int(spans[0][0] * rate):int(spans[0][1] * rate)].max()
        t_open = _crossing(jaw, 0.2 * peak) / rate       # "starts opening": 20 % of its peak
        leads[lead] = (spans[0][0] - t_open) * 1000.0
    assert 50.0 <= leads[True] <= 100.0
    assert leads[True] - leads[False] >= 25.0              # the lead, not the blending, does it


def test_lips_start_closing_50_to_100_ms_before_a_bilabial_closure():
    rate = 1000.0
    phones, spans = utter(["AA1", "M", "AA1"], [0.2, 0.1, 0.2])
    c = curves_from_phones(phones, "arpabet", frame_rate=rate)
    close = col(c, "mouth_close")
    closure = spans[1][0]
    t_start = _crossing(close, 0.1) / rate
    assert 0.05 <= closure - t_start <= 0.1
    assert close[int(closure * rate)] >= 0.95              # sealed when the sound stops


def _interior_lag(dur):
    """ms the jaw's rise into a vowel after k moves earlier with the lead (crossing of 50 %)."""
    rate = 1000.0
    out = []
    for lead in (True, False):
        phones, spans = utter(["IY1", "K", "AA1", "K", "IY1"], [dur] * 5)
        jaw = col(curves_from_phones(phones, "arpabet", frame_rate=rate, lead=lead), "jaw_open")
        lo, hi = jaw[int(mid(spans[0]) * rate)], jaw[int(mid(spans[2]) * rate)]
        out.append(_crossing(jaw, 0.5 * (lo + hi), after=int(mid(spans[0]) * rate)))
    return out[1] - out[0]


def test_lead_inside_speech_is_shorter_in_fast_speech():
    fast, normal = _interior_lag(0.05), _interior_lag(0.12)
    assert 15 <= fast <= 25
    assert 30 <= normal <= 45
    assert normal > fast


# ------------------------------------------------------------------ silence and smoothness
def test_silence_relaxes_to_rest_with_an_ease_not_a_step():
    phones, spans = utter("HH AH0 L OW1 sil W ER1 L D".split(),
                          [0.06, 0.06, 0.07, 0.2, 0.8, 0.07, 0.12, 0.06, 0.06])
    c = curves_from_phones(phones, "arpabet")
    pause = spans[4]
    inner = c[int((pause[0] + 0.25) * 50):int((pause[1] - 0.25) * 50)]
    assert np.abs(inner - np.array([p.rest for p in PARAMS])).max() < 0.01
    assert np.abs(c[-5:]).max() < 0.01 and np.abs(c[:5]).max() < 0.01
    jaw = col(c, "jaw_open")
    start = int(spans[3][0] * 50)
    high = jaw[start:start + 10].max()
    k_high = start + int(np.argmax(jaw[start:start + 10]))
    after = jaw[k_high:int(pause[1] * 50)]
    between = np.sum((after < 0.8 * high) & (after > 0.1 * high))
    assert between >= 2                                   # at least 40 ms of easing
    assert np.abs(np.diff(after)).max() <= 0.5 * high


def _sentence():
    rng = np.random.default_rng(1)
    symbols = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH "
               "T TH UH UW V W Y Z ZH").split()
    seq = [symbols[i] + ("1" if len(symbols[i]) == 2 and symbols[i][0] in "AEIOU" else "")
           for i in rng.integers(0, len(symbols), 120)]
    durs = rng.uniform(0.04, 0.16, len(seq))
    return utter(seq, durs)


def test_curves_are_continuous_without_steps():
    phones, _ = _sentence()
    fine = curves_from_phones(phones, "arpabet", frame_rate=1000.0)
    # no discontinuities: at 1 ms a step would show as a jump; the fastest gesture (a lip
    # release) moves the full range in about 50 ms
    assert np.abs(np.diff(fine, axis=0)).max() <= 0.04
    # at 50 Hz the 40 ms raised-cosine release moves at most sin(pi / 4) = 0.71 per frame
    c50 = curves_from_phones(phones, "arpabet")
    assert np.abs(np.diff(c50, axis=0)).max() <= 0.75


def test_curves_do_not_jitter():
    phones, _ = _sentence()
    c = curves_from_phones(phones, "arpabet")
    n_phones = len(phones)
    for p in PARAMS:
        v = col(c, p.name).astype(np.float64)
        d = np.diff(v)
        d = d[np.abs(d) > 2e-3]                           # ignore holds
        reversals = int(np.sum(np.sign(d[1:]) != np.sign(d[:-1])))
        assert reversals <= n_phones, p.name              # at most a turn per phone
    # and random frame noise of 0.02 would turn far more often
    noisy = col(c, "jaw_open") + np.random.default_rng(0).normal(0, 0.02, len(c))
    d = np.diff(noisy)
    assert int(np.sum(np.sign(d[1:]) != np.sign(d[:-1]))) > n_phones
