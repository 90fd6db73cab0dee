"""Rig-aware retargeting: ARKit's mouthClose/jawOpen convention and the viseme solve (no bpy)."""
import numpy as np
import pytest

from lipsync_core import mapping as m
from lipsync_core import retarget
from lipsync_core import viseme_solve as vs
from lipsync_core.params import BY_NAME, NUM_PARAMS


def curves_with(n=3, **values):
    c = np.zeros((n, NUM_PARAMS))
    for name, v in values.items():
        c[:, BY_NAME[name].index] = v
    return c


# -- ARKit --------------------------------------------------------------------------------------

def test_arkit_mouth_close_never_exceeds_jaw_open_and_the_jaw_opens_through_a_seal():
    preset = m.load_preset("arkit")
    rng = np.random.default_rng(0)
    c = np.clip(rng.random((500, NUM_PARAMS)) * 1.2, 0, 1)
    out = retarget.shape_values(c, preset, intensity=1.5)
    assert np.all(out["mouthClose"] <= out["jawOpen"] + 1e-6)
    # a seal with the jaw shut in the curves: jaw a little open, mouthClose equal to it
    seal = retarget.shape_values(curves_with(mouth_close=1.0, mouth_open=0.3), preset)
    assert seal["jawOpen"][0] == pytest.approx(preset.options.seal_jaw)
    assert seal["mouthClose"][0] == pytest.approx(seal["jawOpen"][0])
    assert seal["mouthLowerDownLeft"][0] == 0.0 and seal["mouthUpperUpRight"][0] == 0.0
    # a seal on an open jaw closes the lips by the jaw's amount
    wide = retarget.shape_values(curves_with(mouth_close=0.9, jaw_open=0.3), preset)
    assert wide["mouthClose"][0] == pytest.approx(wide["jawOpen"][0]) == pytest.approx(0.3)
    # no closure: mouthClose stays at 0 while the mouth opens
    open_ = retarget.shape_values(curves_with(jaw_open=0.6, mouth_open=0.4), preset)
    assert open_["mouthClose"][0] == 0.0 and open_["mouthLowerDownLeft"][0] == pytest.approx(0.2)


def test_a_curve_the_evaluation_counts_as_closed_plays_as_a_full_seal():
    """mouth_close at MOUTH_CLOSE_SEALED (the closure test of inference/training/metrics.py) seals
    the lips on every convention: ARKit's mouthClose reaches jawOpen, the Oculus solve shows PP
    at full weight with the open visemes gone."""
    from lipsync_core.params import MOUTH_CLOSE_SEALED
    c = curves_with(mouth_close=MOUTH_CLOSE_SEALED, jaw_open=0.3, mouth_open=0.2)
    arkit = retarget.shape_values(c, m.load_preset("arkit"))
    assert arkit["mouthClose"][0] == pytest.approx(arkit["jawOpen"][0])
    assert arkit["mouthLowerDownLeft"][0] == 0.0
    oculus = retarget.shape_values(c, m.load_preset("oculus"))
    assert oculus["viseme_PP"][0] == pytest.approx(1.0)
    assert oculus["viseme_aa"][0] == pytest.approx(0.0, abs=1e-9)


def test_arkit_press_roll_pucker_keep_their_own_meaning_through_a_seal():
    out = retarget.shape_values(curves_with(mouth_close=1.0, lip_press_left=0.6, lip_roll_lower=0.5,
                                            lip_pucker=0.4, lip_funnel=0.5), m.load_preset("arkit"))
    assert out["mouthPressLeft"][0] == pytest.approx(0.6)
    assert out["mouthRollLower"][0] == pytest.approx(0.5)
    assert out["mouthPucker"][0] == pytest.approx(0.4)
    assert out["mouthFunnel"][0] == 0.0                 # the funnel opens the lips: a seal wins


# f, v as the shipped model plays them on real English (lip_roll_lower 0.6-0.75, the jaw left at
# 0.25 by its neighbours), and a short vowel's frame that a following v shares
FV = dict(lip_roll_lower=0.73, jaw_open=0.25, mouth_open=0.14, upper_lip_up_left=0.19,
          upper_lip_up_right=0.19, lower_lip_down_left=0.11, lower_lip_down_right=0.11)


def test_a_tuck_brings_the_lower_lip_up_to_the_teeth():
    """On f/v the lower lip's openers give way and the jaw nearly closes (TUCK_JAW), on ARKit
    and in the solve; the upper lip and the roll itself keep their values."""
    arkit = retarget.shape_values(curves_with(**FV), m.load_preset("arkit"))
    assert arkit["jawOpen"][0] == pytest.approx(retarget.TUCK_JAW)
    assert arkit["mouthLowerDownLeft"][0] == 0.0
    assert arkit["mouthRollLower"][0] == pytest.approx(0.73)
    assert arkit["mouthUpperUpLeft"][0] == pytest.approx(0.5 * 0.19)
    oculus = retarget.shape_values(curves_with(**FV), m.load_preset("oculus"), fps=24.0)
    assert max(oculus, key=lambda k: oculus[k][0]) == "viseme_FF"
    assert oculus["viseme_aa"][0] == pytest.approx(0.0, abs=1e-9)


