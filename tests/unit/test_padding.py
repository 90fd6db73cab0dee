"""lipsync_runtime.padding: which clips use cached padding, how levels are shared and evicted."""
from __future__ import annotations

import numpy as np

from lipsync_runtime.padding import (ENTRIES, EXACT_FRAMES, FLOOR_STEP, PaddingCache,
                                     cached_frames, floor_level)

WINDOW, LAYERS, DIM = 1500, 3, 4


def fake_pass(calls: list[float]):
    """A silence pass whose keys say their position and values their level (both exact in the
    cache's float16)."""
    def run(level: float) -> tuple[np.ndarray, np.ndarray]:
        calls.append(level)
        positions = np.arange(WINDOW, dtype=np.float32)[:, None, None]
        keys = np.broadcast_to(positions, (WINDOW, LAYERS, DIM)).copy()
        return keys, np.full_like(keys, level)
    return run


def test_short_clips_compute_their_frames_and_the_convolution_edge_only():
    assert cached_frames(100, WINDOW) == 100 + EXACT_FRAMES
    assert cached_frames(WINDOW - EXACT_FRAMES - 1, WINDOW) == WINDOW - 1
    assert cached_frames(WINDOW - EXACT_FRAMES, WINDOW) is None      # nothing left to reuse
    assert cached_frames(4000, WINDOW) is None


def test_padding_is_the_positions_after_the_clip_of_its_own_level():
    calls: list[float] = []
    cache = PaddingCache(fake_pass(calls))
    keys, values = cache.padding(-0.80, 102)
    level = floor_level(-0.80)
    assert keys.shape == values.shape == (WINDOW - 102, LAYERS, DIM)
    assert keys[0, 0, 0] == 102 and keys[-1, 2, 3] == WINDOW - 1
    assert np.all(values == level)
    assert keys.dtype == values.dtype == np.float16                   # what the encoder takes
    assert keys.flags.c_contiguous and values.flags.c_contiguous
    assert calls == [level]


def test_lines_at_a_similar_level_share_one_silence_pass():
    calls: list[float] = []
    cache = PaddingCache(fake_pass(calls))
    near = floor_level(-0.80)
    for floor in (near - 0.4 * FLOOR_STEP, near, near + 0.4 * FLOOR_STEP):
        cache.padding(floor, 60)
    assert calls == [near] and cache.passes == 1
    cache.padding(near + FLOOR_STEP, 60)                            # another level: one more pass
    assert cache.passes == 2


def test_the_least_recent_level_is_evicted():
    calls: list[float] = []
    cache = PaddingCache(fake_pass(calls))
    levels = [-1.0 + k * FLOOR_STEP for k in range(ENTRIES + 1)]
    for level in levels:
        cache.padding(level, 10)
    assert cache.passes == ENTRIES + 1
    cache.padding(levels[-1], 10)                                    # still kept
    assert cache.passes == ENTRIES + 1
    cache.padding(levels[0], 10)                                     # evicted: computed again
    assert cache.passes == ENTRIES + 2
