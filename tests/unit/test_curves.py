"""The lipsync-curves/1 file format: round trips, atomic writes, validation."""
import json
import os

import numpy as np
import pytest

from lipsync_core.curves import FORMAT, Curves, CurvesError, read_curves, write_curves
from lipsync_core.params import NUM_PARAMS, PARAM_NAMES


def sample_curves(fps=24000 / 1001, frames=37, start=1.25) -> Curves:
    rng = np.random.default_rng(3)
    values = rng.uniform(0, 1, (frames, NUM_PARAMS)).astype(np.float32)
    return Curves(fps=fps, start_time=start, params=PARAM_NAMES, frames=values,
                  model={"head": "bilstm", "encoder": "tiny"})


@pytest.mark.parametrize("ext", [".json", ".csv", ".npz"])
@pytest.mark.parametrize("fps", [24000 / 1001, 24.0, 30000 / 1001, 50.0, 120.0])
def test_round_trip(tmp_path, ext, fps):
    curves = sample_curves(fps=fps)
    path = write_curves(tmp_path / f"out{ext}", curves)
    back = read_curves(path)
    assert back.params == PARAM_NAMES
    assert back.fps == pytest.approx(fps, rel=1e-9)
    assert back.start_time == pytest.approx(1.25)
    np.testing.assert_allclose(back.frames, curves.frames, atol=1e-6)
    if ext != ".csv":
        assert back.model == curves.model
    assert [p.name for p in tmp_path.iterdir()] == [f"out{ext}"]     # no temp files left


def test_json_layout(tmp_path):
    path = write_curves(tmp_path / "c.json", sample_curves(fps=30.0, frames=3))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == FORMAT
    assert data["fps"] == 30.0 and data["start_time"] == 1.25
    assert data["params"] == list(PARAM_NAMES)
    assert len(data["frames"]) == 3 and all(len(row) == NUM_PARAMS for row in data["frames"])


def test_csv_layout(tmp_path):
    path = write_curves(tmp_path / "c.csv", sample_curves(fps=25.0, frames=3, start=0.0))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",") == ["time", *PARAM_NAMES]
    assert [float(line.split(",")[0]) for line in lines[1:]] == [0.0, 0.04, 0.08]


def test_non_ascii_path(tmp_path):
    folder = tmp_path / "口パク ü"
    folder.mkdir()
    back = read_curves(write_curves(folder / "せりふ.json", sample_curves()))
    assert back.num_frames == 37


def test_failed_write_leaves_old_file(tmp_path):
    path = tmp_path / "c.json"
    write_curves(path, sample_curves(frames=2))
    before = path.read_bytes()
    with pytest.raises(CurvesError):
        write_curves(path.with_suffix(".txt"), sample_curves())
    with pytest.raises(CurvesError, match="does not exist"):
        write_curves(tmp_path / "missing" / "c.json", sample_curves())
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["c.json"]


def test_renamed_parameter_is_refused(tmp_path):
    data = sample_curves().to_dict()
    data["params"][0] = "jaw_opening"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CurvesError, match="schema version"):
        read_curves(path)


def test_bad_objects():
    with pytest.raises(CurvesError, match=r"\(frames, 26\)"):
        Curves(fps=50, start_time=0, params=PARAM_NAMES, frames=np.zeros((4, 3)))
    with pytest.raises(CurvesError, match="NaN"):
        Curves(fps=50, start_time=0, params=PARAM_NAMES,
               frames=np.full((2, NUM_PARAMS), np.nan))
    with pytest.raises(CurvesError, match="frame rate"):
        Curves(fps=0, start_time=0, params=PARAM_NAMES, frames=np.zeros((2, NUM_PARAMS)))
    with pytest.raises(CurvesError, match="format"):
        Curves.from_dict({"format": "other"})
    with pytest.raises(CurvesError, match="frames"):
        Curves.from_dict({"format": FORMAT, "fps": 50, "params": list(PARAM_NAMES)})


def test_garbage_files(tmp_path):
    (tmp_path / "g.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "g.npz").write_bytes(b"not a zip")
    (tmp_path / "g.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    for name in ("g.json", "g.npz", "g.csv", "absent.json"):
        with pytest.raises(CurvesError):
            read_curves(tmp_path / name)


def test_empty_curves_round_trip(tmp_path):
    empty = Curves(fps=50, start_time=0, params=PARAM_NAMES, frames=np.zeros((0, NUM_PARAMS)))
    for ext in (".json", ".npz"):
        assert read_curves(write_curves(tmp_path / f"e{ext}", empty)).num_frames == 0


def test_atomic_files_are_readable_like_any_other(tmp_path):
    """A file written atomically gets the permissions a plain write would (not mkstemp's 0600),
    so other users of a shared farm folder can read it."""
    import os

    from lipsync_core.atomic import write_bytes_atomic
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    written = write_bytes_atomic(tmp_path / "atomic", b"x")
    assert os.stat(written).st_mode & 0o777 == os.stat(plain).st_mode & 0o777