def test_a_tuck_gives_way_to_a_vowels_open_jaw_and_needs_a_roll():
    arkit = m.load_preset("arkit")
    vowel = retarget.shape_values(curves_with(**{**FV, "jaw_open": retarget.TUCK_GIVE_HI}), arkit)
    assert vowel["jawOpen"][0] == pytest.approx(retarget.TUCK_GIVE_HI)
    half = (retarget.TUCK_GIVE_LO + retarget.TUCK_GIVE_HI) / 2
    between = retarget.shape_values(curves_with(**{**FV, "jaw_open": half}), arkit)
    assert retarget.TUCK_JAW < between["jawOpen"][0] < half
    no_roll = retarget.shape_values(curves_with(**{**FV, "lip_roll_lower": retarget.TUCK_LO}), arkit)
    assert no_roll["jawOpen"][0] == pytest.approx(0.25)
    assert no_roll["mouthLowerDownLeft"][0] > 0.0


def test_arkit_convention_holds_on_cc4_names():
    rig = ["Jaw_Open", "Mouth_Close", "Mouth_Down_Lower_L", "Mouth_Funnel_Up_L", "Mouth_Funnel_Down_R"]
    resolved, _ = m.resolve(m.load_preset("arkit"), rig)
    out = retarget.shape_values(curves_with(mouth_close=1.0, jaw_open=0.2, lip_funnel=0.4), resolved)
    assert out["Mouth_Close"][0] == pytest.approx(out["Jaw_Open"][0]) == pytest.approx(0.2)
    assert out["Mouth_Funnel_Up_L"][0] == out["Mouth_Funnel_Down_R"][0] == 0.0


def test_a_plain_table_is_left_alone():
    table = m.Mapping("t", (m.Row("mouth_close", "close"), m.Row("jaw_open", "jaw")))
    out = retarget.shape_values(curves_with(mouth_close=1.0, jaw_open=0.1), table)
    assert out["close"][0] == 1.0 and out["jaw"][0] == pytest.approx(0.1)


# -- the solve ----------------------------------------------------------------------------------

def _random_problem(n, s, seed=1):
    rng = np.random.default_rng(seed)
    sig = np.abs(rng.normal(size=(s, vs.NUM_FEATURES))) * (rng.random((s, vs.NUM_FEATURES)) < 0.3)
    x = np.abs(rng.normal(size=(n, vs.NUM_FEATURES))) * 0.4
    return x, sig


def test_solve_meets_the_bounded_nnls_optimality_conditions():
    x, sig = _random_problem(400, 15)
    d = vs.importance()
    w = vs.solve(x, sig, d)
    assert w.shape == (400, 15) and w.min() >= 0.0 and w.max() <= 1.0
    assert vs.kkt_violation(w, x, sig, d) < 1e-9
    # and it beats random feasible points
    obj = lambda ww: (((ww @ sig - x) * d) ** 2).sum(1) + vs.RIDGE * (ww ** 2).sum(1)
    for seed in range(5):
        other = np.random.default_rng(seed).random(w.shape)
        assert np.all(obj(w) <= obj(other) + 1e-9)


def test_solve_recovers_a_known_mix():
    preset = m.load_preset("oculus")
    shapes = list(preset.shape_keys)
    sig = vs.signature_matrix([(r.shape_key, r.parameter, r.half, r.weight) for r in preset.rows],
                              shapes)
    truth = np.zeros((2, len(shapes)))
    truth[0, shapes.index("viseme_aa")] = 0.8
    truth[1, shapes.index("viseme_U")] = 0.6
    truth[1, shapes.index("viseme_FF")] = 0.3
    w = vs.solve(truth @ sig, sig, vs.importance(), ridge=1e-9)
    assert np.abs(w - truth).max() < 0.02


@pytest.mark.parametrize("name,closure,opens", [
    ("oculus", "viseme_PP", ["viseme_aa", "viseme_E", "viseme_O", "viseme_kk", "viseme_DD"]),
    ("vroid", "Fcl_MTH_Close", ["Fcl_MTH_A", "Fcl_MTH_E", "Fcl_MTH_O"]),
    ("rhubarb", "A", ["C", "D", "E"]),
    ("vrm", None, ["A", "I", "U", "E", "O"]),
])
def test_a_closure_wins_over_the_open_shapes(name, closure, opens):
    # the m of "might": closure with a jaw still half open and some pucker, as the model gives
    c = curves_with(mouth_close=0.82, jaw_open=0.4, mouth_open=0.3, lip_pucker=0.2,
                    lip_press_left=0.3, lip_press_right=0.3)
    out = retarget.shape_values(c, m.load_preset(name), fps=24.0)
    if closure:
        assert out[closure][0] >= 0.8
    for key in opens:
        assert out[key][0] <= 0.05, key


