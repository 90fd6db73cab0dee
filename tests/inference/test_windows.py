"""How long audio is cut into encoder windows (lipsync_runtime.windows): kept ranges tile the
output, every seam has its margin of context, and a padded tail computes only its audio."""
from __future__ import annotations

import pytest

from lipsync_runtime.windows import plan_windows


@pytest.mark.parametrize("total,windows", [(1400, 1), (2250, 2), (2750, 2), (3000, 3), (3750, 3),
                                           (180000, 129)])
def test_fitted_margins_take_the_fewest_windows_with_a_second_of_context(total, windows):
    from lipsync_runtime.windows import MIN_CONTEXT_FRAMES, fitted_margin
    margin = fitted_margin(total, 1500, 250)
    plan = plan_windows(total, 1500, margin)
    assert len(plan) == windows and MIN_CONTEXT_FRAMES <= margin <= 250
    assert len(plan_windows(total, 1500, MIN_CONTEXT_FRAMES)) == windows     # no fewer possible
    assert plan[-1].keep_stop == total and all(a.keep_stop == b.keep_start
                                               for a, b in zip(plan, plan[1:]))


@pytest.mark.parametrize("total", [1, 99, 100, 101, 250, 1499, 1500, 1501, 3000, 4321])
@pytest.mark.parametrize("window,margin", [(100, 10), (1500, 250), (1000, 100)])
def test_windows_tile_the_output_with_context(total, window, margin):
    plan = plan_windows(total, window, margin)
    kept = [i for w in plan for i in range(w.keep_start, w.keep_stop)]
    assert kept == list(range(total))  # every frame exactly once, in order
    for w in plan:
        assert w.stop - w.start == window and w.start >= 0
        if len(plan) > 1:
            assert w.stop <= total  # nothing computed past the end when more than one window
        assert w.keep_start == 0 or w.keep_start - w.start >= margin
        assert w.keep_stop == total or w.stop - w.keep_stop >= margin


@pytest.mark.parametrize("total", [1501, 2350, 2500, 2501, 3000, 4321, 180000])
def test_a_padded_tail_stays_on_the_grid_and_computes_less(total):
    """With cached padding the last window runs past the audio into padding (lipsync_runtime.
    windows): the same kept ranges' rule, the same count, fewer real frames computed."""
    aligned, tail = plan_windows(total, 1500, 250), plan_windows(total, 1500, 250, padded_tail=True)
    assert len(tail) == len(aligned) and tail[:-1] == aligned[:-1]
    kept = [i for w in tail for i in range(w.keep_start, w.keep_stop)]
    assert kept == list(range(total))
    last = tail[-1]
    assert last.start == (len(tail) - 1) * 1000 and last.stop >= total >= last.start + 250
    assert last.keep_start - last.start == 250          # the margin of context, as every window
    computed = sum(min(w.stop, total) - w.start for w in tail)
    assert computed == total + 2 * 250 * (len(tail) - 1)     # a margin either side of each seam
    if last.stop > total:                               # 2500 fills its last window exactly
        assert computed < sum(w.stop - w.start for w in aligned)
