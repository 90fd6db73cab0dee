"""``python -m inference evaluate --model DIR --data DIR [--split test|valid|all]
[--out report.json] [--per-clip] [--engine] [--runtime DIR [--condition NAME ...]]``: score a
model against reference phones or capture targets.

Owns running a checkpoint over every utterance of a corpus split, turning reference phones into
class segments and sound-timed reference curves, scoring three systems with metrics.py (the model,
the loudness-driven baseline mouth, and the reference curves drawn from the phones themselves,
which must score ~1.0), and the report: per language (en / ja separately), optionally per clip,
with issue 6's quality goals marked pass/fail for the model.

``--split`` picks the manifest split: "test" (the default; the held-out set for reporting),
"valid" (for choosing models; never report on it as the final figure), "all" (valid and test,
never train; the report then also has "per_split", each split per language), or "train". The
report's "split" and its first printed line say which was scored.

By default the model runs on cached encoder features (the same cache as training: fast, and each
clip is encoded once), followed by the product's silence gate; ``--engine`` runs the torch
product path, ``LipSyncEngine.predict``, instead (the encoder then windows the clip as in
production); ``--runtime DIR`` runs the shipped ONNX Runtime engine on that runtime model folder,
with ``--min-window`` choosing how short clips are windowed (lipsync_runtime.windows).

``--condition NAME`` (repeatable, or ``all``; with ``--runtime`` only) also scores every clip
degraded by a recording condition (inference.training.conditions: noise, reverb, telephone,
whisper, shout): the degraded wave goes to the engine and to the loudness baseline, the reference
phones stay as they are. The report's "per_language" stays the clean one; "conditions" holds each
condition's summaries per language and their difference from clean ("vs_clean"), and the printed
output ends with a Markdown table of condition rows. Babble mixes only clips of the clip's own split
(a test clip's babble never holds a valid talker, also under ``--split all``).

Imports: numpy, torch, inference.checkpoint, inference.heads, inference.articulation,
inference.training.features / metrics / conditions (inference.pipeline with --engine).
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np

from inference.training import conditions as conds
from inference.training import metrics
from inference.training.metrics import Segment

log = logging.getLogger(__name__)

SYSTEMS = ("model", "loudness", "reference")
SPLITS = ("test", "valid", "all", "train")   # --split choices; "all" is valid + test
# Issue 6 quality goals on held-out real speech: metric -> (low, high) inclusive.
GOALS = {"aperture_auc": (0.97, 1.0), "closure_recall": (0.95, 1.0), "rounding_auc": (0.95, 1.0),
         "lip_roll_auc": (0.9, 1.0), "silence_closed": (1.0, 1.0), "lag_ms": (10.0, 100.0)}
TABLE_KEYS = ("aperture_auc", "closure_recall", "false_closures", "rounding_auc", "lip_roll_auc",
              "silence_ratio", "silence_closed", "lag_ms", "lag_vs_targets_ms", "mae")
# The condition table's columns: (label, summary key, pooled over clips?)
CONDITION_COLUMNS = (("aperture AUC", "aperture_auc", True),
                     ("closure recall", "closure_recall", True),
                     ("closure recall (clip mean)", "closure_recall", False),
                     ("false closures", "false_closures", True),
                     ("rounding AUC", "rounding_auc", True), ("f/v AUC", "lip_roll_auc", True),
                     ("silence closed", "silence_closed", False), ("lag ms", "lag_ms", False),
                     ("MAE", "mae", False))


def phone_segments(record: dict, n_frames: int, frame_rate: float = 50.0) -> list[Segment]:
    """Class segments (sound time, frames) of an utterance record's reference phones."""
    from inference.articulation import normalize, phone_class
    phones = [(str(s), float(a), float(b)) for s, a, b in record["phones"]]
    segs = []
    for seg in normalize(phones, record["notation"], record.get("lang")):
        s = int(round(seg.start * frame_rate))
        e = max(s + 1, int(round(seg.end * frame_rate)))
        segs.append(Segment(frozenset(phone_class(seg.phone)), min(s, n_frames), min(e, n_frames)))
    return segs