# the shipped model's mean parameters over real English open vowels and /u/ (speech_en.wav)
AA = dict(jaw_open=0.45, mouth_open=0.32, lower_lip_down_left=0.23, lower_lip_down_right=0.23,
          lip_stretch_left=0.18, lip_stretch_right=0.18, tongue_up=0.12, mouth_close=0.1)
UU = dict(jaw_open=0.18, mouth_open=0.22, lip_pucker=0.47, lip_funnel=0.27, tongue_up=0.17,
          lower_lip_down_left=0.09, lower_lip_down_right=0.09, mouth_close=0.19)


def test_open_vowel_opens_and_rounded_vowel_rounds():
    for name, open_key, round_key in [("oculus", "viseme_aa", "viseme_U"), ("vrm", "A", "U"),
                                      ("rhubarb", "D", "F")]:
        preset = m.load_preset(name)
        a = retarget.shape_values(curves_with(**AA), preset, fps=24.0)
        assert max(a, key=lambda k: a[k][0]) == open_key
        u = retarget.shape_values(curves_with(**UU), preset, fps=24.0)
        assert max(u, key=lambda k: u[k][0]) == round_key


# the shipped model's mean curves at the middle of real O, U and sh/ch (held-out valid speech in
# five languages): its rounding hardly tells them apart, so the signatures must
MODEL_O = dict(jaw_open=0.38, mouth_open=0.23, lip_pucker=0.36, lip_funnel=0.30, tongue_up=0.19,
               lower_lip_down_left=0.15, lower_lip_down_right=0.15, lip_stretch_left=0.05,
               lip_stretch_right=0.05, mouth_close=0.11)
MODEL_U = dict(jaw_open=0.29, mouth_open=0.14, lip_pucker=0.38, lip_funnel=0.24, tongue_up=0.17,
               lower_lip_down_left=0.11, lower_lip_down_right=0.11, lip_stretch_left=0.10,
               lip_stretch_right=0.10, mouth_close=0.15)
MODEL_CH = dict(jaw_open=0.28, mouth_open=0.12, lip_pucker=0.31, lip_funnel=0.20, tongue_up=0.30,
                lower_lip_down_left=0.11, lower_lip_down_right=0.11, upper_lip_up_left=0.05,
                upper_lip_up_right=0.05, lip_stretch_left=0.16, lip_stretch_right=0.16,
                mouth_close=0.05)


def test_oculus_rounded_vowels_are_o_and_u_not_ch():
    """Rounded vowels solve mostly to O and U; sh/ch still to CH. With CH as rounded as O, an O
    solved to CH 0.91 + aa 0.40, and Ready Player Me's CH hardly narrows the mouth."""
    preset = m.load_preset("oculus")
    for vowel in (MODEL_O, MODEL_U):
        w = retarget.shape_values(curves_with(**vowel), preset, fps=24.0)
        assert w["viseme_O"][0] + w["viseme_U"][0] > w["viseme_CH"][0], w
    ch = retarget.shape_values(curves_with(**MODEL_CH), preset, fps=24.0)
    assert max(ch, key=lambda k: ch[k][0]) == "viseme_CH"


def test_hold_mode_shows_one_shape_at_a_time_for_at_least_the_hold():
    preset = m.load_preset("rhubarb")                      # hold, 60 ms
    n = 40
    c = curves_with(n, **AA)
    c[10, BY_NAME["lip_pucker"].index] = 0.9               # a one-frame flicker to F
    c[10, BY_NAME["jaw_open"].index] = 0.1
    c[20:22, BY_NAME["mouth_close"].index] = 1.0           # a short closure must survive
    out = retarget.shape_values(c, preset, fps=50.0)       # 60 ms = 3 frames
    stack = np.stack([out[k] for k in preset.shape_keys], axis=1)
    assert set(np.unique(stack)) <= {0.0, 1.0} and np.all(stack.sum(1) <= 1)
    assert out["F"][10] == 0.0 and out["D"][10] == 1.0     # flicker merged away
    assert np.all(out["A"][20:22] == 1.0)                  # the closure kept


def test_blend_min_hold_widens_short_pulses():
    w = np.zeros((10, 1))
    w[5, 0] = 0.7
    wide = vs.widen(w, 3)
    assert np.allclose(wide[4:7, 0], 0.7) and wide[3, 0] == 0 and wide[7, 0] == 0
