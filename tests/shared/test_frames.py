"""vstream_addon/shared/frames.py: avatar frame <-> Unity frame, on turns whose answer is known.

A yaw to the subject's left, a look up and a tilt toward the left shoulder are
built in the avatar frame from the protocol's own Euler convention (the
tracker's rotation.from_euler_deg), converted to Unity and compared with what
Unity's Quaternion.Euler gives for the same turn, then converted back. The
turn is also checked on vectors: the face's forward and up directions must
end up on the same side in both frames.
"""

import math
import random

import pytest

from tracker_service import rotation
from vstream_addon.shared import frames


def quat_rotate(q, v):
    """Rotate v by unit quaternion q (w, x, y, z): the formula Unity's Quaternion * Vector3 uses too."""
    w, x, y, z = q
    vx, vy, vz = v
    # t = 2 * (q.xyz x v); v' = v + w t + q.xyz x t
    tx, ty, tz = 2 * (y * vz - z * vy), 2 * (z * vx - x * vz), 2 * (x * vy - y * vx)
    return (vx + w * tx + (y * tz - z * ty),
            vy + w * ty + (z * tx - x * tz),
            vz + w * tz + (x * ty - y * tx))


def unity_euler(x_deg, y_deg, z_deg):
    """Unity's Quaternion.Euler for a single-axis turn, as (w, x, y, z)."""
    assert sum(1 for a in (x_deg, y_deg, z_deg) if a) <= 1
    h = [math.radians(a) / 2 for a in (x_deg, y_deg, z_deg)]
    return (math.cos(sum(h)), math.sin(h[0]), math.sin(h[1]), math.sin(h[2]))


def avatar_turn(pitch=0.0, yaw=0.0, roll=0.0):
    return rotation.to_quat(rotation.from_euler_deg(pitch, yaw, roll))


AVATAR_FORWARD, AVATAR_UP, AVATAR_LEFT = (0.0, -1.0, 0.0), (0.0, 0.0, 1.0), (1.0, 0.0, 0.0)
UNITY_FORWARD, UNITY_UP, UNITY_LEFT = (0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (-1.0, 0.0, 0.0)

KNOWN_TURNS = [
    # name, avatar turn (pitch, yaw, roll in the protocol's degrees), Unity's Euler for it
    ("yaw toward the subject's left", dict(yaw=30.0), (0.0, -30.0, 0.0)),
    ("look up", dict(pitch=20.0), (-20.0, 0.0, 0.0)),
    ("tilt toward the left shoulder", dict(roll=15.0), (0.0, 0.0, 15.0)),
]


def close(a, b, tol=1e-9):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


@pytest.mark.parametrize("name, turn, euler", KNOWN_TURNS, ids=[t[0] for t in KNOWN_TURNS])
def test_known_turns_both_ways(name, turn, euler):
    q_avatar = avatar_turn(**turn)
    q_unity = frames.quat_from_avatar(frames.UNITY, q_avatar)
    assert close(q_unity, unity_euler(*euler)), (name, q_unity)
    assert close(frames.quat_to_avatar(frames.UNITY, q_unity), q_avatar)


def test_the_turns_move_the_face_the_same_way_in_both_frames():
    # yaw left: the nose goes to the subject's left; look up: the nose goes up; tilt left:
    # the top of the head goes to the subject's left. Each checked in both frames.
    cases = [(dict(yaw=30.0), "forward", "left"), (dict(pitch=20.0), "forward", "up"),
             (dict(roll=15.0), "up", "left")]
    vectors = {"forward": (AVATAR_FORWARD, UNITY_FORWARD), "up": (AVATAR_UP, UNITY_UP),
               "left": (AVATAR_LEFT, UNITY_LEFT)}
    for turn, moved, toward in cases:
        q_avatar = avatar_turn(**turn)
        q_unity = frames.quat_from_avatar(frames.UNITY, q_avatar)
        for q, index in ((q_avatar, 0), (q_unity, 1)):
            v = quat_rotate(q, vectors[moved][index])
            toward_v = vectors[toward][index]
            assert sum(a * b for a, b in zip(v, toward_v)) > 0.2, (turn, moved, toward, index, v)


def test_matches_vmc4b_on_random_rotations_and_positions():
    """BRIEF 4: VMC4B maps Unity to Blender as location (-x, -z, y), quaternion (w, x, z, -y)."""
    rng = random.Random(4)
    for _ in range(1000):
        w, x, y, z = (rng.uniform(-1, 1) for _ in range(4))
        assert frames.quat_to_avatar(frames.UNITY, (w, x, y, z)) == (w, x, z, -y)
        assert frames.quat_from_avatar(frames.UNITY, (w, x, z, -y)) == (w, x, y, z)
        px, py, pz = (rng.uniform(-2, 2) for _ in range(3))
        assert frames.vector_to_avatar(frames.UNITY, (px, py, pz)) == (-px, -pz, py)
        assert frames.vector_from_avatar(frames.UNITY, (-px, -pz, py)) == (px, py, pz)


def test_rotations_and_vectors_convert_consistently():
    """Converting a turn, then turning a converted vector, equals turning then converting."""
    rng = random.Random(5)
    for _ in range(200):
        q = avatar_turn(rng.uniform(-60, 60), rng.uniform(-80, 80), rng.uniform(-40, 40))
        v = tuple(rng.uniform(-1, 1) for _ in range(3))
        q_u = frames.quat_from_avatar(frames.UNITY, q)
        v_u = frames.vector_from_avatar(frames.UNITY, v)
        assert close(frames.vector_to_avatar(frames.UNITY, quat_rotate(q_u, v_u)), quat_rotate(q, v), 1e-9)


def test_only_signed_permutations_are_frames():
    assert frames.check_frame(frames.UNITY) == frames.UNITY
    for bad in (((1, 0, 0), (1, 0, 0), (0, 0, 1)), ((2, 0, 0), (0, 1, 0), (0, 0, 1)),
                ((1, 0), (0, 1))):
        with pytest.raises(ValueError):
            frames.check_frame(bad)
