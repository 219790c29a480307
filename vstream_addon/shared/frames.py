"""Coordinate frames: the protocol's avatar frame and the frames other programs speak in.

Standard library only: the tracker converts its head rotation into Unity's
frame for VMC (tracker_service/vmc_sender.py), and the add-on's VMC and
OpenSeeFace decoders (core/sources/) convert back with the same definitions.

Avatar frame (docs/PROTOCOL.md): right-handed, the character faces -Y with +Z
up, so +X is the subject's own left. Turning toward one's own left is a
positive rotation about +Z, looking up a negative one about +X, tilting the
head toward the left shoulder a positive one about +Y.

Unity (VMC, VSeeFace, Warudo...): left-handed, +Y up, a humanoid faces +Z, so
+X is the character's right. Quaternions are written (x, y, z, w) there; here
every quaternion is (w, x, y, z), whatever frame it is in, and only the VMC
wire code reorders.

Every frame here shares the avatar frame's axis lines, reordered and signed:
a signed permutation matrix M with avatar = M @ other. A vector converts as
M v. A rotation converts as M R M^T, which for a quaternion (w, v) is
(w, det(M) * M v): the rotation axis is a pseudovector, so in a mirrored
(left-handed) frame the same turn is read about the opposite axis. For Unity
that gives exactly what VMC4B does in Blender: location (-x, -z, y),
quaternion (w, x, z, -y).
"""

# avatar = UNITY @ unity: avatar +X (subject's left) is Unity -X (the character's
# right is +X there), avatar -Y (forward) is Unity +Z, avatar +Z (up) is Unity +Y.
UNITY = ((-1, 0, 0),
         (0, 0, -1),
         (0, 1, 0))


def check_frame(m):
    """m itself if it is a signed permutation matrix (rows of one +-1 each); ValueError if not."""
    rows = [tuple(int(c) for c in row) for row in m]
    columns = list(zip(*rows))
    for line in rows + columns:
        if len(line) != 3 or sorted(abs(c) for c in line) != [0, 0, 1]:
            raise ValueError("not a signed permutation matrix: %r" % (m,))
    return tuple(rows)


def _det(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def _mul(m, v):
    return (m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
            m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
            m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2])


def _transpose(m):
    return tuple(zip(*m))


def vector_to_avatar(frame, v):
    """A position or direction given in `frame` (avatar = frame @ other), in the avatar frame."""
    return tuple(float(c) for c in _mul(frame, v))


def vector_from_avatar(frame, v):
    return tuple(float(c) for c in _mul(_transpose(frame), v))


def quat_to_avatar(frame, q):
    """A rotation (w, x, y, z) given in `frame`, as the same turn in the avatar frame."""
    w, x, y, z = q
    s = _det(frame)
    ax, ay, az = _mul(frame, (x, y, z))
    return (float(w), float(s * ax), float(s * ay), float(s * az))


def quat_from_avatar(frame, q):
    w, x, y, z = q
    s = _det(frame)
    ax, ay, az = _mul(_transpose(frame), (x, y, z))
    return (float(w), float(s * ax), float(s * ay), float(s * az))


check_frame(UNITY)