def select_splits(split: str) -> tuple[str, ...]:
    """The manifest splits that ``split`` names: "all" is valid and test (never train)."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; use test, valid or all (or train for a "
                         "training corpus).")
    return ("valid", "test") if split == "all" else (split,)


def _head_predictor(model_dir: Path, device: str) -> tuple[dict, Callable[[np.ndarray], np.ndarray]]:
    import torch
    from inference.checkpoint import load_checkpoint
    from inference.heads import run_head_chunked
    ckpt = load_checkpoint(model_dir, device)

    def predict(features: np.ndarray) -> np.ndarray:
        feats = torch.from_numpy(np.asarray(features, dtype=np.float32))
        return run_head_chunked(ckpt.head, feats).numpy()
    return ckpt.config, predict


def evaluate(model_dir: Path, data_dir: Path, split: str = "test", cache_dir: Path | None = None,
             device: str = "cpu", engine: bool = False, langs: tuple[str, ...] | None = None,
             per_clip: bool = False, runtime: Path | None = None,
             min_window_s: float | None | str = "model", pack: bool = False,
             conditions: tuple[str, ...] | None = None,
             padding: str = "model") -> dict[str, Any]:
    """The evaluation report (a JSON-ready dict) of ``model_dir`` on ``split`` of ``data_dir``,
    clean and under each of ``conditions`` (names of inference.training.conditions)."""
    import torch
    from inference.training.config import _default_cache
    from inference.training.features import fill_cache, fill_targets, plan, read_wave
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    names = conds.expand(conditions)
    if len(names) > 1 and runtime is None:
        raise ValueError("Conditions other than clean run on the shipped engine only; add "
                         "--runtime DIR (the cached-features and --engine paths score clean "
                         "audio).")
    config, run_head = _head_predictor(model_dir, device)
    spec = config["encoder"]
    cache = Path(cache_dir) if cache_dir else Path(_default_cache())
    utts = plan([Path(data_dir)], spec, cache, select_splits(split), langs)
    if not utts:
        raise ValueError(f"{data_dir} has no {split!r} utterances to evaluate; check --split "
                         "(rebuild a held-out set made before the valid split with 'corpus "
                         "heldout').")
    if runtime is not None:
        from lipsync_runtime.engine import RuntimeEngine
        lip_engine = RuntimeEngine(runtime, device=device, min_window_s=min_window_s,
                                   padding=padding)
        engine = True
        fill_targets(utts)
    elif engine:
        from inference.pipeline import LipSyncEngine
        lip_engine = LipSyncEngine(model_dir, device)
        fill_targets(utts)
    else:
        fill_cache(utts, spec, device)

    if pack and runtime is None:
        raise ValueError("--pack needs --runtime (it is the runtime engine's batch path).")
    talkers = [conds.Talker(clip_id(u), u.voice, read_wave(u.wav)) for u in utts] \
        if any(conds.parse(c)[0] == "babble" for c in names) else []
    by_condition: dict[str, dict[str, list[dict]]] = {}
    for condition in names:
        waves = [read_wave(u.wav) for u in utts]
        if condition != "clean":   # babble draws on talkers of the clip's own split only
            waves = [conds.degrade(w, condition, clip_id(u), u.voice,
                                   [t for t, v in zip(talkers, utts) if v.split == u.split])[0]
                     for w, u in zip(waves, utts)]
        by_condition[condition] = _score(utts, waves, condition, lip_engine if engine else None,
                                         runtime is not None, pack, run_head)
    clips = by_condition["clean"]

    report: dict[str, Any] = {"model": str(model_dir), "data": str(data_dir), "split": split,
                              "clips_per_split": {s: sum(u.split == s for u in utts)
                                                  for s in select_splits(split)},
                              "path": ("runtime " + str(runtime) + f" (min window {min_window_s}"
                                       + f", padding {padding}"
                                       + (", packed)" if pack else ")")
                                       if runtime is not None else
                                       "engine" if engine else "cached-features"),
                              "training": {k: config.get("training", {}).get(k) for k in
                                           ("name", "steps", "best_valid_loss", "wall_time_s")},
                              "definitions": metrics.__doc__, "per_language": {}}
    langs_all = sorted({u.lang for u in utts}) + ["all"]
    for lang in langs_all:
        report["per_language"][lang] = _block(clips, lang, SYSTEMS)
    if split == "all":
        report["per_split"] = {
            s: {lang: _block(clips, lang, SYSTEMS, s) for lang in
                sorted({u.lang for u in utts if u.split == s}) + ["all"]}
            for s in select_splits(split) if any(u.split == s for u in utts)}
    if len(names) > 1:
        report["conditions"] = {}
        for condition in names:
            per_lang = {}
            for lang in langs_all:
                block = _block(by_condition[condition], lang, ("model", "loudness"))
                block["vs_clean"] = {s: compare(block[s], report["per_language"][lang][s])
                                     for s in ("model", "loudness")}
                per_lang[lang] = block
            report["conditions"][condition] = {"definition": conds.describe(condition),
                                               "per_language": per_lang}
    if per_clip:
        report["clips"] = [dict({k: v for k, v in metrics.strip_pool(c).items()
                                 if k != "params" or name == "model"}, condition=condition)
                           for condition in names for name in SYSTEMS
                           for c in by_condition[condition][name]]
    return metrics.json_safe(report)


def clip_id(utt) -> str:
    """"<lang>/<voice>/<id>": a clip's name without its corpus folder (seeds its conditions)."""
    return utt.key.split("/", 1)[1]


