"""Rotations between OpenCV's camera frame and the avatar frame of the protocol.

Avatar frame (docs/PROTOCOL.md): a Blender character facing -Y, +Z up, +X the
subject's own left. OpenCV camera frame: +X image right, +Y down, +Z away from
the camera. For an unmirrored camera looking at the subject, image right is
the subject's left, so the change of basis is x->x, z->y, -y->z.
"""

import math

import numpy as np

CAMERA_TO_AVATAR = np.array([[1.0, 0.0, 0.0],
                             [0.0, 0.0, 1.0],
                             [0.0, -1.0, 0.0]])


def camera_to_avatar(r_cam):
    return CAMERA_TO_AVATAR @ r_cam @ CAMERA_TO_AVATAR.T


def _rx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def from_euler_deg(pitch, yaw, roll):
    """Avatar-frame rotation: yaw about +Z (toward the subject's left), then pitch
    (looking up is a negative turn about +X), then roll about the face axis +Y
    (top of the head toward the subject's left shoulder)."""
    p, y, r = (math.radians(v) for v in (pitch, yaw, roll))
    return _rz(y) @ _rx(-p) @ _ry(r)


def to_euler_deg(r):
    """Inverse of from_euler_deg: (pitch, yaw, roll) in degrees.

    On plain floats (runs every frame; numpy's per-call overhead on 3x3 matrices
    cost more than the arithmetic)."""
    (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = r.tolist()
    forward = (0.0 - r01, 0.0 - r11, 0.0 - r21)   # r @ (0, -1, 0), zeros signed as numpy's
    yaw = math.atan2(forward[0], -forward[1])
    pitch = math.asin(max(-1.0, min(1.0, forward[2])))
    # Row 0 of _rx(pitch) @ _rz(-yaw) @ r: _rx leaves row 0 alone, _rz(-yaw)'s row 0 is (c, -s, 0).
    c, s = math.cos(-yaw), math.sin(-yaw)
    roll = math.atan2(c * r02 + -s * r12 + 0.0 * r22, c * r00 + -s * r10 + 0.0 * r20)
    return math.degrees(pitch), math.degrees(yaw), math.degrees(roll)


def to_quat(r):
    """Unit quaternion (w, x, y, z) of a rotation matrix, w >= 0 (on plain floats, as to_euler_deg)."""
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = r.tolist()
    tr = m00 + m11 + m22
    if tr > 0:
        s = math.sqrt(tr + 1.0) * 2
        q = (0.25 * s, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s)
    elif m00 > m11 and m00 > m22:
        s = math.sqrt(1.0 + m00 - m11 - m22) * 2
        q = ((m21 - m12) / s, 0.25 * s, (m01 + m10) / s, (m02 + m20) / s)
    elif m11 > m22:
        s = math.sqrt(1.0 + m11 - m00 - m22) * 2
        q = ((m02 - m20) / s, (m01 + m10) / s, 0.25 * s, (m12 + m21) / s)
    else:
        s = math.sqrt(1.0 + m22 - m00 - m11) * 2
        q = ((m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, 0.25 * s)
    n = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    if q[0] < 0:
        n = -n
    return tuple(v / n for v in q)


def angle_between_deg(r1, r2):
    # trace(r1.T @ r2) is the sum of the elementwise products: one numpy pass.
    c = (float((r1 * r2).sum()) - 1.0) / 2.0
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))
