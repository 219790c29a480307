"""The head's rotation and position on a neck and a head bone, per frame (live apply) and
per take (the bake).

The rig convention: the character faces -Y with +Z up in armature space; any
bone orientation works, because every turn is re-expressed in the bone's rest
frame. A neck bone, when there is one, takes `neck_split` of the turn and the
head the rest; Move Head moves the topmost driven bone. The per-take forms are
the per-frame ones applied to every frame at once: the rest correction and the
location are linear maps, so a take is one matrix product each.
"""

from . import arrays, quaternions


def split_rotation(q, fraction, has_neck, has_head, neck_is_parent):
    """(neck turn, head turn), both armature space, that together turn the head by q.

    The head inherits the neck's turn when the neck is one of its parents, so
    the head's own turn is the rest of q: q^(1 - f) after the neck's q^f (the
    same axis, so the two powers multiply back to q). A neck without a head
    takes the whole turn.
    """
    if not has_neck:
        return None, q
    if not has_head:
        return q, None
    f = min(1.0, max(0.0, float(fraction)))
    q_neck = quaternions.power(q, f)
    if neck_is_parent:
        return q_neck, quaternions.power(q, 1.0 - f)
    return q_neck, q


def bone_location(position, scale, q_rest):
    """Pose location that moves a bone by `position` * `scale` (armature space).

    Pose location is in the bone's rest axes: the armature-space offset is
    rotated into them.
    """
    return quaternions.rotate(quaternions.conjugate(quaternions.normalized(q_rest)),
                              tuple(float(c) * scale for c in position))


def bone_local_rotations(quats, q_rest):
    """quaternions.to_rest_frame for many quaternions at once; (n, 4) array or list of tuples.

    With numpy the whole take is one matrix product with rest_map's columns.
    Zero or non-finite quaternions become the identity, as per frame.
    """
    cols = quaternions.rest_map(tuple(q_rest))
    np = arrays.np
    if np is None:
        return [quaternions.to_rest_frame(q, cols) for q in quats]
    conj = np.array(cols).T
    q = np.asarray(quats, dtype=np.float64).reshape(-1, 4)
    with np.errstate(invalid="ignore", over="ignore"):
        norms = np.sqrt(np.einsum("ij,ij->i", q, q))
        bad = ~np.isfinite(norms) | (norms < 1e-9)
        out = (q @ conj.T) / np.where(bad, 1.0, norms)[:, None]
    out[bad] = quaternions.IDENTITY
    return out


def head_curves(quats, q_rest):
    """A bone's rotation_quaternion curves for a take (head or neck): 4 value sequences (w, x, y, z)."""
    local = quaternions.hemisphere_consistent(bone_local_rotations(quats, q_rest))
    if arrays.np is None:
        return [list(c) for c in zip(*local)] if local else [[], [], [], []]
    return [arrays.np.ascontiguousarray(local[:, axis]) for axis in range(4)]


def bone_locations(positions, scale, q_rest):
    """bone_location for many positions at once: 3 value sequences (x, y, z).

    The map is linear, so its matrix is built from bone_location on the
    basis vectors and the take is one matrix product (numpy) or three dot
    products a frame (plain Python).
    """
    cols = [bone_location(e, scale, q_rest) for e in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))]
    np = arrays.np
    if np is None:
        (a0, a1, a2), (b0, b1, b2), (c0, c1, c2) = cols
        out = [[], [], []]
        for x, y, z in positions:
            out[0].append(a0 * x + b0 * y + c0 * z)
            out[1].append(a1 * x + b1 * y + c1 * z)
            out[2].append(a2 * x + b2 * y + c2 * z)
        return out
    p = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    local = p @ np.array(cols)
    return [np.ascontiguousarray(local[:, axis]) for axis in range(3)]


class Rig:
    """A neck and a head bone as plain values: their rest orientations in armature
    space, (w, x, y, z) or None where the bone is not driven, and whether the neck
    is among the head's parents."""

    __slots__ = ("neck_rest", "head_rest", "neck_is_parent")

    def __init__(self, neck_rest=None, head_rest=None, neck_is_parent=False):
        self.neck_rest = neck_rest
        self.head_rest = head_rest
        self.neck_is_parent = bool(neck_is_parent) and neck_rest is not None and head_rest is not None

    @property
    def moved(self):
        """The bone a Move Head moves: the topmost driven one, so neck and head move together."""
        return "neck" if self.neck_rest is not None else "head"

    @property
    def moved_rest(self):
        return self.neck_rest if self.neck_rest is not None else self.head_rest

    def split(self, quat, transform):
        """Armature-space (neck turn or None, head turn or None) for a head rotation."""
        return split_rotation(quat, transform.neck_split, self.neck_rest is not None, self.head_rest is not None,
                              self.neck_is_parent)

    def pose(self, quat, position, transform):
        """(neck rotation, head rotation, location of `moved`) as pose-bone values; None where not driven."""
        q_neck, q_head = self.split(quat, transform)
        neck = quaternions.to_rest_frame(q_neck, quaternions.rest_map(self.neck_rest)) if q_neck is not None else None
        head = quaternions.to_rest_frame(q_head, quaternions.rest_map(self.head_rest)) if q_head is not None else None
        location = bone_location(position, transform.location_scale, self.moved_rest) if transform.move else None
        return neck, head, location

    def take_curves(self, quats, positions, transform):
        """[(bone, property, value sequences)] for a take: bone "neck" or "head", property
        "rotation_quaternion" (4 curves) or "location" (3 curves, on `moved`, with Move Head).

        The split is `split` per frame (a bone the rig lacks gets no turn);
        the rest correction and the location are done for the whole take, as
        `pose` does them per frame.
        """
        split = [self.split(q, transform) for q in quats]
        out = []
        for side, bone, rest in ((0, "neck", self.neck_rest), (1, "head", self.head_rest)):
            if rest is not None:
                out.append((bone, "rotation_quaternion", head_curves([s[side] for s in split], rest)))
        if transform.move:
            out.append((self.moved, "location", bone_locations(positions, transform.location_scale, self.moved_rest)))
        return out