def _block(clips: dict[str, list[dict]], lang: str, systems: tuple[str, ...],
           split: str | None = None) -> dict:
    """Summaries of ``systems`` over the clips of ``lang`` ("all": every language), optionally
    of one split only."""
    block = {}
    for name in systems:
        block[name] = metrics.summarize([c for c in clips[name]
                                         if (lang == "all" or c["lang"] == lang)
                                         and (split is None or c["split"] == split)])
    block["goals"] = goals(block["model"])
    return block


def compare(summary: dict, clean: dict) -> dict[str, Any]:
    """Condition minus clean for every table metric (means over clips) and, under "pooled", for
    the class metrics pooled over clips; NaN where either side has no value."""
    def diff(a, b):
        ok = all(isinstance(v, (int, float)) and not math.isnan(v) for v in (a, b))
        return float(a - b) if ok else math.nan
    out: dict[str, Any] = {k: diff(summary.get(k), clean.get(k)) for k in TABLE_KEYS}
    out["pooled"] = {k: diff(summary.get("pooled", {}).get(k), clean.get("pooled", {}).get(k))
                     for k in metrics.CLASS_METRICS}
    return out


def _score(utts: list, waves: list[np.ndarray], condition: str, lip_engine, runtime: bool,
           pack: bool, run_head: Callable[[np.ndarray], np.ndarray]) -> dict[str, list[dict]]:
    """Per-clip metrics of every system on ``waves`` (one (samples,) 16 kHz wave per utterance:
    the clip itself, or its degraded copy when ``runtime``)."""
    from inference.training.features import compute_targets
    packed: list[np.ndarray] = []
    if pack:                  # the runtime's batch path: clips share encoder windows, in order
        packed = lip_engine.predict_many(waves)
    clips: dict[str, list[dict]] = defaultdict(list)
    for i, utt in enumerate(utts):
        record = utt.record()
        target = utt.load_targets()                                   # (frames, 26) at 50 Hz
        n = len(target)
        wave = waves[i]
        if pack:
            pred = metrics_fit(packed[i], n)
        elif runtime:                  # the model's own 50 Hz frames, as the cached path scores
            pred = metrics_fit(lip_engine.predict_wave(wave), n)
        elif lip_engine is not None:   # torch product path (clean audio only)
            curves = lip_engine.predict(str(utt.wav), None, None, 50.0)
            pred = metrics_fit(np.asarray(curves.frames, dtype=np.float32), n)
        else:
            pred = metrics_fit(run_head(utt.load_features()), n)
            pred = gate_silence(pred, wave)
        segments = sound_ref = None
        if record.get("phones"):
            segments = phone_segments(record, n)
            sound_ref = compute_targets(record, utt.meta, n, lead=False)
        systems = {"model": pred, "loudness": metrics_fit(metrics.loudness_curves(wave), n),
                   "reference": target}
        for name, curves in systems.items():
            m = metrics.clip_metrics(curves, target, segments, sound_ref)
            m.update(key=utt.key, lang=utt.lang, voice=utt.voice, split=utt.split, system=name)
            clips[name].append(m)
        log.info("%s clip %d/%d %s: aperture AUC %.3f, closure recall %.3f, lag %.0f ms",
                 condition, i + 1, len(utts), utt.key,
                 clips["model"][-1].get("aperture_auc", math.nan),
                 clips["model"][-1].get("closure_recall", math.nan), clips["model"][-1]["lag_ms"])
    return clips


