"""``python -m inference distill-windows``: teach a head to give, on a clip-length encoder window,
what it gives on Whisper's full 30 s window.

Why: Whisper pads every clip to a 30 s window, so a 2 s line costs as much to encode as a 30 s one.
Cutting the window to the clip changes the features (attention no longer sees the padding), and
the shipped head, trained on full windows, then misses some closures on real speech (issue 11's
measurements in docs/inference.md). Distillation needs no labels: the teacher is the head itself
on full-window features, the student a copy fine-tuned on the same clip's clip-length-window
features (and, ``full_share`` of the time, on the full-window ones, so long audio, which always
uses full windows, keeps its behaviour). The loss is the training loss (inference.training.losses)
with the teacher's curves as soft targets.

Owns the distillation loop; features come from the runtime engine's encoder (the same numbers as
the torch encoder, tests/inference/test_runtime_parity.py), the result is a checkpoint folder
(``python -m inference export`` makes it a runtime model).

Imports: numpy, torch, inference.{checkpoint, training.losses}, lipsync_runtime.
"""
from __future__ import annotations

import argparse
import copy
import logging
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
PROG = "python -m inference distill-windows"


def encode_all(runtime_dir: Path, waves: list[np.ndarray],
               cache: Path | None = None) -> tuple[list, list]:
    """(full-window features, clip-window features) per wave, each (frames, dim) float32;
    kept in ``cache`` (an .npz) when given, so a failed run does not encode again."""
    from lipsync_runtime.engine import RuntimeEngine

    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            count = int(data["count"])
            if count == len(waves):
                log.info("features from %s", cache)
                return ([data[f"full{i}"] for i in range(count)],
                        [data[f"clip{i}"] for i in range(count)])

    engine = RuntimeEngine(runtime_dir, device="cpu", min_window_s=None, padding="full")
    full, clip = [], []
    t0 = time.perf_counter()
    for number, wave in enumerate(waves):
        engine.min_window_frames = None
        full.append(engine.encode(wave))
        engine.min_window_frames = 0
        clip.append(engine.encode(wave))
        if (number + 1) % 25 == 0:
            log.info("encoded %d/%d clips in %.0f s", number + 1, len(waves),
                     time.perf_counter() - t0)
    if cache is not None:
        arrays = {f"full{i}": f for i, f in enumerate(full)}
        arrays.update({f"clip{i}": c for i, c in enumerate(clip)})
        partial = cache.with_suffix(".partial.npz")
        np.savez(partial, count=np.array(len(waves)), **arrays)
        partial.replace(cache)
    return full, clip


def distill(checkpoint: Path, data: Path, runtime_dir: Path, out: Path, steps: int,
            clips_per_step: int, lr: float, full_share: float, seed: int,
            max_clips: int = 0) -> Path:
    import torch

    from lipsync_runtime.audio import load_audio

    from ..checkpoint import load_checkpoint, save_checkpoint
    from .losses import LossConfig, lipsync_loss

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    paths = sorted(data.rglob("*.wav"))
    random.shuffle(paths)
    paths = paths[:max_clips] if max_clips else paths
    if len(paths) < 10:
        raise ValueError(f"{data} holds {len(paths)} .wav files; distillation needs at least 10.")
    waves = [load_audio(p) for p in paths]
    order = list(range(len(waves)))
    random.shuffle(order)
    valid = order[: max(2, len(order) // 10)]                  # never trained on
    train = order[len(valid):]
    full, clip = encode_all(runtime_dir, waves,
                            out.parent / f".{out.name}.features-{seed}-{len(waves)}.npz")
    loaded = load_checkpoint(checkpoint, torch.device("cpu"), torch.float32)
    teacher = loaded.head.float().eval()
    # the loss the head was trained with (closure and rounding weights), else the default
    loss_cfg = LossConfig.from_dict(dict(loaded.config.get("training", {}).get("config", {})
                                         .get("loss", {})))
    with torch.inference_mode():
        targets = [teacher(torch.from_numpy(f)[None])[0] for f in full]   # (frames, 26) each
    student = copy.deepcopy(teacher).train().requires_grad_(True)   # loading freezes weights
    optimiser = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.01)

    def loss_on(indices: list[int], use_full: list[bool], head) -> torch.Tensor:
        total = torch.zeros(())
        for i, whole in zip(indices, use_full):
            x = torch.from_numpy(full[i] if whole else clip[i])[None]
            logits = head.logits(x)
            pred = head.activate(logits)
            mask = torch.ones(pred.shape[:2], dtype=torch.bool)
            loss, _ = lipsync_loss(pred, targets[i][None], mask, loss_cfg, logits)
            total = total + loss
        return total / max(1, len(indices))

    def validation(head) -> float:
        was = head.training
        head.eval()
        with torch.inference_mode():
            value = float(loss_on(valid, [False] * len(valid), head))
        head.train(was)
        return value

    start = validation(teacher)
    log.info("clip-window loss of the teacher itself on %d validation clips: %.4f", len(valid),
             start)
    t0 = time.perf_counter()
    for step in range(steps):
        warm = max(1, steps // 10)                       # linear warm-up, cosine decay to 10 %
        scale = (step + 1) / warm if step < warm else \
            0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))
        for group in optimiser.param_groups:
            group["lr"] = lr * scale
        batch = random.sample(train, min(clips_per_step, len(train)))
        loss = loss_on(batch, [random.random() < full_share for _ in batch], student)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        optimiser.step()
        if (step + 1) % 50 == 0 or step + 1 == steps:
            log.info("step %d/%d: train %.4f, validation %.4f (teacher %.4f), %.0f s", step + 1,
                     steps, float(loss), validation(student), start, time.perf_counter() - t0)
    summary = dict(loaded.config.get("training", {}))
    summary.update(name=f"{summary.get('name', 'head')}-distilled-windows", distilled={
        "from": str(checkpoint), "data": str(data), "clips": len(waves), "steps": steps,
        "clips_per_step": clips_per_step, "max_clips": max_clips, "lr": lr, "full_share": full_share, "seed": seed,
        "teacher_validation_loss": start, "validation_loss": validation(student),
        "wall_time_s": round(time.perf_counter() - t0, 1)})
    return save_checkpoint(out, student.eval(), loaded.head_cfg, loaded.encoder_spec,
                           training=summary, dtype=loaded.config.get("dtype", "float32"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="assets/model", type=Path)
    parser.add_argument("--runtime", default="assets/runtime", type=Path,
                        help="the checkpoint exported (its encoder makes the features)")
    parser.add_argument("--data", required=True, type=Path, help="a folder of speech .wav files")
    parser.add_argument("--out", required=True, type=Path, help="checkpoint folder to write")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--clips-per-step", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--full-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-clips", type=int, default=0, help="use at most this many clips")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr)
    import torch
    torch.set_num_threads(2)
    try:
        out = distill(args.checkpoint, args.data, args.runtime, args.out, args.steps,
                      args.clips_per_step, args.lr, args.full_share, args.seed, args.max_clips)
    except (ValueError, FileNotFoundError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0
