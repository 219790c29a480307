"""Put one tracked Frame onto an avatar: shape keys by ARKit name, head bone rotation.

The math is plain Python on (w, x, y, z) tuples so it can be tested without
Blender; only `apply_frame` and the helpers that take Blender objects touch bpy
data, and they need no import of bpy themselves.
"""

import math

from . import arkit

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

def shape_key_targets(mesh_obj):
    """[(key_block, ARKit index)] for every shape key whose name is an ARKit name.

    Names match case-insensitively ("JawOpen", "jawopen" both drive jawOpen).
    The reference key (Basis) is never driven: its value has no effect.
    """
    if mesh_obj is None or getattr(mesh_obj, "type", None) != 'MESH':
        return []
    keys = mesh_obj.data.shape_keys
    if keys is None:
        return []
    reference = keys.reference_key
    targets = []
    for block in keys.key_blocks:
        if block == reference:
            continue
        name = arkit.canonical(block.name)
        if name is not None:
            targets.append((block, arkit.INDEX[name]))
    return targets


def matched_names(mesh_obj):
    """Sorted ARKit names the mesh has shape keys for (for the panel)."""
    return sorted({arkit.ARKIT_NAMES[i] for _, i in shape_key_targets(mesh_obj)})


def apply_weights(frame, targets):
    """Set shape-key values from frame.weights; return how many changed."""
    changed = 0
    weights = frame.weights
    for block, index in targets:
        value = min(1.0, max(0.0, float(weights[index])))
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
    q_local = bone_local_rotation(frame.quat, q_rest)
    changed = False
    if pose_bone.rotation_mode != 'QUATERNION':
        pose_bone.rotation_mode = 'QUATERNION'
        changed = True
    current = tuple(pose_bone.rotation_quaternion)
    # q and -q are the same rotation: compare as rotations.
    if changed or 1.0 - abs(sum(a * b for a, b in zip(current, q_local))) > QUAT_EPSILON:
        pose_bone.rotation_quaternion = q_local
        changed = True
    return changed


def apply_frame(frame, mesh_obj=None, armature_obj=None, head_bone_name="", shape_targets=None):
    """Apply `frame` to the mesh's ARKit shape keys and the armature's head bone.

    Either target may be None. Frames without a face are ignored so the avatar
    holds its last pose instead of snapping to neutral when tracking drops out.
    `shape_targets` may pass a cached `shape_key_targets(mesh_obj)`.
    Returns True if anything visible changed.
    """
    if frame is None or not frame.face:
        return False
    changed = False
    if mesh_obj is not None:
        targets = shape_key_targets(mesh_obj) if shape_targets is None else shape_targets
        changed = apply_weights(frame, targets) > 0
    bone = head_pose_bone(armature_obj, head_bone_name)
    if bone is not None:
        changed = apply_head(frame, bone) or changed
    return changed
