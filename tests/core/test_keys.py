"""core/keys.py: where a take's keys go (plan_keys) and Reduce Keys, with the numpy paths giving
the answers of the plain-Python ones (used when a Blender's Python has no numpy, as Debian's 3.4 here).
"""

import random

import numpy as np
import pytest

from vstream_addon.core import arrays, keys
from vstream_addon.core.keys import reduce_keys


# -- Reduce Keys ---------------------------------------------------------------------

def _max_error(x, y, kept):
    return float(np.max(np.abs(np.interp(x, x[kept], y[kept]) - y)))


@pytest.mark.parametrize("seed", range(40))
def test_reduce_keys_stays_within_tolerance_and_keeps_the_ends(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 500))
    x = np.cumsum(rng.integers(1, 3, n)).astype(float)  # gaps where frames were merged or faceless
    kind = seed % 4
    if kind == 0:
        y = np.cumsum(rng.normal(0, 0.02, n))
    elif kind == 1:
        y = np.where(rng.random(n) < 0.1, rng.random(n), 0.3)  # spikes: blinks
    elif kind == 2:
        y = np.clip(np.sin(x / 20) * 0.6 + 0.5 + rng.normal(0, 0.002, n), 0, 1)
    else:
        y = rng.random(n)
    tol = [0.001, 0.005, 0.01, 0.1][seed % 4]
    kept = reduce_keys(x, y, tol)
    assert kept[0] == 0 and kept[-1] == n - 1
    assert np.all(np.diff(kept) > 0)
    assert _max_error(x, y, kept) <= tol + 1e-12


def test_reduce_keys_removes_what_a_line_reproduces():
    x = np.arange(100, dtype=float)
    y = np.concatenate([np.linspace(0, 1, 50), np.linspace(1, 0.2, 50)])
    kept = reduce_keys(x, y, 1e-6)
    assert list(kept) == [0, 49, 50, 99]
    assert list(reduce_keys(x, np.full(100, 0.4), 0.001)) == [0, 99]


def test_reduce_keys_keeps_a_one_frame_blink():
    x = np.arange(60, dtype=float)
    y = np.zeros(60)
    y[30] = 1.0
    kept = reduce_keys(x, y, 0.01)
    assert {29, 30, 31} <= set(kept.tolist())


def test_reduce_keys_zero_tolerance_or_short_curves_keep_everything():
    x = np.arange(10, dtype=float)
    y = np.full(10, 0.5)
    assert list(reduce_keys(x, y, 0.0)) == list(range(10))
    assert list(reduce_keys(x[:2], y[:2], 0.1)) == [0, 1]
    with pytest.raises(ValueError):
        reduce_keys(x, y[:3], 0.1)


def _times(rng, n, fps):
    t, out = 100.0, []
    for _ in range(n):
        t += rng.choice((1 / fps, 1 / fps, 0.0, 0.5 / fps, 1.7 / fps))
        out.append(t)
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", range(20))
def test_plan_keys_fast_path_matches_the_loop(seed, monkeypatch):
    rng = random.Random(seed)
    fps = rng.choice((24, 30, 60))
    if seed % 2:
        times = [5.0 + i / fps for i in range(rng.randrange(1, 300))]  # no collisions: the fast path
    else:
        times = _times(rng, rng.randrange(1, 300), rng.choice((24, 30, 60)))
    fast = keys.plan_keys(times, fps)
    monkeypatch.setattr(arrays, "np", None)
    slow = keys.plan_keys(times, fps)
    assert fast.keys == slow.keys and fast.merged == slow.merged


def test_plan_keys_one_key_per_frame_when_rates_match():
    plan = keys.plan_keys([5 + i / 30 for i in range(10)], 30)
    assert plan.offsets == list(range(10))
    assert plan.samples == list(range(10))
    assert plan.merged == 0


def test_plan_keys_30fps_into_24fps_shifts_then_merges():
    # exact frames: 0, .8, 1.6, 2.4, 3.2, 4.0, 4.8
    plan = keys.plan_keys([i / 30 for i in range(7)], 24)
    # 2.4 collides with 2 -> 3 (0.6 off); 3.2 -> 4; 4.0 -> 5; 4.8 would need 6
    # (1.2 off) so it replaces frame 5's value and counts as merged.
    assert plan.keys == [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 6)]
    assert plan.merged == 1


def test_plan_keys_duplicate_and_unsorted_times():
    plan = keys.plan_keys([0.2, 0.0, 0.1, 0.1], 10)
    assert plan.keys[0] == (0, 1)
    assert len(plan.keys) + plan.merged == 4
    offsets = plan.offsets
    assert offsets == sorted(set(offsets))
    times = [0.2, 0.0, 0.1, 0.1]
    for off, i in plan.keys:
        assert abs(off - times[i] * 10) <= 1.0 + 1e-9


def test_plan_keys_counts_from_given_t0():
    plan = keys.plan_keys([1.0, 1.1], 10, t0=0.5)
    assert plan.offsets == [5, 6]


def test_plan_keys_edge_cases():
    assert keys.plan_keys([], 24).keys == []
    with pytest.raises(ValueError):
        keys.plan_keys([0.0], 0)
