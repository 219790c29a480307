"""Put one tracked Frame onto an avatar: shape keys through the mapping, head bone rotation.

The math is plain Python on (w, x, y, z) tuples so it can be tested without
Blender; only `apply_frame` and the helpers that take Blender objects touch bpy
data, and they need no import of bpy themselves.
"""

import functools
import math

from . import mapping

# Below this a shape-key value is left alone, so a still face does not tag
# the mesh for a depsgraph update on every tick.
VALUE_EPSILON = 1e-5
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


def shape_key_targets(mesh_obj):
    """[(key_block, ARKit index)] for every shape key one ARKit channel drives unchanged.

    Includes every spelling mapping.detect_arkit knows ("JawOpen", "eyeBlink_L")
    and explicit entries without gain/offset/clamp/invert. Keys valued by a VRM
    formula or a shaped entry are not here: `mapping_targets` and
    `target_values` cover those.
    """
    return [(t.block, t.binding.arkit_index) for t in mapping_targets(mesh_obj)
            if not t.binding.muted and t.binding.arkit_index is not None]


def matched_names(mesh_obj):
    """Sorted ARKit names the mesh has shape keys for (for the panel)."""
    return sorted({t.binding.channel for t in mapping_targets(mesh_obj)
                   if not t.binding.muted and not t.binding.is_vrm})


def target_values(targets, weights):
    """Shape-key values (None: leave the key alone) for 52 weights in wire order.

    `targets` is `mapping_targets` output or `shape_key_targets` pairs.
    """
    if targets and not isinstance(targets[0], ShapeKeyTarget):
        return [min(1.0, max(0.0, float(weights[index]))) for _, index in targets]
    return mapping.evaluate([t.binding for t in targets], weights)


def apply_weights(frame, targets):
    """Set shape-key values from frame.weights; return how many changed."""
    changed = 0
    blocks = [t.block if isinstance(t, ShapeKeyTarget) else t[0] for t in targets]
    for block, value in zip(blocks, target_values(targets, frame.weights)):
        if value is None:
            continue
        if abs(block.value - value) > VALUE_EPSILON:
            block.value = value
            changed += 1
    return changed


# -- head bone ------------------------------------------------------------------

def head_pose_bone(armature_obj, head_bone_name):
    if armature_obj is None or getattr(armature_obj, "type", None) != 'ARMATURE' or not head_bone_name:
        return None
    return armature_obj.pose.bones.get(head_bone_name)


def apply_head(frame, pose_bone):
    """Turn the head pose bone by frame.quat; return True if it changed."""
    q_rest = tuple(pose_bone.bone.matrix_local.to_quaternion())
    return set_rotation(pose_bone, bone_local_rotation(frame.quat, q_rest))


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


def apply_frame(frame, mesh_obj=None, armature_obj=None, head_bone_name="", shape_targets=None):
    """Apply `frame` to the mesh's mapped shape keys and the armature's head bone.

    Either target may be None. Frames without a face are ignored so the avatar
    holds its last pose instead of snapping to neutral when tracking drops out.
    `shape_targets` may pass cached `mapping_targets(mesh_obj)` (or the
    older `shape_key_targets(mesh_obj)` pairs).
    Returns True if anything visible changed.
    """
    if frame is None or not frame.face:
        return False
    changed = False
    if mesh_obj is not None:
        targets = mapping_targets(mesh_obj) if shape_targets is None else shape_targets
        changed = apply_weights(frame, targets) > 0
    bone = head_pose_bone(armature_obj, head_bone_name)
    if bone is not None:
        changed = apply_head(frame, bone) or changed
    return changed
