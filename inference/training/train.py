"""``python -m inference train --config FILE [--resume] [--out DIR]``: train a head.

Owns the training loop: feature cache -> batches -> head -> loss -> AdamW with linear warm-up and
cosine decay, gradient clipping, validation every N steps with early stopping, a resumable
training state every N steps (see state.py), a progress line with ETA on stderr, and at the end
the best model saved with ``inference.checkpoint.save_checkpoint`` together with a training
summary (corpus minutes per language and voice, steps, wall time, best validation loss, git
commit, the config). Deterministic from the config's seed: an interrupted run resumed with
``--resume`` reaches the same weights as an uninterrupted one.

Output directory: ``<out>/state/`` (training state), ``<out>/model/`` (the checkpoint),
``<out>/summary.json``.

Imports: torch, numpy, inference.heads, inference.checkpoint, inference.training.*.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
USER_ERRORS = (FileNotFoundError, ValueError)   # bad config or corpus: one line, no traceback


def lr_at(step: int, peak: float, warmup: int, total: int, min_ratio: float) -> float:
    """Learning rate for optimiser step ``step`` (0-based): linear warm-up, then cosine decay."""
    if warmup > 0 and step < warmup:
        return peak * (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def seed_everything(seed: int) -> None:
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def corpus_summary(utts) -> dict[str, Any]:
    """Minutes, utterance counts and licences per split, language and voice. The licence lines
    come from the utterances' own records, so the checkpoint (and the runtime model exported from
    it) can name what its training audio asks of it (attribution for CC BY voices)."""
    minutes: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    for u in utts:
        cell = minutes[u.split][u.lang].setdefault(
            u.voice, {"minutes": 0.0, "utterances": 0, "licence": set()})
        cell["minutes"] += u.duration / 60.0
        cell["utterances"] += 1
        cell["licence"].add(u.record().get("licence") or "not stated")
    out: dict[str, Any] = {}
    for split, langs in minutes.items():
        out[split] = {lang: {voice: {"minutes": round(c["minutes"], 2), "utterances": c["utterances"],
                                     "licence": "; ".join(sorted(c["licence"]))}
                             for voice, c in sorted(voices.items())}
                      for lang, voices in sorted(langs.items())}
        out[split]["total_minutes"] = round(sum(c["minutes"] for v in langs.values()
                                                for c in v.values()), 2)
    return out


def _fmt(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"


def validation_loss(model, examples, loss_cfg, max_frames: int) -> float:
    """Frame-weighted mean loss over whole validation utterances (no dropout)."""
    import torch
    from inference.training.dataset import eval_batches
    from inference.training.losses import lipsync_loss
    if not examples:
        return math.nan
    model.eval()
    total, weight = 0.0, 0.0
    with torch.inference_mode():
        for x, y, mask in eval_batches(examples, max_frames):
            z = model.logits(x, mask)
            _, parts = lipsync_loss(model.activate(z), y, mask, loss_cfg, logits=z)
            n = float(mask.sum())
            total += parts["total"] * n
            weight += n
    model.train()
    return total / max(weight, 1.0)


def _config_checkpoint(directory: Path, spec: dict[str, Any], setting: str,
                       device: str = "cpu") -> Any:
    """The checkpoint a config's ``setting`` (init_from, teachers) names, read on this run's
    encoder features; anything else is refused in one sentence that names the setting."""
    from inference.checkpoint import load_checkpoint
    from lipsync_runtime.errors import ModelError
    try:
        loaded = load_checkpoint(Path(directory), device)
    except ModelError:
        raise ValueError(f"The config's {setting}, {str(directory)!r}, is not a checkpoint this "
                         "run can read (missing, or not written by training); point it at a "
                         "model folder with config.json and model.safetensors.") from None
    if loaded.encoder_spec.to_dict() != spec:
        raise ValueError(f"{directory} was trained on other encoder features; use a checkpoint "
                         f"of this config's encoder or drop it from {setting}.")
    return loaded


def _start_from(model, head_cfg, spec: dict[str, Any], directory: Path) -> None:
    """Copy the head weights of checkpoint ``directory`` into ``model`` (a fine-tuning run's
    start); the checkpoint's head and encoder must be the ones this run builds."""
    start = _config_checkpoint(directory, spec, "init_from")
    # The attention's distance bias has no weights (per-head slopes, fixed), so a fine-tune may
    # move a head to another ``position``; every other setting must match.
    if dataclasses.replace(start.head_cfg, position=head_cfg.position) != head_cfg:
        raise ValueError(f"{directory} holds a different head ({start.head_cfg}); set the "
                         "config's head to the same settings or drop init_from.")
    model.load_state_dict(start.head.state_dict())
    log.info("head weights start from %s%s", directory,
             f" (its {start.head_cfg.position} distance bias becomes {head_cfg.position})"
             if start.head_cfg.position != head_cfg.position else "")


