"""core/quaternions.py: the add-on's one quaternion module."""

import math
import random

import pytest

from turns import angle_between, axis_angle, close, yaw
from vstream_addon.core import quaternions


def test_yaw_left_about_z_turns_the_face_toward_plus_x():
    nose = quaternions.rotate(axis_angle((0, 0, 1), 30), (0, -1, 0))
    assert nose[0] > 0.4


@pytest.mark.parametrize("rest", [
    (1, 0, 0, 0),                      # a bone pointing +Y, no roll
    axis_angle((1, 0, 0), 90),         # a bone pointing +Z (usual head bone)
    axis_angle((0.2, 0.7, -0.4), 77),  # anything, with roll
])
def test_bone_local_rotation_is_the_armature_rotation_in_bone_space(rest):
    q = axis_angle((0.3, -0.5, 0.8), 40)
    local = quaternions.bone_local_rotation(q, rest)
    # Posed armature-space orientation = rest @ local must equal q @ rest.
    posed = quaternions.mul(rest, local)
    want = quaternions.mul(q, rest)
    assert close(posed, want) or close(posed, tuple(-c for c in want))


def test_quat_normalized_handles_zero():
    assert quaternions.normalized((0, 0, 0, 0)) == (1.0, 0.0, 0.0, 0.0)


def test_hemisphere_consistent_avoids_long_way_round():
    q = [(1, 0, 0, 0), (-0.99, 0, 0, -0.14), (0.98, 0, 0, 0.2)]
    out = quaternions.hemisphere_consistent(q)
    assert tuple(out[1]) == (0.99, 0, 0, 0.14)
    assert tuple(out[2]) == (0.98, 0, 0, 0.2)


def test_normalized_spelled_out_keeps_the_old_numbers():
    rng = random.Random(4)
    for _ in range(1000):
        q = tuple(rng.uniform(-2, 2) for _ in range(4))
        n = math.sqrt(sum(c * c for c in q))
        assert quaternions.normalized(q) == tuple(float(c) / n for c in q)


def test_quat_power_splits_a_turn():
    half = quaternions.power(yaw(60), 0.5)
    assert angle_between(half, yaw(30)) < 1e-9
    rest = quaternions.power(yaw(60), 0.5)
    assert angle_between(quaternions.mul(half, rest), yaw(60)) < 1e-9
    assert quaternions.power(tuple(-c for c in yaw(60)), 1.0) == pytest.approx(yaw(60))
    assert quaternions.power((1.0, 0.0, 0.0, 0.0), 0.3) == (1.0, 0.0, 0.0, 0.0)
