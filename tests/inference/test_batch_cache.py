"""inference.batch.cache and packing: keys, placing outputs, sweeping what a killed run left,
and content-defined packs that a change disturbs only locally."""
import hashlib
import os
import subprocess
import sys

from inference.batch.cache import Cache, line_key
from inference.batch.packing import frames_needed, make_packs, signature

SETTINGS = {"start": None, "end": None, "fps": 24.0, "format": "json", "pack": "p"}


def test_the_key_changes_with_audio_model_and_every_setting():
    base = line_key("a" * 64, "m1", SETTINGS)
    assert base == line_key("a" * 64, "m1", dict(reversed(list(SETTINGS.items()))))
    others = {line_key("b" * 64, "m1", SETTINGS), line_key("a" * 64, "m2", SETTINGS)}
    for name, value in (("start", 0.5), ("end", 2.0), ("fps", 25.0), ("format", "csv"),
                        ("pack", "q")):
        others.add(line_key("a" * 64, "m1", {**SETTINGS, name: value}))
    assert base not in others and len(others) == 7


def test_entries_are_complete_or_absent_and_outputs_are_links(tmp_path):
    cache = Cache(tmp_path / "cache", ".json")
    key = "ab" + "0" * 62
    assert cache.get(key) is None
    cache.data_path(key).parent.mkdir(parents=True)
    cache.data_path(key).write_bytes(b"{}")          # data without meta: not an entry yet
    assert cache.get(key) is None
    cache.put(key, b'{"x": 1}', {"frames": 3})
    assert cache.get(key) == {"frames": 3}
    out = tmp_path / "out" / "sub" / "line.json"
    assert not cache.in_place(key, out)
    cache.place(key, out)
    assert out.read_bytes() == b'{"x": 1}' and cache.in_place(key, out)
    assert os.path.samefile(out, cache.data_path(key))


def test_sweep_removes_only_what_dead_runs_left(tmp_path):
    cache = Cache(tmp_path / "out" / ".cache", ".json")
    (tmp_path / "out" / ".cache" / "ab").mkdir(parents=True)
    stale = tmp_path / "out" / ".cache" / "ab" / ".x.json.abc.tmp"
    fresh = tmp_path / "out" / ".cache" / "ab" / ".y.json.def.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(stale, (1, 1))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    orphan = tmp_path / "out" / f".line.json.{dead}.link"
    mine = tmp_path / "out" / f".other.json.{os.getpid()}.link"
    orphan.write_bytes(b"")
    mine.write_bytes(b"")
    assert cache.sweep(tmp_path / "out") == 2
    assert not stale.exists() and not orphan.exists() and fresh.exists() and mine.exists()


def _lines(n, seconds=3.0, salt=""):
    return [{"seconds": seconds, "sha256": hashlib.sha256(f"{salt}{i}".encode()).hexdigest()}
            for i in range(n)]


def test_packs_fill_windows_and_a_change_stays_local():
    lines = _lines(200)
    packs = make_packs(lines, 1500)
    assert sorted(i for p in packs for i in p) == list(range(200))
    for p in packs:
        assert sum(frames_needed(lines[i]["seconds"]) for i in p) <= 1500
    assert 200 / len(packs) >= 5                     # 3 s lines: well over half a window each
    inserted = lines[:50] + _lines(1, 2.0, "new") + lines[50:]
    before = {tuple(lines[i]["sha256"] for i in p) for p in packs}
    after = {tuple(inserted[i]["sha256"] for i in p) for p in make_packs(inserted, 1500)}
    assert len(after - before) <= 4 < len(after) / 4   # a few packs around it, not the rest


def test_a_line_longer_than_a_window_is_alone_and_signatures_differ():
    lines = _lines(3)
    lines[1]["seconds"] = 40.0
    assert make_packs(lines, 1500) == [[0], [1], [2]]
    assert signature(lines[:2]) != signature([lines[0], {**lines[1], "start": 1.0}])