def gate_silence(curves: np.ndarray, wave: np.ndarray) -> np.ndarray:
    """The product's post-processing (inference.pipeline): long silences ease to the rest pose."""
    from lipsync_runtime.gate import apply_gate
    return apply_gate(curves, wave)


def metrics_fit(curves: np.ndarray, n: int) -> np.ndarray:
    from inference.training.features import fit_frames
    return fit_frames(np.asarray(curves, dtype=np.float32), n)


def goals(summary: dict) -> dict[str, Any]:
    """Issue 6's goals for one summary: {metric: {"value", "goal", "pass", "pooled"}}; class
    metrics are judged pooled over the clips (the stricter reading: one clip's easy frames cannot
    hide another's misses), lag and silence as the mean over clips. "pass" is None when the clips
    hold no frames of the classes involved (Japanese has no f or v, so no lower-lip-roll AUC)."""
    out = {}
    for key, (low, high) in GOALS.items():
        pooled = key in summary.get("pooled", {})
        value = summary.get("pooled", {}).get(key, summary.get(key))
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        ok = None if missing else bool(low <= value <= high)
        out[key] = {"value": value, "goal": [low, high], "pass": ok, "pooled": pooled}
    return out


def format_table(report: dict) -> str:
    """Plain-text tables (one per language, and with --split all one per split and language)
    of the headline metrics of every system, after a line naming the split."""
    counts = ", ".join(f"{s} {n}" for s, n in report.get("clips_per_split", {}).items())
    lines = [f"split: {report['split']} (clips: {counts})", ""]
    tables = [(lang, block) for lang, block in report["per_language"].items()]
    tables += [(f"{s}/{lang}", block) for s, langs in report.get("per_split", {}).items()
               for lang, block in langs.items()]
    for lang, block in tables:
        lines.append(f"[{lang}] clips: {block['model']['clips']}")
        lines.append(f"{'metric':<20}" + "".join(f"{s:>12}" for s in SYSTEMS) + "   goal")
        for key in TABLE_KEYS:
            cells = []
            for s in SYSTEMS:
                v = block[s].get(key)
                cells.append(f"{v:>12.3f}" if isinstance(v, (int, float)) else f"{'-':>12}")
            goal = block["goals"].get(key)
            mark = "" if goal is None else f"   {goal['goal']} " + (
                "n/a (no such phones)" if goal["pass"] is None else
                ("ok" if goal["pass"] else "MISS")
                + (f" (pooled {goal['value']:.3f})" if goal["pooled"] else ""))
            lines.append(f"{key:<20}" + "".join(cells) + mark)
        for key in metrics.CLASS_METRICS:
            cells = []
            for s in SYSTEMS:
                v = block[s].get("pooled", {}).get(key)
                cells.append(f"{v:>12.3f}" if isinstance(v, (int, float)) else f"{'-':>12}")
            lines.append(f"{'pooled ' + key:<20}"[:20] + "".join(cells))
        lines.append("")
    return "\n".join(lines)


