"""Mapping tables and presets: validation, evaluation, matching (no bpy, no torch)."""
import json

import numpy as np
import pytest

from lipsync_core import mapping as m
from lipsync_core.params import BY_NAME, NUM_PARAMS, PARAM_NAMES, PARAMS


def curves_with(**values):
    c = np.zeros((3, NUM_PARAMS))
    for name, v in values.items():
        c[:, BY_NAME[name].index] = v
    return c


def test_shipped_arkit_preset_is_generated_from_the_schema():
    shipped = m.load(m.PRESETS_DIR / "arkit.json")
    assert shipped == m.arkit_preset(), (
        "assets/mappings/arkit.json is out of date with assets/parameters.json; regenerate it with "
        "python -c 'from lipsync_core import mapping as m; m.save(m.arkit_preset(), "
        "m.PRESETS_DIR / \"arkit.json\")'")


def test_arkit_preset_covers_every_arkit_name_in_the_schema():
    preset = m.arkit_preset()
    names = {n for p in PARAMS for n in p.arkit_positive + p.arkit_negative}
    assert set(preset.shape_keys) == names
    assert names <= set(m.ARKIT_52)
    assert len(m.ARKIT_52) == 52 == len(set(m.ARKIT_52))


def test_arkit_preset_inverts_agreeing_parameters():
    # mouthUpperUpLeft is named by mouth_open and upper_lip_up_left: equal inputs give the same value
    c = curves_with(mouth_open=0.4, upper_lip_up_left=0.4, jaw_shift=-0.7, lip_corner_left=0.3)
    out = m.apply(c, m.arkit_preset())
    assert out["mouthUpperUpLeft"][0] == pytest.approx(0.4)
    assert out["jawRight"][0] == pytest.approx(0.7)
    assert out["jawLeft"][0] == 0.0
    assert out["mouthSmileLeft"][0] == pytest.approx(0.3)
    assert out["mouthFrownLeft"][0] == 0.0


@pytest.mark.parametrize("name", ["arkit", "vrm", "vroid", "mmd", "oculus", "rhubarb"])
def test_every_shipped_preset_validates(name):
    preset = m.load_preset(name)
    assert preset.rows
    assert all(r.parameter in PARAM_NAMES for r in preset.rows)


def test_vowel_presets_share_one_design():
    def shape(p, names):
        rename = dict(zip(names, "AIUEO"))
        return [(r.parameter, rename[r.shape_key], r.weight, r.half) for r in p.rows
                if r.shape_key in rename]
    vrm = shape(m.load_preset("vrm"), "AIUEO")
    assert vrm
    assert shape(m.load_preset("vroid"), [f"Fcl_MTH_{v}" for v in "AIUEO"]) == vrm
    assert shape(m.load_preset("mmd"), list("あいうえお")) == vrm


@pytest.mark.parametrize("name", ["vrm", "vroid", "mmd", "oculus", "rhubarb"])
def test_viseme_presets_are_solves_with_a_signature_per_shape(name):
    preset = m.load_preset(name)
    assert preset.convention == "solve"
    assert all(r.weight > 0 for r in preset.rows)          # a signature is what the shape shows
    assert preset.options.mode in m.MODES


def test_oculus_preset_names_the_15_visemes_less_the_rest_pose():
    preset = m.load_preset("oculus")
    assert {f"viseme_{v}" for v in "PP FF TH DD kk CH SS nn RR aa E I O U".split()} \
        == set(preset.shape_keys)


def test_convention_options_and_aliases_round_trip(tmp_path):
    preset = m.load_preset("rhubarb")
    assert preset.options == m.Options(mode="hold", min_hold_ms=60.0)
    m.save(preset, tmp_path / "r.json")
    assert m.load(tmp_path / "r.json") == preset
    vrm = m.load_preset("vrm")
    assert dict(vrm.aliases)["A"] == ("aa",)
    assert m.load_preset("arkit").convention == "arkit"


