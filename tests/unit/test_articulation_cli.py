"""``python -m inference phones``: phone files in, lipsync-curves/1 files out."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from inference.articulation import curves_from_phones
from inference.articulation.cli import main
from lipsync_core.curves import read_curves
from lipsync_core.params import PARAM_NAMES

SANPO = [["sil", 0.0, 0.2], ["s", 0.2, 0.3], ["a", 0.3, 0.4], ["N", 0.4, 0.5], ["p", 0.5, 0.58],
         ["o", 0.58, 0.75], ["sil", 0.75, 1.0]]


def test_json_in_curves_file_out(tmp_path, capsys):
    src = tmp_path / "sanpo.json"
    src.write_text(json.dumps({"notation": "openjtalk", "lang": "ja", "phones": SANPO}))
    out = tmp_path / "sanpo.curves.json"
    assert main([str(src), "-o", str(out), "--fps", "24"]) == 0
    curves = read_curves(out)
    assert curves.params == PARAM_NAMES and curves.fps == 24.0 and curves.start_time == 0.0
    assert curves.num_frames == math.ceil(1.0 * 24)
    assert curves.model["engine"] == "articulation"
    expected = curves_from_phones(SANPO, "openjtalk", "ja", frame_rate=24.0)
    np.testing.assert_allclose(curves.frames, expected, atol=1e-5)
    raw = json.loads(out.read_text())
    assert raw["format"] == "lipsync-curves/1" and len(raw["frames"][0]) == 26
    assert "wrote" in capsys.readouterr().out


def test_full_context_lab_reads_as_open_jtalk(tmp_path):
    lines = []
    prev = "xx"
    for k, (sym, start, end) in enumerate(SANPO):
        nxt = SANPO[k + 1][0] if k + 1 < len(SANPO) else "xx"
        lines.append(f"{round(start * 1e7)} {round(end * 1e7)} xx^{prev}-{sym}+{nxt}=xx/A:1+2+3")
        prev = sym
    src = tmp_path / "sanpo.lab"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "sanpo.npz"
    assert main([str(src), "-o", str(out)]) == 0
    curves = read_curves(out)
    assert curves.model["notation"] == "openjtalk" and curves.model["lang"] == "ja"
    np.testing.assert_allclose(curves.frames, curves_from_phones(SANPO, "openjtalk", "ja"),
                               atol=1e-6)


def test_tsv_with_header_guesses_arpabet(tmp_path):
    src = tmp_path / "hi.tsv"
    src.write_text("phone\tstart\tend\nsil\t0\t0.2\nHH\t0.2\t0.3\nAY1\t0.3\t0.5\nsil\t0.5\t0.8\n")
    out = tmp_path / "hi.csv"
    assert main([str(src), "-o", str(out)]) == 0
    curves = read_curves(out)
    assert curves.num_frames == 40
    # the start-end-symbol column order reads the same
    src2 = tmp_path / "hi2.tsv"
    src2.write_text("0 0.2 sil\n0.2 0.3 HH\n0.3 0.5 AY1\n0.5 0.8 sil\n")
    out2 = tmp_path / "hi2.csv"
    assert main([str(src2), "-o", str(out2)]) == 0
    np.testing.assert_allclose(read_curves(out2).frames, curves.frames)


def test_xlabel_from_festival(tmp_path):
    src = tmp_path / "arctic.lab"
    src.write_text("separator ;\nnfields 1\n#\n0.2 125 pau\n0.28 125 m\n0.45 125 aa\n0.6 125 pau\n")
    out = tmp_path / "arctic.json"
    assert main([str(src), "-o", str(out), "--notation", "arpabet"]) == 0
    phones = [("pau", 0.0, 0.2), ("m", 0.2, 0.28), ("aa", 0.28, 0.45), ("pau", 0.45, 0.6)]
    np.testing.assert_allclose(read_curves(out).frames, curves_from_phones(phones, "arpabet"),
                               atol=1e-5)


@pytest.mark.parametrize("content,needle", [
    ('{"notation": "arpabet", "phones": [["sil", 0, 0.1], ["QX1", 0.1, 0.2]]}', "QX1"),
    ('{"notation": "arpabet", "phones": [["M", 0.3, 0.2]]}', "end >= start"),
    ('{"phones": 3}', "phones"),
    ("not json", "not valid JSON"),
])
def test_bad_input_fails_with_one_sentence_and_writes_nothing(tmp_path, capsys, content, needle):
    src = tmp_path / "bad.json"
    src.write_text(content)
    out = tmp_path / "out.json"
    assert main([str(src), "-o", str(out)]) == 1
    assert needle in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


def test_missing_file_and_unknown_extension(tmp_path, capsys):
    assert main([str(tmp_path / "none.json"), "-o", str(tmp_path / "o.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
    odd = tmp_path / "phones.xyz"
    odd.write_text("x")
    assert main([str(odd), "-o", str(tmp_path / "o.json")]) == 1
    assert ".json, .lab or .tsv" in capsys.readouterr().err
