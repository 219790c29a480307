"""Live apply: face frames from the session onto every face mesh and the neck/head bones.

The tick's hot path, and the only place live values reach Blender data. Per
frame, the core computes them: core/face_transform (the add-on's neutral,
optional smoothing), core/values (each shape key's value), core/rig (the
neck/head split in each bone's rest frame); this module finds the meshes and
bones and writes.

Speed (a tick must stay far below a 60 Hz frame): each mesh's resolved
mapping is compiled once into key-block slots (core/values.MeshPlan) and
reused while the mesh, its shape-key datablock, the number of keys and the
stored mapping text stay the same; it is rebuilt every NAME_CHECK_TICKS ticks
anyway to catch renames and slider ranges, and undo/redo/file load drop every
plan (`on_data_replaced`). Values are read and written for all keys of a mesh in
one `foreach_get`/`foreach_set` each (52 separate `value` writes each run
Blender's update for the whole Key), and nothing is written when no value moved.
"""

import collections
import json

from bpy.app.handlers import persistent

from ..core import neutral, quaternions, values
from ..core.face_transform import FaceTransform, Filters
from ..core.mapping import PROP_MAPPING
from ..core.rig import Rig
from ..shared import protocol

NAME_CHECK_TICKS = 30  # half a second at 60 ticks/s
# A rotation closer than this to the bone's current one is not written
# (set_rotation): a still head writes nothing tick after tick.
QUAT_EPSILON = 1e-6


def target_meshes(settings):
    """Face meshes live apply drives (and takes key): `settings.mesh` first, then the extra list; meshes only, no repeats."""
    found = []
    candidates = [getattr(settings, "mesh", None)]
    candidates += [slot.object for slot in getattr(settings, "meshes", ())]
    for obj in candidates:
        if obj is not None and getattr(obj, "type", None) == 'MESH' and obj not in found:
            found.append(obj)
    return found


# -- shape keys ------------------------------------------------------------------

def _signature(obj, keys):
    text = obj.get(PROP_MAPPING)
    return (obj.as_pointer(), keys.as_pointer(), len(keys.key_blocks), str(text) if text else "")


def _build_plan(keys, signature):
    blocks = keys.key_blocks
    names = [block.name for block in blocks]
    reference = keys.reference_key
    reference_slot = next((i for i, block in enumerate(blocks) if block == reference), -1)
    ranges = {}
    for i, block in enumerate(blocks):
        if i != reference_slot and (block.slider_min != 0.0 or block.slider_max != 1.0):
            ranges[i] = (block.slider_min, block.slider_max)
    return values.MeshPlan(signature, names, reference_slot, ranges)


# -- bones -----------------------------------------------------------------------

def head_bones(settings, options):
    """(neck pose bone or None, head pose bone or None) named in the settings."""
    neck_name = getattr(options, "neck_bone", "") if options is not None else ""
    return find_bones(getattr(settings, "armature", None), settings.head_bone, neck_name)


def find_bones(armature_obj, head_name, neck_name):
    """(neck pose bone or None, head pose bone or None) of an armature object by name."""
    if armature_obj is None or getattr(armature_obj, "type", None) != 'ARMATURE':
        return None, None
    bones = armature_obj.pose.bones
    head = bones.get(head_name) if head_name else None
    neck = bones.get(neck_name) if neck_name else None
    if neck is not None and head is not None and neck.name == head.name:
        neck = None
    return neck, head


def rest_rotation(pose_bone):
    """The bone's rest orientation in armature space, (w, x, y, z)."""
    return tuple(pose_bone.bone.matrix_local.to_quaternion())


def rig_of(neck, head):
    """The core Rig of a neck and a head pose bone (either may be None)."""
    return Rig(rest_rotation(neck) if neck is not None else None,
               rest_rotation(head) if head is not None else None,
               neck is not None and head is not None and neck.bone in head.bone.parent_recursive)


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


def _set_location(pose_bone, local):
    """Set a pose bone's location; True if it changed."""
    current = tuple(pose_bone.location)
    if max(abs(a - b) for a, b in zip(current, local)) > 1e-6:
        pose_bone.location = local
        return True
    return False


# -- the driver ----------------------------------------------------------------------