def _teachers(spec: dict[str, Any], directories: tuple[str, ...], device: str) -> list:
    """The teacher heads (eval mode, frozen) of ``directories``; each must read this run's
    encoder features, or one sentence says so."""
    return [_config_checkpoint(Path(d), spec, "teachers", device).head.float().eval()
            .requires_grad_(False) for d in directories]


def blend_teachers(y: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, teachers: list,
                   weight: float) -> torch.Tensor:
    """Targets (B, T, 26) with the teachers' mean curves on the same features x (B, T, D) mixed
    in at ``weight`` (mask (B, T), True = a real frame); parameters a corpus leaves unknown stay
    masked by the loss, as before."""
    import torch
    if not teachers or weight == 0.0:
        return y
    with torch.no_grad():
        mean = torch.stack([t(x.float(), mask) for t in teachers]).mean(dim=0).to(y.dtype)
    return (1.0 - weight) * y + weight * mean


def train(cfg, resume: bool = False, stop_at: int | None = None) -> dict[str, Any]:
    """Run (or continue) training as ``cfg`` says; returns the training summary.

    ``stop_at``: end this invocation after that step, as an interruption would (the schedule
    still runs to ``cfg.max_steps``; continue with ``resume=True``).
    """
    import torch
    from inference.checkpoint import save_checkpoint
    from inference.heads import HeadConfig, build_head, count_parameters
    from inference.training.dataset import CropSampler, Example
    from inference.training.features import corpus_of, fill_cache, plan
    from inference.training.losses import LossConfig, lipsync_loss
    from inference.training.state import find_state, load_state, save_state

    loss_cfg = LossConfig.from_dict(cfg.loss)   # a bad loss setting fails before any encoding
    torch.set_num_threads(cfg.num_threads)
    seed_everything(cfg.seed)
    out = Path(cfg.out_dir)
    state_dir = out / "state"
    existing = find_state(state_dir)
    if existing is not None and not resume:
        raise ValueError(f"{out} already holds a training run; pass --resume to continue it or "
                         "--out to start a new one elsewhere.")
    out.mkdir(parents=True, exist_ok=True)

    from inference.encoders import EncoderSpec
    from inference.training.selection import select_by_voice
    spec = EncoderSpec.from_dict(cfg.encoder).to_dict()     # defaults resolved: the cache key
    splits = tuple(cfg.train_splits) + (cfg.valid_split,)
    runtime = Path(cfg.features_runtime).expanduser() if cfg.features_runtime else None
    utts = plan(cfg.corpus_paths, spec, Path(cfg.cache_dir), splits, cfg.langs,
                cfg.encode_stream_seconds, runtime)
    utts = select_by_voice(utts, cfg.voice_minutes, cfg.default_voice_minutes, cfg.seed,
                           tuple(cfg.train_splits), cfg.uncapped_names)
    fill_cache(utts, spec, cfg.device, stream_seconds=cfg.encode_stream_seconds, runtime=runtime)
    train_ex = [Example.load(u) for u in utts if u.split in cfg.train_splits]
    valid_ex = [Example.load(u) for u in utts if u.split == cfg.valid_split]
    if cfg.unlearned_params:
        from inference.training.dataset import forget_params
        n = forget_params(train_ex + valid_ex, cfg.unlearned_params)
        log.info("%d utterances teach none of: %s", n, "; ".join(
            f"{voice}: {', '.join(names)}" for voice, names in cfg.unlearned_params.items()))
    if cfg.focus_corpora:
        from inference.training.dataset import focus_frames
        records = {u.key: u.record() for u in utts
                   if corpus_of(u.key) in cfg.focus_corpora}
        n = focus_frames(train_ex + valid_ex, records, cfg.focus_corpora, cfg.focus_margin_frames)
        log.info("%d utterances teach only the frames of: %s (and %d frames around them)", n,
                 "; ".join(f"{c}: {', '.join(names)}" for c, names in cfg.focus_corpora.items()),
                 cfg.focus_margin_frames)
    if not train_ex:
        raise ValueError("The corpora hold no training utterances for these splits and languages.")
    if not valid_ex:
        log.warning("no %r utterances: early stopping and best-model selection use the training "
                    "loss", cfg.valid_split)
    feats = train_ex[0].features
    head_cfg = HeadConfig.from_dict({**cfg.head, "in_dim": int(feats.shape[-1]),
                                     "num_encoder_layers": int(feats.shape[0]) if feats.ndim == 3 else 1})
    seed_everything(cfg.seed)       # again: encoding above may have drawn from the RNGs
    model = build_head(head_cfg).to(cfg.device)
    if cfg.init_from and existing is None:
        _start_from(model, head_cfg, spec, Path(cfg.init_from))
    model.train()
    teachers = _teachers(spec, tuple(cfg.teachers), cfg.device)
    if teachers:
        log.info("targets blend %d teachers' mean curves at weight %.2f", len(teachers),
                 cfg.teacher_weight)
    o = cfg.optim
    optimizer = torch.optim.AdamW(model.parameters(), lr=o.lr, betas=tuple(o.betas), eps=o.eps,
                                  weight_decay=o.weight_decay)
    crop = (max(1, round(cfg.crop_seconds[0] * 50)), max(1, round(cfg.crop_seconds[1] * 50)))
    sampler = CropSampler(train_ex, cfg.batch_size, crop, cfg.seed, cfg.bucket_batches)

    progress: dict[str, Any] = {"step": 0, "sampler": sampler.state_dict(), "best_loss": None,
                                "best_step": 0, "bad_evals": 0, "elapsed_s": 0.0, "frames": 0,
                                "history": [], "stopped": None}
    best_weights = None
    if existing is not None:
        progress, best_weights = load_state(existing, model, optimizer)
        sampler.load_state_dict(progress["sampler"])
        log.info("resumed %s at step %d", existing, progress["step"])
    n_params = count_parameters(model)
    log.info("head %s, %d parameters; %d train / %d valid utterances", head_cfg.kind, n_params,
             len(train_ex), len(valid_ex))

    def checkpoint() -> None:
        progress["sampler"] = sampler.state_dict()
        save_state(state_dir, model, optimizer, progress, best_weights)

    if progress["step"] == 0 and not progress["history"]:
        v0 = validation_loss(model, valid_ex or train_ex, loss_cfg, cfg.eval_max_frames)
        progress["history"].append({"step": 0, "train_loss": None, "valid_loss": v0, "lr": 0.0})
        log.info("step 0  valid loss %.4f (untrained)", v0)

    t_run = time.monotonic()
    elapsed0 = progress["elapsed_s"]
    step0 = progress["step"]
    last_log, run_loss, run_n, run_norm, run_clipped = t_run, 0.0, 0, 0.0, 0
    budget_s = cfg.max_minutes * 60 if cfg.max_minutes else math.inf
    stop = progress["stopped"]
    while stop is None and progress["step"] < cfg.max_steps:
        if time.monotonic() - t_run >= budget_s:
            log.info("time budget of %.1f min reached at step %d; continue with --resume",
                     cfg.max_minutes, progress["step"])
            break
        if stop_at is not None and progress["step"] >= stop_at:
            break
        step = progress["step"]
        lr = lr_at(step, o.lr, o.warmup_steps, cfg.max_steps, o.min_lr_ratio)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y, mask = sampler.next_batch()
        x, y, mask = x.to(cfg.device), y.to(cfg.device), mask.to(cfg.device)
        y = blend_teachers(y, x, mask, teachers, cfg.teacher_weight)
        z = model.logits(x, mask)                                   # (B, T, 26)
        loss, parts = lipsync_loss(model.activate(z), y, mask, loss_cfg, logits=z)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(
            model.parameters(), o.grad_clip if o.grad_clip > 0 else math.inf))   # before clipping
        optimizer.step()
        progress["step"] = step = step + 1
        progress["frames"] += int(mask.sum())
        progress["elapsed_s"] = elapsed0 + time.monotonic() - t_run
        run_loss, run_n = run_loss + parts["total"], run_n + 1
        run_norm, run_clipped = run_norm + norm, run_clipped + (0 < o.grad_clip < norm)

        now = time.monotonic()
        if now - last_log >= cfg.log_every_s or step == cfg.max_steps:
            rate = (step - step0) / max(now - t_run, 1e-6)          # steps per second
            remaining = (cfg.max_steps - step) / max(rate, 1e-9)
            if math.isfinite(budget_s):
                remaining = min(remaining, budget_s - (now - t_run))
            # The gradient's norm before clipping, and how often clipping shortened the step: a
            # head whose norm sits far above grad_clip learns at a fraction of its learning rate.
            log.info("step %d/%d  loss %.4f  lr %.2e  grad norm %.2f (%d%% clipped)  %.2f s/step  "
                     "%.0f frames/s  ETA %s", step, cfg.max_steps, run_loss / run_n, lr,
                     run_norm / run_n, round(100 * run_clipped / run_n), 1 / max(rate, 1e-9),
                     progress["frames"] / max(progress["elapsed_s"], 1e-6), _fmt(remaining))
            last_log, run_loss, run_n, run_norm, run_clipped = now, 0.0, 0, 0.0, 0

        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            v = validation_loss(model, valid_ex or train_ex, loss_cfg, cfg.eval_max_frames)
            progress["history"].append({"step": step, "train_loss": parts["total"],
                                        "valid_loss": v, "lr": lr})
            best = progress["best_loss"]
            if best is None or v < best - cfg.min_delta:
                progress.update(best_loss=v, best_step=step, bad_evals=0)
                best_weights = {k: t.detach().clone() for k, t in model.state_dict().items()}
            else:
                progress["bad_evals"] += 1
            log.info("step %d  valid loss %.4f  (best %.4f at step %d)", step, v,
                     progress["best_loss"], progress["best_step"])
            if progress["bad_evals"] >= cfg.early_stopping_patience:
                stop = progress["stopped"] = "early stopping"
                log.info("early stopping: no improvement in %d evaluations", progress["bad_evals"])
        if step % cfg.checkpoint_every == 0 or stop is not None:
            checkpoint()

    finished = stop is not None or progress["step"] >= cfg.max_steps
    if finished and stop is None:
        stop = progress["stopped"] = "max steps"
    if best_weights is None:
        v = validation_loss(model, valid_ex or train_ex, loss_cfg, cfg.eval_max_frames)
        progress.update(best_loss=v, best_step=progress["step"])
        best_weights = {k: t.detach().clone() for k, t in model.state_dict().items()}
    checkpoint()

    summary = {
        "name": Path(cfg.out_dir).name,
        "finished": finished,
        "stopped": stop,
        "steps": progress["step"],
        "best_step": progress["best_step"],
        "best_valid_loss": progress["best_loss"],
        "wall_time_s": round(progress["elapsed_s"], 1),
        "frames_seen": progress["frames"],
        "frames_per_s": round(progress["frames"] / max(progress["elapsed_s"], 1e-6), 1),
        "head_parameters": n_params,
        "corpus": corpus_summary(utts),
        "git_commit": git_commit(),
        "torch": torch.__version__,
        "history": progress["history"][-50:],
        "config": cfg.to_dict(),
    }
    if runtime is not None:         # the encoder file the head learned from; export matches it
        from lipsync_runtime.model import load_model
        features_model = load_model(runtime, verify=False)
        summary["features_encoder"] = {
            "quantization": features_model.encoder.get("quantization"),
            "sha256": features_model.config["files"][features_model.encoder["file"]]["sha256"]}
    final = build_head(head_cfg)
    final.load_state_dict(best_weights, strict=True)
    save_checkpoint(out / "model", final, head_cfg, spec, training=summary,
                    dtype=cfg.save_dtype)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    log.info("model saved to %s (best valid loss %.4f at step %d)", out / "model",
             progress["best_loss"], progress["best_step"])
    return summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference train",
                                     description="Train a head from a config file.")
    parser.add_argument("--config", required=True, help="training config JSON "
                        "(see inference/training/configs/)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run saved in the output directory")
    parser.add_argument("--out", help="output directory (overrides the config's out_dir)")
    parser.add_argument("--corpus", action="append", metavar="DIR",
                        help="corpus directory, repeatable (overrides the config's corpora)")
    parser.add_argument("--uncapped-corpus", action="append", metavar="DIR",
                        help="corpus taken whole, outside the voice caps, repeatable (overrides "
                        "the config's uncapped_corpora)")
    parser.add_argument("--cache", metavar="DIR", help="feature cache (overrides cache_dir)")
    parser.add_argument("--max-minutes", type=float, help="wall-clock budget of this invocation")
    parser.add_argument("--max-steps", type=int, help="override the config's max_steps")
    parser.add_argument("--stop-after", type=int, metavar="STEP",
                        help="end this invocation after STEP, as an interruption would")
    parser.add_argument("--verbose", action="store_true", help="debug logging and tracebacks")
    args = parser.parse_args(argv)
    # Spinning OpenMP threads collapse on a shared CPU (measured: 30x slower steps when other
    # processes compete); must be set before torch starts its thread pool.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    from inference.training.config import load_config
    overrides: dict[str, Any] = {}
    if args.out:
        overrides["out_dir"] = args.out
    if args.corpus:
        overrides["corpora"] = args.corpus
    if args.uncapped_corpus:
        overrides["uncapped_corpora"] = args.uncapped_corpus
    if args.cache:
        overrides["cache_dir"] = args.cache
    if args.max_minutes is not None:
        overrides["max_minutes"] = args.max_minutes
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
    try:
        cfg = load_config(Path(args.config), overrides)
        summary = train(cfg, resume=args.resume, stop_at=args.stop_after)
    except Exception as exc:  # one line for a person; the traceback with --verbose
        if args.verbose or not isinstance(exc, USER_ERRORS) and \
                type(exc).__name__ not in ("EncoderError", "ModelError"):
            raise
        print(f"train: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"model": str(Path(cfg.out_dir) / "model"), "steps": summary["steps"],
                      "finished": summary["finished"], "best_valid_loss": summary["best_valid_loss"],
                      "wall_time_s": summary["wall_time_s"]}))
    return 0
