"""Do Whisper's features carry the bilabial closures the shipped head misses? Linear probes.

    python scripts/closure_probe.py [--layers 0 1 2 3 4 5 6] [--context 0] [--combine]

Why: on real English the shipped head leaves six held-out bilabials open (mouth_close 0.05-0.15:
the b of "clubs" four times, the m of "an animal", the p of "ended up going"). This asks whether
the encoder's features hold the closure there. Per encoder layer (0 = the input to the first
layer, 6 = the final output the head reads), a linear probe is fitted to the mouth_close targets
of 60 training utterances per English voice (TTS, the training split), then read on the
held-out real English clips (valid and test):

- seg-AUC: how often a bilabial segment's highest probe value beats an open vowel's;
- for each missed bilabial, the probe's value there and the share of open vowels scoring lower.

``--combine`` keys the shipped head's curves with mouth_close = max(head, calibrated probe) over
a range of calibrations and scores closure recall and false closures per split, as
``python -m inference evaluate`` does (cached features, the silence gate).

Features: Whisper base, every layer (``layer: "all"``), the training ones encoded in 60 s
streams as training does, the held-out ones one clip at a time; cached in
~/.cache/lipsync/probe. Seeds are fixed, so figures repeat to about 0.01.

Imports: numpy, torch, inference (training code; nothing here ships).
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPEC = {"kind": "whisper", "source": "openai/whisper-base", "layer": "all"}
PER_VOICE = 60            # training utterances per English voice
MISSED = {"cmu_cards_001": 34, "cmu_cards_002": 73, "cmu_cards_003": 50, "cmu_cards_005": 97,
          "mfa_multilingual_ipa": 76, "mfa_multilingual_ipa_us_3": 116}   # clip: bilabial's frame


def with_context(f: np.ndarray, k: int) -> np.ndarray:
    """(n, d) -> (n, d * (2k + 1)): each frame with its k neighbours either side (edges held)."""
    if k == 0:
        return f
    pad = np.pad(f, ((k, k), (0, 0)), mode="edge")
    return np.concatenate([pad[i:i + len(f)] for i in range(2 * k + 1)], axis=1)


def fit_probe(train, layer: int, context: int):
    """A linear probe (logistic, soft targets) of mouth_close on one layer; returns f(feats)->logit."""
    import torch
    from inference.training.features import compute_targets
    from lipsync_core.params import index_of
    xs, ys = [], []
    for u in train:
        f = np.asarray(u.load_features(), np.float32)[layer]
        xs.append(with_context(f, context))
        ys.append(compute_targets(u.record(), u.meta, len(f), lead=False)[:, index_of("mouth_close")])
    x, y = torch.tensor(np.concatenate(xs)), torch.tensor(np.concatenate(ys))
    mu, sd = x.mean(0), x.std(0) + 1e-5
    torch.manual_seed(0)
    lin = torch.nn.Linear(x.shape[1], 1)
    opt = torch.optim.Adam(lin.parameters(), 1e-3, weight_decay=1e-4)
    for _ in range(800):
        idx = torch.randint(0, len(x), (4096,))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            lin((x[idx] - mu) / sd).squeeze(1), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

    def logit(feats: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            z = torch.tensor(with_context(np.asarray(feats, np.float32)[layer], context))
            return lin((z - mu) / sd).squeeze(1).numpy()
    return logit


def segments_of(u, n):
    from inference.training.evaluate import phone_segments
    return phone_segments(u.record(), n)


def probe_report(heldout, logit, layer: int) -> str:
    from inference.training.metrics import auc
    bilabial, vowel, missed = [], [], []
    for u in heldout:
        p = 1 / (1 + np.exp(-logit(u.load_features())))
        n = len(p)
        for s in segments_of(u, n):
            if "bilabial" in s.classes:
                bilabial.append(p[max(0, s.start - 1):min(n, s.end + 3)].max())  # +40 ms of lag
            if "open_vowel" in s.classes:
                a, b = max(0, s.start), min(n, s.end)
                a, b = (a + 1, b - 1) if b - a >= 3 else (a, b)
                vowel.append(p[a:b].max())
        name = u.key.rsplit("/", 1)[-1]
        if name in MISSED:
            missed.append((name, float(p[max(0, MISSED[name] - 1):MISSED[name] + 5].max())))
    vowel_arr = np.array(vowel)
    cells = " ".join(f"{name.removeprefix('mfa_multilingual_')}={v:.2f}/{np.mean(vowel_arr < v):.2f}"
                     for name, v in missed)
    return f"layer {layer}: seg-AUC {auc(np.array(bilabial), vowel_arr):.3f}; missed: {cells}"


def combine_report(heldout, logit, biases, slope: float = 4.0) -> list[str]:
    from inference.training import evaluate as ev
    from inference.training import metrics
    from inference.training.features import compute_targets, read_wave
    from lipsync_core.params import index_of
    ci = index_of("mouth_close")
    _, run_head = ev._head_predictor(ROOT / "assets" / "model", "cpu")
    clips = []
    for u in heldout:
        feats = np.asarray(u.load_features(), np.float32)
        clips.append((u, len(u.load_targets()), run_head(feats[-1]), logit(feats)))
    lines = []
    for bias in biases:
        cells = []
        for split in ("valid", "test"):
            hits = segs = false = vowels = 0.0
            per_clip = []
            for u, n, head, z in clips:
                if u.split != split:
                    continue
                pred = head.copy()
                if bias is not None:
                    m = min(len(pred), len(z))
                    pred[:m, ci] = np.maximum(pred[:m, ci], 1 / (1 + np.exp(-slope * (z[:m] - bias))))
                pred = ev.gate_silence(ev.metrics_fit(pred, n), read_wave(u.wav))
                ref = compute_targets(u.record(), u.meta, n, lead=False)
                got = metrics.clip_metrics(pred, u.load_targets(), segments_of(u, n), ref)
                if got["bilabial_segments"]:
                    hits += got["closure_recall"] * got["bilabial_segments"]
                    segs += got["bilabial_segments"]
                    per_clip.append(got["closure_recall"])
                if got["open_vowel_segments"]:
                    false += got["false_closures"] * got["open_vowel_segments"]
                    vowels += got["open_vowel_segments"]
            cells.append(f"{split}: recall {hits / segs:.3f} pooled / {np.mean(per_clip):.3f} "
                         f"per clip, false closures {false / vowels:.3f} pooled")
        lines.append(f"{'head alone' if bias is None else f'bias {bias:g}'}: " + "; ".join(cells))
    return lines


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5, 6])
    ap.add_argument("--context", type=int, default=0, help="frames of context either side")
    ap.add_argument("--combine", action="store_true")
    ap.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus")
    ap.add_argument("--heldout", type=Path, default=ROOT / "data" / "heldout")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "lipsync" / "probe")
    args = ap.parse_args(argv)
    import torch
    from inference.training.features import fill_cache, plan
    torch.set_num_threads(2)
    train = plan([args.corpus], SPEC, args.cache, ("train",), ("en",), stream_seconds=60)
    random.Random(0).shuffle(train)
    by_voice: dict[str, list] = {}
    for u in train:
        by_voice.setdefault(u.voice, []).append(u)
    train = [u for voice in sorted(by_voice) for u in by_voice[voice][:PER_VOICE]]
    fill_cache(train, SPEC, "cpu", stream_seconds=60)
    heldout = plan([args.heldout], SPEC, args.cache, ("valid", "test"), ("en",))
    fill_cache(heldout, SPEC, "cpu")
    for layer in args.layers:
        logit = fit_probe(train, layer, args.context)
        print(probe_report(heldout, logit, layer), flush=True)
        if args.combine:
            for line in combine_report(heldout, logit, (None, 4, 3, 2.5, 2, 1.5, 1)):
                print("  " + line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
