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
    """Inverse of from_euler_deg: (pitch, yaw, roll) in degrees."""
    forward = r @ np.array([0.0, -1.0, 0.0])
    yaw = math.atan2(forward[0], -forward[1])
    pitch = math.asin(max(-1.0, min(1.0, forward[2])))
    rest = _rx(pitch) @ _rz(-yaw) @ r
    roll = math.atan2(rest[0, 2], rest[0, 0])
    return math.degrees(pitch), math.degrees(yaw), math.degrees(roll)


def to_quat(r):
    """Unit quaternion (w, x, y, z) of a rotation matrix, w >= 0."""
    m = r
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = math.sqrt(tr + 1.0) * 2
        q = (0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s)
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        q = ((m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s)
    elif m[1, 1] > m[2, 2]:
        s = math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        q = ((m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s)
    else:
        s = math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        q = ((m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s)
    q = np.array(q)
    q /= np.linalg.norm(q)
    return tuple(float(v) for v in (q if q[0] >= 0 else -q))


def angle_between_deg(r1, r2):
    c = (np.trace(r1.T @ r2) - 1.0) / 2.0
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))
