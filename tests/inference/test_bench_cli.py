"""``python -m inference bench`` on the shipped runtime and real speech: it names the host it ran
on (figures differ by half between two 2-core machines) and prints a row of real timings per
length. A measurement, never a timed test: nothing here asserts a speed."""
import re
import subprocess
import sys
from pathlib import Path

from inference.bench import host_description

REPO = Path(__file__).resolve().parents[2]

CPUINFO = """processor\t: 0
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 avx avx2 avx512f avx512bw
processor\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 avx avx2 avx512f avx512bw
"""


def test_host_names_the_cpu_its_cores_and_its_widest_vectors():
    import os
    assert host_description(CPUINFO) == f"AMD EPYC, {os.cpu_count()} cores, AVX-512"
    older = CPUINFO.replace(" avx512f avx512bw", "").replace("AMD EPYC", "Intel Xeon")
    assert host_description(older) == f"Intel Xeon, {os.cpu_count()} cores, AVX2"
    assert host_description("").split(", ")[0]          # no cpuinfo: still names something


def test_bench_prints_the_host_and_a_row_per_length():
    run = subprocess.run([sys.executable, "-m", "inference", "bench", "--audio",
                          str(REPO / "assets/demo/speech_en.wav"), "--seconds", "1", "3",
                          "--repeats", "1"], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"host {host_description()}" in run.stdout
    rows = re.findall(r"^\s+(\d+)s\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)", run.stdout,
                      re.MULTILINE)
    assert [r[0] for r in rows] == ["1", "3"], run.stdout
    for _, encoder, head, total, rtf in rows:
        assert float(encoder) > 0 and float(head) > 0
        assert abs(float(encoder) + float(head) - float(total)) < 0.05   # the parts add up


def test_a_missing_audio_file_is_one_sentence_not_an_internal_error(tmp_path):
    run = subprocess.run([sys.executable, "-m", "inference", "bench", "--audio",
                          str(tmp_path / "missing.wav"), "--seconds", "1", "--repeats", "1"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if line.startswith("python -m inference")]
    assert errors == [f"python -m inference bench: The audio file '{tmp_path / 'missing.wav'}' "
                      "does not exist."], run.stderr