def test_bad_convention_and_options_are_one_sentence_each():
    with pytest.raises(m.MappingError) as err:
        m.from_dict({"rows": [], "convention": "magic",
                     "options": {"mode": "snap", "seal_jaw": 3, "min_hold_ms": -1, "x": 1}})
    problems = err.value.problems
    assert len(problems) == 5 and all(p.endswith(".") for p in problems)
    assert any("'magic'" in p for p in problems) and any("'snap'" in p for p in problems)


@pytest.mark.parametrize("rig", [
    ["jawOpen", "mouthClose", "mouthFunnel", "mouthSmileLeft"],                    # Apple
    ["jaw_open", "mouth_close", "mouth_funnel", "mouthSmile_L"],                   # _L/_R
    ["blendShape1.jawOpen", "blendShape1.mouthClose", "blendShape1.mouthFunnel",
     "blendShape1.mouthSmileLeft"],                                                 # Maya export
    ["A25_Jaw_Open", "A37_Mouth_Close", "A29_Mouth_Funnel", "A38_Mouth_Smile_Left"],  # ActorCore
])
def test_arkit_name_families_resolve(rig):
    preset = m.load_preset("arkit")
    resolved, _ = m.resolve(preset, rig)
    by_key = {r.shape_key for r in resolved.rows}
    assert set(rig) <= by_key
    best, n = m.best_preset(rig, [m.load_preset(x) for x in m.preset_names()])
    assert best.convention == "arkit" and n == 4


def test_cc4_names_split_one_arkit_shape_over_several_keys():
    rig = ["Jaw_Open", "Mouth_Close", "Mouth_Funnel_Up_L", "Mouth_Funnel_Up_R",
           "Mouth_Funnel_Down_L", "Mouth_Funnel_Down_R", "Mouth_Roll_In_Lower_L",
           "Mouth_Roll_In_Lower_R", "Mouth_Smile_L"]
    resolved, missing = m.resolve(m.load_preset("arkit"), rig)
    funnel = [r.shape_key for r in resolved.rows if r.parameter == "lip_funnel"]
    assert funnel == rig[2:6]
    assert {r.shape_key for r in resolved.rows if r.parameter == "lip_roll_lower"} == set(rig[6:8])
    assert "mouthFunnel" not in missing and "mouthPucker" in missing


def test_vrchat_and_vrm1_spellings_match_the_viseme_presets():
    presets = [m.load_preset(x) for x in m.preset_names()]
    best, n = m.best_preset(["vrc.v_pp", "vrc.v_aa", "vrc.v_ou", "vrc.v_ih"], presets)
    assert best.name == "Oculus visemes" and n == 4
    best, n = m.best_preset(["aa", "ih", "ou", "ee", "oh"], presets)
    assert best.name == "VRM" and n == 5


def test_sum_of_shared_rows_is_clamped_and_intensity_scales():
    mp = m.Mapping("t", (m.Row("jaw_open", "open", 0.8), m.Row("mouth_open", "open", 0.8),
                         m.Row("lip_corner_left", "smile", 1.0, "both"),
                         m.Row("lip_pucker", "open", 1.0, enabled=False)))
    out = m.apply(curves_with(jaw_open=1.0, mouth_open=1.0, lip_corner_left=-0.5, lip_pucker=1), mp)
    assert out["open"][0] == 1.0                     # 1.6 clamped
    assert out["smile"][0] == pytest.approx(0.5)      # |v|
    half = m.apply(curves_with(jaw_open=0.5), mp, intensity=0.5)
    assert half["open"][0] == pytest.approx(0.2)
    neg = m.Mapping("n", (m.Row("jaw_open", "k", -1.0),))
    assert m.apply(curves_with(jaw_open=0.5), neg)["k"][0] == 0.0   # clamped at 0