class LiveDriver:
    """Per-session state of live apply: compiled plans, filters, recent frames."""

    def __init__(self):
        self.session = None
        self.plans = {}
        self.recent = collections.deque(maxlen=neutral.WINDOW_FRAMES)
        self.filters = Filters()
        self._neutral_text = None
        self._neutral = None

    def reset(self, session=None):
        self.session = session
        self.plans.clear()
        self.recent.clear()
        self.filters.reset()

    def forget_plans(self):
        """Drop every compiled mesh plan (undo, redo, file load: Blender data was replaced)."""
        self.plans.clear()

    @property
    def last_face(self):
        return self.recent[-1] if self.recent else None

    def neutral_weights(self, options):
        text = getattr(options, "neutral_weights", "") if options is not None else ""
        if text != self._neutral_text:
            self._neutral_text = text
            self._neutral = None
            if text:
                try:
                    self._neutral = neutral.clean_neutral(json.loads(text))
                except (ValueError, TypeError):
                    self._neutral = None  # a hand-edited value: ignore it rather than stop
        return self._neutral

    def drive(self, session, settings, frames):
        """Apply the newest face frame in `frames` (all of them go through smoothing).

        Frames without a face are skipped: the avatar holds its last pose.
        Returns True if anything visible changed.
        """
        if session is not self.session:
            self.reset(session)
        faces = [f for f in frames if f.face]
        if not faces:
            return False
        self.recent.extend(faces)
        options = getattr(settings, "live", None)
        transform = self.transform(options)
        if not transform.smooth:
            faces = faces[-1:]  # nothing carries over between frames: the newest is enough
        for f in faces:
            weights, quat, position = transform.values(f, self.filters)
        changed = False
        for obj in target_meshes(settings):
            changed = self.apply_mesh(obj, weights) or changed
        return self.apply_head(settings, options, quat, position, transform) or changed

    def transform(self, options):
        """The FaceTransform for the current options (what this tick applies)."""
        return FaceTransform.from_options(options, self.neutral_weights(options))

    def snapshot(self, session, options):
        """(FaceTransform, copy of the smoothing state) as they stand now: what Record keeps.

        The filters are those live apply continues from on the next tick,
        or fresh ones if this session has not driven a frame yet.
        """
        filters = self.filters.copy() if session is self.session else Filters()
        return self.transform(options), filters

    def apply_mesh(self, obj, weights):
        keys = obj.data.shape_keys
        if keys is None:
            return False
        pointer = obj.as_pointer()
        plan = self.plans.get(pointer)
        signature = _signature(obj, keys)
        blocks = keys.key_blocks
        if plan is not None and plan.signature == signature:
            plan.ticks += 1
            if plan.ticks >= NAME_CHECK_TICKS:
                # Renames and slider ranges change nothing the signature sees:
                # recompile now and then (~50 us, so ~2 us a tick).
                plan = None
        else:
            plan = None
        if plan is None:
            plan = self.plans[pointer] = _build_plan(keys, signature)
        # Read the current values too: a key the user moved by hand is reset on the next frame.
        blocks.foreach_get("value", plan.values)
        if not plan.new_values(weights):
            return False
        blocks.foreach_set("value", plan.values)
        # foreach_set skips RNA updates: tag the mesh so the depsgraph re-evaluates the keys.
        obj.update_tag(refresh={'DATA'})
        return True

    def apply_head(self, settings, options, quat, position, transform):
        neck, head = head_bones(settings, options)
        if neck is None and head is None:
            return False
        q_neck, q_head, location = rig_of(neck, head).pose(quat, position, transform)
        changed = False
        if q_neck is not None:
            changed = set_rotation(neck, q_neck) or changed
        if q_head is not None:
            changed = set_rotation(head, q_head) or changed
        if location is not None:
            changed = _set_location(neck or head, location) or changed
        return changed

    # -- neutral capture ---------------------------------------------------------

    def sender_calibrates(self, options):
        return neutral.sender_calibrates(getattr(options, "calibrate_mode", neutral.CALIBRATE_AUTO),
                                         self.last_face)

    def capture_weights_neutral(self, options):
        """Store the mean weights of the last WINDOW_SECONDS of face frames as neutral; False if none yet."""
        if not self.recent:
            return False
        options.neutral_weights = json.dumps([round(v, 5) for v in neutral.window_neutral(self.recent)])
        return True

    def capture_head_neutral(self, options):
        """Store the newest head rotation and position as neutral; False if no face yet."""
        last = self.last_face
        if last is None:
            return False
        options.neutral_rotation = quaternions.normalized(last.quat)
        options.neutral_position = tuple(last.position)
        return True


def has_neutral(options):
    return bool(options.neutral_weights) or tuple(options.neutral_rotation) != quaternions.IDENTITY \
        or any(options.neutral_position)


def clear_neutral(options):
    options.neutral_weights = ""
    options.neutral_rotation = quaternions.IDENTITY
    options.neutral_position = (0.0, 0.0, 0.0)


driver = LiveDriver()


@persistent
def on_data_replaced(*_args):
    # Undo, redo and file load replace Blender data: compiled plans name key
    # blocks by position in data that may no longer be the same.
    driver.forget_plans()


# -- calibrate (the Calibrate button's add-on side) ---------------------------------------

def calibrate(session, settings):
    """Send calibrate to the sender and/or capture the neutral here.

    Returns (level, message) for the operator's report: 'INFO' or 'WARNING'.
    """
    options = settings.live
    sent = session.receiver.send_control(protocol.CMD_CALIBRATE)
    if driver.session is not session:
        driver.reset(session)
    if driver.sender_calibrates(options):
        # The sender now measures from the new neutral: a neutral kept here
        # would be taken out a second time.
        clear_neutral(options)
        if not sent:
            if not session.source.answers_calibrate:
                return 'WARNING', ("%s does not take calibrate: set Neutral By to Blender or Auto"
                                   % session.source.name)
            return 'WARNING', "No tracker to send to yet"
        return 'INFO', "Asked the tracker to calibrate"
    if not driver.capture_weights_neutral(options):
        return 'WARNING', "No face received yet: nothing to take as neutral"
    driver.capture_head_neutral(options)
    return 'INFO', "Neutral face captured in Blender (the sender does not calibrate itself)"