def format_conditions(report: dict) -> str:
    """Markdown tables, one per language: a row per condition, the model's metrics (class
    metrics pooled over clips unless marked clip mean), each with its difference from clean."""
    if "conditions" not in report:
        return ""
    lines = []
    for lang in report["per_language"]:
        lines += [f"**{lang}** ({report['per_language'][lang]['model']['clips']} clips; "
                  "model; in brackets: minus clean)", "",
                  "| condition | " + " | ".join(c[0] for c in CONDITION_COLUMNS) + " |",
                  "|---" * (len(CONDITION_COLUMNS) + 1) + "|"]
        for name, entry in report["conditions"].items():
            block = entry["per_language"][lang]
            cells = []
            for _, key, pooled in CONDITION_COLUMNS:
                value = (block["model"].get("pooled", {}) if pooled else block["model"]).get(key)
                delta = (block["vs_clean"]["model"]["pooled"] if pooled
                         else block["vs_clean"]["model"]).get(key)
                if not isinstance(value, (int, float)):
                    cells.append("-")
                    continue
                digits = 0 if key == "lag_ms" else 3
                text = f"{value:.{digits}f}"
                if name != "clean" and isinstance(delta, (int, float)):
                    text += f" ({delta:+.{digits}f})"
                cells.append(text)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _write_json_atomic(path: Path, data: Any) -> None:
    from lipsync_core.atomic import write_atomic
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")
    write_atomic(path, lambda handle: handle.write(text))


def _min_window(text: str) -> float | None | str:
    if text in ("model", "full"):
        return None if text == "full" else "model"
    try:
        return float(text)
    except ValueError:
        raise SystemExit(f"evaluate: --min-window takes seconds, 'full' or 'model', not {text!r}.")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference evaluate",
                                     description="Score a model against reference phones/targets.")
    parser.add_argument("--model", required=True, help="checkpoint directory")
    parser.add_argument("--data", required=True, help="corpus directory (with manifest.jsonl)")
    parser.add_argument("--split", default="test", choices=SPLITS,
                        help="which split to score: test (default; for reporting), valid (for "
                             "choosing models), all (valid and test, reported per split too)")
    parser.add_argument("--out", help="write the JSON report here")
    parser.add_argument("--per-clip", action="store_true", help="include every clip in the report")
    parser.add_argument("--engine", action="store_true",
                        help="run the product pipeline (LipSyncEngine) instead of cached features")
    parser.add_argument("--runtime", help="run the shipped ONNX Runtime engine on this runtime "
                        "model folder (assets/runtime) instead")
    parser.add_argument("--min-window", default="model",
                        help="with --runtime: seconds of the shortest encoder window for clips "
                             "under 30 s, 'full' for 30 s always, 'model' for the folder's setting")
    parser.add_argument("--padding", default="model", choices=("model", "cached", "full"),
                        help="with --runtime: how clips under 30 s get Whisper's padding: "
                             "'cached' (attend to a pass over silence kept between clips), "
                             "'full' (encode the padded window whole), 'model' (the folder's)")
    parser.add_argument("--pack", action="store_true",
                        help="with --runtime: clips share encoder windows (the batch path)")
    parser.add_argument("--condition", action="append", metavar="NAME",
                        help="with --runtime: also score the clips under this recording "
                             "condition (repeatable): pink@SNR, brown@SNR, babble@SNR, music@SNR, "
                             "reverb, telephone, whisper, shout, or all (docs/robustness.md)")
    parser.add_argument("--cache", help="feature cache directory (default: the training cache)")
    parser.add_argument("--lang", action="append", help="only this language (repeatable)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    # Spinning OpenMP threads collapse on a shared CPU (measured: 30x slower steps when other
    # processes compete); must be set before torch starts its thread pool.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    try:
        report = evaluate(Path(args.model), Path(args.data), args.split,
                          Path(args.cache) if args.cache else None, args.device, args.engine,
                          tuple(args.lang) if args.lang else None, args.per_clip,
                          Path(args.runtime) if args.runtime else None,
                          _min_window(args.min_window), args.pack,
                          tuple(args.condition) if args.condition else None, args.padding)
    except Exception as exc:  # bad input: one line for a person; the traceback with --verbose
        if args.verbose or not isinstance(exc, (FileNotFoundError, ValueError)) and \
                type(exc).__name__ not in ("ModelError", "EncoderError", "AudioError"):
            raise
        print(f"evaluate: {exc}", file=sys.stderr)
        return 1
    if args.out:
        _write_json_atomic(Path(args.out), report)
    print(format_table(report))
    if "conditions" in report:
        print(format_conditions(report))
    if args.out:
        print(f"report written to {args.out}")
    return 0
