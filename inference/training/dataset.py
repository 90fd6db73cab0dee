"""Batches for training and validation: cached features + targets -> padded tensors with masks.

Owns ``Example`` (one utterance in memory, features memory-mapped), ``CropSampler`` (random crops,
length buckets, one plan per epoch drawn from (seed, epoch), so a resumed run replays exactly the
batches an uninterrupted run would have seen) and ``collate`` / ``eval_batches``.

Imports: numpy, torch, inference.training.features.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from inference.training.features import CachedUtterance, corpus_of


@dataclass
class Example:
    """One utterance: features (T, D) or (L, T, D) float16 (memory-mapped), targets (T, 26)."""
    key: str
    lang: str
    voice: str
    features: np.ndarray
    targets: np.ndarray

    @property
    def frames(self) -> int:
        return self.targets.shape[0]

    @classmethod
    def load(cls, utt: CachedUtterance) -> "Example":
        feats = utt.load_features()
        targets = utt.load_targets()
        if feats.shape[-2] != targets.shape[0]:
            raise ValueError(f"{utt.key}: {feats.shape[-2]} feature frames but {targets.shape[0]} "
                             "target frames; delete its cache files and rerun.")
        return cls(utt.key, utt.lang, utt.voice, feats, targets)


def forget_params(examples: list[Example], unlearned: dict[str, list[str]]) -> int:
    """Mark the targets of ``unlearned`` ({voice: [parameter names]}) unknown (NaN) in the
    examples of those voices, augmented copies included (they keep their voice), so the loss
    learns nothing about those parameters from them; return how many examples changed. A
    parameter name that is not one of the 26 is refused with a sentence saying so."""
    from inference.training.config import unlearned_columns
    columns = unlearned_columns(unlearned)
    changed = 0
    for ex in examples:
        cols = columns.get(ex.voice)
        if cols:
            targets = np.array(ex.targets, dtype=np.float32)          # a copy, not the cache
            targets[:, cols] = np.nan
            ex.targets = targets
            changed += 1
    return changed


def focus_frames(examples: list[Example], records: dict[str, dict], focus: dict,
                 margin: int = 2) -> int:
    """Mark every frame unknown (NaN targets) in the examples of the corpora that ``focus``
    names ({corpus directory name: phone class names}), except the frames of those classes and
    ``margin`` frames either side of them; return how many examples changed.

    A frame no phone covers is silence. What it is for: a noisy copy of a sentence that teaches
    the pauses and the p/b/m of a take under noise, and leaves the vowels to the clean sentence.
    ``records``: {example key: its utterance record (with "phones" and "notation")}.
    """
    from inference.training.config import focus_classes
    from inference.training.evaluate import phone_segments
    from inference.training.metrics import class_masks, dilate
    classes = focus_classes(focus)
    changed = 0
    for ex in examples:
        names = classes.get(corpus_of(ex.key))
        if not names:
            continue
        record = records[ex.key]
        if not record.get("phones"):
            raise ValueError(f"{ex.key} has no phone timings, so its frames cannot be focused; "
                             "leave its corpus out of focus_corpora.")
        n = ex.frames
        masks = class_masks(phone_segments(record, n), n)            # {class: (n,) bool}
        masks["silence"] = masks["silence"] | ~masks["speech"]       # uncovered frames too
        keep = np.zeros(n, dtype=bool)
        for name in names:
            keep |= masks[name]
        keep = dilate(keep, margin) if margin > 0 else keep
        targets = np.array(ex.targets, dtype=np.float32)              # a copy, not the cache
        targets[~keep] = np.nan
        ex.targets = targets
        changed += 1
    return changed


def collate(examples: list[Example], spans: list[tuple[int, int]]
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad crops [start, start + length) of ``examples`` into one batch.

    Returns x (B, T, D) or (B, L, T, D) float32, y (B, T, 26) float32, mask (B, T) bool.
    """
    T = max(length for _, length in spans)
    first = examples[0].features
    B = len(examples)
    x = np.zeros((B, *first.shape[:-2], T, first.shape[-1]), dtype=np.float32)
    y = np.zeros((B, T, examples[0].targets.shape[1]), dtype=np.float32)
    mask = np.zeros((B, T), dtype=bool)
    for b, (ex, (start, length)) in enumerate(zip(examples, spans)):
        x[b, ..., :length, :] = ex.features[..., start:start + length, :]
        y[b, :length] = ex.targets[start:start + length]
        mask[b, :length] = True
    return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(mask)


