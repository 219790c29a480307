"""core/rig.py: the head rotation on the neck and head bones, per frame and per take (numpy and
plain Python give the same numbers)."""

import math
import random

import numpy as np
import pytest

from turns import unit
from vstream_addon.core import arrays, quaternions, rig


@pytest.mark.parametrize("plain", [False, True])
def test_bone_locations_equal_live_bone_location(plain, monkeypatch):
    rng = random.Random(6)
    rest = unit((0.7, 0.1, -0.7, 0.2))
    positions = [tuple(rng.uniform(-1, 1) for _ in range(3)) for _ in range(100)]
    if plain:
        monkeypatch.setattr(arrays, "np", None)
    curves = rig.bone_locations(positions, 2.5, rest)
    for i, p in enumerate(positions):
        want = rig.bone_location(p, 2.5, rest)
        assert [curves[axis][i] for axis in range(3)] == pytest.approx(want, abs=1e-12)


def test_split_rotation_neck_and_head_make_the_whole_turn():
    q = unit((0.9, 0.2, -0.3, 0.25))
    q_neck, q_head = rig.split_rotation(q, 0.4, True, True, True)
    both = quaternions.mul(q_neck, q_head)
    assert abs(sum(a * b for a, b in zip(both, q))) == pytest.approx(1.0, abs=1e-12)
    angle = 2 * math.acos(min(1.0, abs(q[0])))
    assert 2 * math.acos(q_neck[0]) == pytest.approx(0.4 * angle)
    assert rig.split_rotation(q, 0.4, False, True, False) == (None, q)
    assert rig.split_rotation(q, 0.4, True, False, False) == (q, None)
    assert rig.split_rotation(q, 0.4, True, True, False)[1] == q  # a neck that is no parent: head takes all


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


def test_batched_head_rotation_equals_the_per_frame_one():
    rng = random.Random(9)
    for _ in range(500):
        rest = [rng.uniform(-1, 1) for _ in range(4)]
        quats = [[rng.uniform(-3, 3) for _ in range(4)] for _ in range(5)] + [[0.0, 0.0, 0.0, 0.0]]
        got = rig.bone_local_rotations(quats, rest)
        for q, g in zip(quats, got):
            want = quaternions.bone_local_rotation(q, rest)
            assert max(abs(a - b) for a, b in zip(want, g)) < 1e-9, (q, rest)