def test_unknown_parameter_names_the_valid_ones():
    with pytest.raises(m.MappingError) as err:
        m.from_dict({"rows": [{"parameter": "jaw_opn", "shape_key": "x"}]}, "face.json")
    assert len(err.value.problems) == 1
    msg = err.value.problems[0]
    assert "face.json row 1" in msg and "'jaw_opn'" in msg and "jaw_open" in msg and "tongue_up" in msg


def test_every_problem_is_one_sentence():
    bad = {"format": "lipsync-mapping/1", "rows": [
        {"parameter": "jaw_open", "shape_key": "", "weight": "x", "half": "?", "extra": 1},
        {"parameter": "jaw_open", "shape_key": "a", "half": "-"},
        "row"]}
    with pytest.raises(m.MappingError) as err:
        m.from_dict(bad, "f.json")
    problems = err.value.problems
    assert len(problems) == 6
    assert any("never negative" in p for p in problems)
    assert all(p.endswith(".") for p in problems)


def test_schema_version_and_missing_file(tmp_path):
    with pytest.raises(m.MappingError, match="schema 99"):
        m.from_dict({"schema_version": 99, "rows": []})
    with pytest.raises(m.MappingError, match="does not exist"):
        m.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(m.MappingError, match="not valid JSON"):
        m.load(tmp_path / "bad.json")
    with pytest.raises(m.MappingError, match="Unknown mapping 'nope'"):
        m.load_preset("nope")


def test_json_round_trip_with_non_ascii_path(tmp_path):
    preset = m.load_preset("mmd")
    path = tmp_path / "口パク" / "マップ.json"
    path.parent.mkdir()
    m.save(preset, path)
    assert m.load(path).rows == preset.rows
    assert m.load_preset(str(path)).rows == preset.rows
    assert [p.name for p in path.parent.iterdir()] == ["マップ.json"]   # no temp file left
    json.loads(path.read_text(encoding="utf-8"))


def test_matching_ignores_case_spaces_underscores():
    assert m.normalize("Jaw_Open") == m.normalize("jaw open") == m.normalize("JAWOPEN")
    rig = ["Basis", "JAW_OPEN", "mouth close", "eyeBlinkLeft"]
    preset = m.Mapping("p", (m.Row("jaw_open", "jawOpen"), m.Row("mouth_close", "mouthClose"),
                             m.Row("lip_pucker", "mouthPucker")))
    resolved, missing = m.resolve(preset, rig)
    assert [r.shape_key for r in resolved.rows] == ["JAW_OPEN", "mouth close"]
    assert missing == ["mouthPucker"]
    assert m.unmapped(resolved, rig, basis="Basis") == ["eyeBlinkLeft"]


def test_best_preset_picks_the_rig_naming():
    presets = [m.load_preset(n) for n in m.preset_names()]
    best, n = m.best_preset(["Basis", "Fcl_MTH_A", "Fcl_MTH_I", "fcl_mth_u"], presets)
    assert best.name == "VRoid" and n == 3
    # a Ready Player Me head: 52 ARKit keys and 15 visemes -> the richer ARKit mouth
    rpm = list(m.ARKIT_52) + [f"viseme_{v}" for v in "sil PP FF TH DD kk CH SS nn RR aa E I O U".split()]
    best, n = m.best_preset(rpm, presets)
    assert best.name == "ARKit" and "mouthClose tied to jawOpen" in m.describe(best)
    # visemes without jawOpen never pick the ARKit convention
    assert m.best_preset(["mouthClose", "mouthFunnel", "viseme_aa", "viseme_PP", "viseme_O"],
                         presets)[0].name == "Oculus visemes"
    best, n = m.best_preset(["viseme_aa", "viseme_PP"], presets)
    assert best.name == "Oculus visemes"
    best, n = m.best_preset(list(m.ARKIT_52), presets)
    assert best.name == "ARKit"
    assert m.best_preset(["Key 1"], presets) == (None, 0)
