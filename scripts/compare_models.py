"""Write the LSTM-against-Transformer table (docs/model-comparison.md) from two training runs.

Each run folder is what ``python -m inference train`` leaves (``summary.json``, ``model/``) plus
the reports of ``python -m inference evaluate --out``: ``heldout.json`` (real speech) and
``valid.json`` (the TTS validation split). The head's CPU speed is measured here, on 60 s of
random features through the same windowed path the worker uses.

    .venv/bin/python scripts/compare_models.py --run bilstm=out/train/bilstm_whisper_base \
        --run transformer=out/train/transformer_whisper_base --out docs/model-comparison.md
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from inference.training.metrics import CLASS_METRICS  # noqa: E402  (after the path set-up)


def head_seconds(model_dir: Path, frames: int = 3000, repeats: int = 3) -> tuple[float, float]:
    """Best-of-N wall seconds of the head on (frames, dim) features: float32 and int8."""
    import torch

    from inference.checkpoint import load_checkpoint
    from inference.heads import quantize_for_cpu, run_head_chunked

    ckpt = load_checkpoint(model_dir, device="cpu", dtype=torch.float32)
    dim = ckpt.head_cfg.in_dim
    feats = torch.randn(frames, dim)
    out = []
    for head in (ckpt.head, quantize_for_cpu(ckpt.head)):
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            run_head_chunked(head, feats, core=1500, context=100)
            best = min(best, time.perf_counter() - t0)
        out.append(best)
    return out[0], out[1]


def fmt(value, digits=3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def metric_rows(reports: dict[str, dict], lang: str) -> list[str]:
    rows = []
    for metric in CLASS_METRICS:
        cells = [fmt(r["per_language"].get(lang, {}).get("model", {}).get("pooled", {}).get(metric))
                 for r in reports.values()]
        rows.append(f"| {metric} | " + " | ".join(cells) + " |")
    for metric, digits in (("lag_ms", 0), ("mae", 3)):
        cells = [fmt(r["per_language"].get(lang, {}).get("model", {}).get(metric), digits)
                 for r in reports.values()]
        rows.append(f"| {metric} | " + " | ".join(cells) + " |")
    return rows


def loss_label(summary: dict) -> str:
    """'bce, lip gap on all frames x3.0, mouth_close x2.0' and the like, from a run's recorded
    loss config; the closure and per-parameter weights are named because they change what the
    loss adds up."""
    loss = summary.get("config", {}).get("loss", {})
    gap = loss.get("lip_gap_frames", "closing")   # runs before the field existed used "closing"
    parts = [f"{loss.get('kind', '?')}", f"lip gap on {gap} frames x{loss.get('closure_weight', 2.0)}"]
    parts += [f"{name} x{w}" for name, w in sorted(loss.get("param_weights", {}).items())]
    return ", ".join(parts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, help="NAME=RUN_DIR")
    parser.add_argument("--out", required=True)
    parser.add_argument("--notes", help="a Markdown file appended after the tables (the verdict)")
    args = parser.parse_args(argv)
    runs = dict(item.split("=", 1) for item in args.run)
    names = list(runs)
    summaries, heldout, valid, speed = {}, {}, {}, {}
    for name, folder in runs.items():
        run = Path(folder)
        summaries[name] = json.loads((run / "summary.json").read_text())
        heldout[name] = json.loads((run / "heldout.json").read_text())
        valid[name] = json.loads((run / "valid.json").read_text())
        speed[name] = head_seconds(run / "model")

    head = "| | " + " | ".join(names) + " |"
    rule = "|---|" + "---|" * len(names)
    lines = ["# LSTM against Transformer", "",
             "Every head trained on the same Whisper-base features of the same corpus on a "
             "2-core CPU; the first rows say which loss and how many threads each run had "
             "(valid losses are comparable only between runs with the same loss and weights). "
             "Tables written by `scripts/compare_models.py`; the commands are in the README "
             "(`make train evaluate`).", "", "## Size, training and speed", "",
             head, rule]
    lines.append("| position loss | " + " | ".join(
        loss_label(summaries[n]) for n in names) + " |")
    lines.append("| training threads | " + " | ".join(
        str(summaries[n].get("config", {}).get("num_threads", "?")) for n in names) + " |")
    lines.append("| head parameters | " + " | ".join(
        f"{summaries[n]['head_parameters'] / 1e6:.1f} M" for n in names) + " |")
    lines.append("| training steps (batch 16) | " + " | ".join(
        str(summaries[n]["steps"]) for n in names) + " |")
    lines.append("| training wall time | " + " | ".join(
        f"{summaries[n]['wall_time_s'] / 60:.0f} min" for n in names) + " |")
    lines.append("| training frames/s | " + " | ".join(
        f"{summaries[n]['frames_per_s']:.0f}" for n in names) + " |")
    lines.append("| best valid loss (position + velocity + closure) | " + " | ".join(
        f"{summaries[n]['best_valid_loss']:.4f}" for n in names) + " |")
    lines.append("| head on 60 s of speech, CPU float32 | " + " | ".join(
        f"{speed[n][0]:.2f} s" for n in names) + " |")
    lines.append("| head on 60 s of speech, CPU int8 (worker default) | " + " | ".join(
        f"{speed[n][1]:.2f} s" for n in names) + " |")
    for title, reports in (("TTS validation split (voices seen in training, sentences not)", valid),
                           ("Held-out real human speech", heldout)):
        for lang in ("en", "ja"):
            clips = [r["per_language"].get(lang, {}).get("model", {}).get("clips", 0)
                     for r in reports.values()]
            if not any(clips):
                continue
            lines += ["", f"## {title}: {lang} ({clips[0]} clips)", "", head, rule]
            lines += metric_rows(reports, lang)
    lines += ["", "Metric definitions: `inference/training/metrics.py`. AUCs and closure recall are "
              "pooled over clips; lag is positive when the mouth moves early.", ""]
    if args.notes:
        lines += [Path(args.notes).read_text(encoding="utf-8")]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
