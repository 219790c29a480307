"""What live apply and the bake share about an avatar: quaternion math, the head
bone's rest correction, which shape keys the mapping drives, setting a pose bone.

The math is plain Python on (w, x, y, z) tuples so it can be tested without
Blender; the helpers that take Blender objects need no import of bpy.
The per-tick apply itself is live.py (LiveDriver); the bake is recorder.py.
"""

import functools
import math

from . import mapping

# A rotation closer than this to the bone's current one is not written
# (set_rotation): a still head writes nothing tick after tick.
QUAT_EPSILON = 1e-6


# -- quaternion helpers, (w, x, y, z) ----------------------------------------

def quat_mul(a, b):
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


def quat_conjugate(q):
    w, x, y, z = q
    return (w, -x, -y, -z)


def quat_normalized(q):
    n = math.sqrt(sum(c * c for c in q))
    if not math.isfinite(n) or n < 1e-9:
        return (1.0, 0.0, 0.0, 0.0)
    return tuple(c / n for c in q)


def quat_rotate(q, v):
    """Rotate vector v by unit quaternion q."""
    w, x, y, z = quat_mul(quat_mul(q, (0.0, *v)), quat_conjugate(q))
    return (x, y, z)


def bone_local_rotation(q_avatar, q_rest):
    """Pose-bone rotation that turns a bone by `q_avatar` in armature space.

    A pose bone's rotation acts in the bone's own rest frame, whose axes
    differ from the armature's (a head bone usually points +Z, some rigs +Y,
    and any roll twists it further). Conjugating by the rest orientation
    expresses the armature-space turn in that frame:
    q_local = q_rest^-1 @ q_avatar @ q_rest.
    """
    q_rest = quat_normalized(q_rest)
    return quat_normalized(quat_mul(quat_mul(quat_conjugate(q_rest), quat_normalized(q_avatar)), q_rest))


# -- shape keys -----------------------------------------------------------------

class ShapeKeyTarget:
    """One driven shape key: the Blender key block and the mapping.Binding that values it."""

    __slots__ = ("block", "binding")

    def __init__(self, block, binding):
        self.block = block
        self.binding = binding

    def __repr__(self):
        return "ShapeKeyTarget(%r <- %s)" % (self.binding.shape_key, self.binding.channel)


def mesh_entries(mesh_obj):
    """Explicit entries stored on the mesh object (mapping.PROP_MAPPING), [] if none.

    Raises mapping.MappingError when the stored text is not a valid preset.
    """
    text = mesh_obj.get(mapping.PROP_MAPPING) if hasattr(mesh_obj, "get") else None
    if not text:
        return []
    return mapping.entries_from_json(str(text), source='%s["%s"]' % (mesh_obj.name, mapping.PROP_MAPPING))


def mapping_error(mesh_obj):
    """Why the mesh's stored entries are ignored, or None (for the panel)."""
    try:
        mesh_entries(mesh_obj)
    except mapping.MappingError as e:
        return str(e)
    return None


def _key_blocks(mesh_obj):
    if mesh_obj is None or getattr(mesh_obj, "type", None) != 'MESH':
        return []
    keys = mesh_obj.data.shape_keys
    if keys is None:
        return []
    reference = keys.reference_key
    # The reference key (Basis) is never driven: its value has no effect.
    return [block for block in keys.key_blocks if block != reference]


def mapping_targets(mesh_obj, entries=None):
    """[ShapeKeyTarget] for every shape key that gets a value (mapping.resolve order).

    `entries` defaults to the ones stored on the mesh; a bad stored preset is
    ignored here (live apply must not stop) and reported by `mapping_error`.
    """
    blocks = _key_blocks(mesh_obj)
    if not blocks:
        return []
    names = tuple(block.name for block in blocks)
    if entries is None:
        text = mesh_obj.get(mapping.PROP_MAPPING) if hasattr(mesh_obj, "get") else None
        bindings = _stored_resolution(names, str(text) if text else "")
    else:
        bindings = mapping.resolve(names, entries)
    by_name = dict(zip(names, blocks))
    return [ShapeKeyTarget(by_name[b.shape_key], b) for b in bindings]


@functools.lru_cache(maxsize=64)
def _stored_resolution(names, text):
    # Live apply resolves every tick; the key names and the stored text
    # rarely change, so parse and resolve once per combination. The bindings
    # (and their entries) are shared between calls: never mutate them.
    entries = []
    if text:
        try:
            entries = mapping.entries_from_json(text)
        except mapping.MappingError:
            pass
    return tuple(mapping.resolve(names, entries))


def matched_names(mesh_obj):
    """Sorted ARKit names the mesh has shape keys for (for the panel)."""
    return sorted({t.binding.channel for t in mapping_targets(mesh_obj)
                   if not t.binding.muted and not t.binding.is_vrm})


def target_values(targets, weights):
    """Shape-key values (None: leave the key alone) of `mapping_targets` output.

    `weights` are 52 in wire order. The bake values VRM presets and shaped
    entries with this; live.MeshPlan does the same per tick.
    """
    return mapping.evaluate([t.binding for t in targets], weights)


# -- pose bones -----------------------------------------------------------------

def set_rotation(pose_bone, q_local):
    """Set a pose bone's quaternion rotation; True if it changed."""
    changed = False
    if pose_bone.rotation_mode != 'QUATERNION':
        pose_bone.rotation_mode = 'QUATERNION'
        changed = True
    # q and -q are the same rotation: compare as rotations.
    w, x, y, z = pose_bone.rotation_quaternion
    if changed or 1.0 - abs(w * q_local[0] + x * q_local[1] + y * q_local[2] + z * q_local[3]) > QUAT_EPSILON:
        pose_bone.rotation_quaternion = q_local
        changed = True
    return changed