class CropSampler:
    """Endless training batches: each epoch visits every example once, in random crops.

    Per epoch (rng seeded by (seed, epoch)): shuffle; cut into pools of ``batch_size *
    bucket_batches`` examples; sort each pool by length so a batch holds similar lengths; shuffle
    the batches; give each batch one crop length drawn from [crop_min, crop_max] frames (cut to
    its shortest utterance, so batches need no padding) and each example a random start. Its
    state is (epoch, index).
    """

    def __init__(self, examples: list[Example], batch_size: int, crop_frames: tuple[int, int],
                 seed: int, bucket_batches: int = 8) -> None:
        if not examples:
            raise ValueError("No training utterances: check the corpus paths, splits and languages.")
        self.examples = examples
        self.batch_size = max(1, int(batch_size))
        self.crop_min, self.crop_max = int(crop_frames[0]), int(crop_frames[1])
        if not 1 <= self.crop_min <= self.crop_max:
            raise ValueError("Crop lengths must satisfy 0 < min <= max.")
        self.seed = int(seed)
        self.bucket_batches = max(1, int(bucket_batches))
        self.epoch = 0
        self.index = 0
        self._plan: list[list[tuple[int, int, int]]] | None = None

    def _make_plan(self, epoch: int) -> list[list[tuple[int, int, int]]]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.examples))
        pool = self.batch_size * self.bucket_batches
        batches: list[list[int]] = []
        for p in range(0, len(order), pool):
            chunk = sorted(order[p:p + pool].tolist(), key=lambda i: self.examples[i].frames)
            batches += [chunk[b:b + self.batch_size] for b in range(0, len(chunk), self.batch_size)]
        rng.shuffle(batches)  # type: ignore[arg-type]
        plan = []
        for batch in batches:
            crop = int(rng.integers(self.crop_min, self.crop_max + 1))
            # One length per batch, no longer than its shortest utterance: no padding, so a
            # BiLSTM head takes its fast unpacked path (packed sequences cost ~5x on the CPU).
            length = min([crop] + [self.examples[i].frames for i in batch])
            items = []
            for i in batch:
                n = self.examples[i].frames
                start = int(rng.integers(0, n - length + 1))
                items.append((i, start, length))
            plan.append(items)
        return plan

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self._plan is None:
            self._plan = self._make_plan(self.epoch)
        if self.index >= len(self._plan):
            self.epoch, self.index = self.epoch + 1, 0
            self._plan = self._make_plan(self.epoch)
        items = self._plan[self.index]
        self.index += 1
        return collate([self.examples[i] for i, _, _ in items], [(s, n) for _, s, n in items])

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.index = int(state["epoch"]), int(state["index"])
        self._plan = None


def eval_batches(examples: list[Example], max_frames: int = 6000):
    """Whole utterances, longest first, in batches of at most ``max_frames`` frames; only
    utterances of equal length share a batch (no padding: see CropSampler)."""
    order = sorted(range(len(examples)), key=lambda i: -examples[i].frames)
    batch: list[int] = []
    for i in order:
        n = examples[i].frames
        if batch and (examples[batch[0]].frames != n or n * (len(batch) + 1) > max_frames):
            yield _whole(examples, batch)
            batch = []
        batch.append(i)
    if batch:
        yield _whole(examples, batch)


def _whole(examples: list[Example], idx: list[int]):
    chosen = [examples[i] for i in idx]
    return collate(chosen, [(0, ex.frames) for ex in chosen])
