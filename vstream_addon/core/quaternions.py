"""Quaternion maths on plain (w, x, y, z) tuples: the one place the add-on multiplies,
normalises, splits or re-expresses a rotation.

Rotations arrive in the avatar frame (the character faces -Y with +Z up, as in an
armature's space); a pose bone's rotation acts in that bone's rest frame, which
`bone_local_rotation` (one frame) and `rest_map` + `to_rest_frame` (the same map,
built once and applied to many frames) convert to.
"""

import functools
import math

from . import arrays

IDENTITY = (1.0, 0.0, 0.0, 0.0)


def mul(a, b):
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


def conjugate(q):
    w, x, y, z = q
    return (w, -x, -y, -z)


def normalized(q):
    """q scaled to unit length; the identity for a zero or non-finite q."""
    # Spelled out (not sum() over a generator): the same additions in the same
    # order, three times faster, and the bake calls this a few times a frame.
    w, x, y, z = q
    n = math.sqrt(w * w + x * x + y * y + z * z)
    if not math.isfinite(n) or n < 1e-9:
        return IDENTITY
    return (float(w) / n, float(x) / n, float(y) / n, float(z) / n)


def rotate(q, v):
    """Rotate vector v by unit quaternion q."""
    w, x, y, z = mul(mul(q, (0.0, *v)), conjugate(q))
    return (x, y, z)


def power(q, t):
    """q^t: the same axis, t times the angle (shortest way round); t in 0..1 splits a turn."""
    w, x, y, z = normalized(q)
    if w < 0.0:
        w, x, y, z = -w, -x, -y, -z
    s = math.sqrt(x * x + y * y + z * z)
    if s < 1e-12:
        return IDENTITY
    half = math.atan2(s, w) * t
    k = math.sin(half) / s
    return (math.cos(half), x * k, y * k, z * k)


def bone_local_rotation(q_avatar, q_rest):
    """Pose-bone rotation that turns a bone by `q_avatar` in armature space.

    A pose bone's rotation acts in the bone's own rest frame, whose axes
    differ from the armature's (a head bone usually points +Z, some rigs +Y,
    and any roll twists it further). Conjugating by the rest orientation
    expresses the armature-space turn in that frame:
    q_local = q_rest^-1 @ q_avatar @ q_rest.
    """
    q_rest = normalized(q_rest)
    return normalized(mul(mul(conjugate(q_rest), normalized(q_avatar)), q_rest))


@functools.lru_cache(maxsize=64)
def rest_map(q_rest):
    """bone_local_rotation(., q_rest) as a linear map: its 4 columns, the images of the basis.

    Conjugation by a fixed unit quaternion is linear, so a bone's rest
    correction is built once (cached per rest rotation) and then costs 16
    products a frame: `to_rest_frame` per frame (live apply, the plain bake)
    or one matrix product over a whole take (the numpy bake).
    """
    basis = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0))
    return tuple(bone_local_rotation(e, q_rest) for e in basis)


def to_rest_frame(q, columns):
    """The pose-bone rotation turning a bone by `q` (armature space); `columns` = rest_map(rest).

    A zero or non-finite q gives the identity, as `normalized` does.
    """
    (a0, a1, a2, a3), (b0, b1, b2, b3), (c0, c1, c2, c3), (d0, d1, d2, d3) = columns
    w, x, y, z = q
    n = math.sqrt(w * w + x * x + y * y + z * z)
    if not math.isfinite(n) or n < 1e-9:
        return IDENTITY
    return ((a0 * w + b0 * x + c0 * y + d0 * z) / n, (a1 * w + b1 * x + c1 * y + d1 * z) / n,
            (a2 * w + b2 * x + c2 * y + d2 * z) / n, (a3 * w + b3 * x + c3 * y + d3 * z) / n)


def hemisphere_consistent(quats):
    """Flip signs so consecutive quaternions are within 180 degrees; (n, 4) array or list of tuples.

    q and -q are the same rotation, but linear interpolation between them
    swings the head the long way round. Each sign is the previous one times
    the sign of the raw neighbours' dot product, so a cumulative product does
    the whole take at once.
    """
    np = arrays.np
    if np is None:
        out, prev = [], None
        for q in quats:
            if prev is not None and sum(a * b for a, b in zip(prev, q)) < 0.0:
                q = tuple(-c for c in q)
            out.append(tuple(q))
            prev = q
        return out
    q = np.asarray(quats, dtype=np.float64).reshape(-1, 4)
    if len(q) < 2:
        return q.copy()
    steps = np.where(np.einsum("ij,ij->i", q[:-1], q[1:]) < 0.0, -1.0, 1.0)
    signs = np.concatenate(([1.0], np.cumprod(steps)))
    return q * signs[:, None]
