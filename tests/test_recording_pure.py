"""Recording pieces that need no Blender: Reduce Keys, and the numpy paths of the
bake giving the same answers as the plain-Python ones (used when a Blender's
Python has no numpy, as Debian's 3.4 here).
"""

import math
import random

import numpy as np
import pytest

from vstream_addon.core import arrays, keys, mapping, quaternions, rig, values
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


# -- numpy paths == plain-Python paths -------------------------------------------------

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


def test_head_math_numpy_matches_plain_python(monkeypatch):
    rng = random.Random(4)
    quats = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(200)] + [[0.0] * 4, [float("nan")] * 4]
    rest = (0.9, 0.1, -0.3, 0.2)
    fast = rig.head_curves(quats, rest)
    monkeypatch.setattr(arrays, "np", None)
    slow = rig.head_curves(quats, rest)
    for a, b in zip(fast, slow):
        assert np.allclose(np.asarray(a), np.asarray(b), atol=1e-12)
    # And each equals the per-frame rotation up to the hemisphere sign.
    for i, q in enumerate(quats):
        want = quaternions.bone_local_rotation(q, rest)
        got = [slow[axis][i] for axis in range(4)]
        assert abs(abs(sum(a * b for a, b in zip(want, got))) - 1.0) < 1e-9


class Block:
    """Stands in for a shape-key block: the bake reads its name and slider range."""

    def __init__(self, name, lo=0.0, hi=1.0):
        self.name, self.slider_min, self.slider_max = name, lo, hi


def _targets():
    names = ["Blink", "Blink_L", "A", "jawOpen", "eyeBlinkLeft", "cheekPuff", "mouthSmileLeft", "browInnerUp"]
    entries = [mapping.MappingEntry("eyeBlinkLeft", "eyeBlinkLeft", invert=True),
               mapping.MappingEntry("cheekPuff", "cheekPuff", gain=3.0, offset=-0.5, min=-1.0, max=2.0),
               mapping.MappingEntry("mouthSmileLeft", "happy", gain=0.5),
               mapping.MappingEntry("browInnerUp", "browInnerUp", mute=True)]
    bindings = mapping.resolve(names, entries)
    # cheekPuff's slider only goes to 1.5: live assignment clamps there.
    blocks = {n: Block(n, hi=1.5 if n == "cheekPuff" else 1.0) for n in names}
    return [(blocks[b.shape_key], b) for b in bindings]


@pytest.mark.parametrize("plain", [False, True], ids=["numpy", "plain"])
def test_shape_key_curves_equal_live_target_values(plain, monkeypatch):
    rng = random.Random(11)
    rows = [tuple(rng.uniform(-0.2, 1.2) for _ in range(52)) for _ in range(50)]
    rows.append(tuple([float("nan")] * 52))
    targets = _targets()
    # As the bake builds it (blender/bake.py): the driven keys and their slider ranges.
    driven = [(block, b) for block, b in targets if not b.muted]
    take_rule = values.KeyValues([b for _, b in driven], [(block.slider_min, block.slider_max) for block, _ in driven])
    # As live apply values a frame: every key the mapping resolves, with the same ranges.
    live_rule = values.KeyValues([b for _, b in targets], [(block.slider_min, block.slider_max) for block, _ in targets])
    if plain:
        monkeypatch.setattr(arrays, "np", None)
    curves = list(zip([block for block, _ in driven], take_rule.take(rows)))
    names = [block.name for block, _ in curves]
    assert "browInnerUp" not in names and len(names) == len(targets) - 1
    for i, row in enumerate(rows):
        live = live_rule.frame(row)
        by_name = {block.name: min(block.slider_max, max(block.slider_min, v))
                   for (block, _), v in zip(targets, live) if v is not None}
        for block, column in curves:
            got = float(column[i])
            assert math.isfinite(got)
            assert got == pytest.approx(by_name[block.name], abs=1e-12), (block.name, i)
