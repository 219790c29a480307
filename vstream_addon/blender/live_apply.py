"""Live apply: face frames from a session onto every face mesh and the neck/head bones.

The tick's hot path. Touches Blender data only through the objects it is
given (no bpy import), so the pure-Python checks run anywhere.

Per frame, in order: the add-on's neutral (neutral.py) when the sender does
not calibrate, optional One Euro smoothing (smoothing.py), then the mapping
onto each mesh and the head rotation onto the bones. Those per-frame steps
are defined once here (`FaceTransform.values`, `Rig`) and the Record/Import
bake (recorder.py) runs every recorded frame through the same ones, so a take
holds the poses live apply showed.

Speed (a tick must stay far below a 60 Hz frame): each mesh's resolved
mapping is compiled once into key-block slots (`MeshPlan`) and reused while
the mesh, its shape-key datablock, the number of keys and the stored mapping
text stay the same; it is rebuilt every NAME_CHECK_TICKS ticks anyway to catch
renames and slider ranges, and undo/redo/file load drop every plan
(`forget_plans`). Values are
read and written for all keys of a mesh in one `foreach_get`/`foreach_set`
each (52 separate `value` writes each run Blender's update for the whole
Key), and nothing is written when no value moved.
"""

import collections
import copy
import functools
import json
import math
import operator

from ..core import quaternions as apply, mapping, neutral
from ..shared import protocol, one_euro as smoothing

NAME_CHECK_TICKS = 30  # half a second at 60 ticks/s
# Below this a shape-key value is left alone, so a still face does not tag
# the mesh for a depsgraph update on every tick.
VALUE_EPSILON = 1e-5
# A neutral capture averages the face frames of the last NEUTRAL_SECONDS
# (sender time), so one noisy frame does not become the neutral.
NEUTRAL_SECONDS = 0.25
NEUTRAL_FRAMES = 240  # frames kept for it: the window at up to 960 fps

CALIBRATE_AUTO = 'AUTO'      # the frames' FLAG_SENDER_CALIBRATES decides
CALIBRATE_SENDER = 'SENDER'  # always the sender's job (send the control datagram only)
CALIBRATE_ADDON = 'ADDON'    # always capture the neutral here


def target_meshes(settings):
    """Face meshes live apply drives: `settings.mesh` first, then the extra list; meshes only, no repeats."""
    found = []
    candidates = [getattr(settings, "mesh", None)]
    candidates += [slot.object for slot in getattr(settings, "meshes", ())]
    for obj in candidates:
        if obj is not None and getattr(obj, "type", None) == 'MESH' and obj not in found:
            found.append(obj)
    return found


# -- shape keys ------------------------------------------------------------------

def _signature(obj, keys):
    text = obj.get(mapping.PROP_MAPPING)
    return (obj.as_pointer(), keys.as_pointer(), len(keys.key_blocks), str(text) if text else "")


class MeshPlan:
    """One mesh's mapping compiled to key-block slots (indices into key_blocks)."""

    __slots__ = ("signature", "names", "direct", "direct_slots", "pick", "shaped", "split_blink", "values",
                 "ticks", "ranges")

    def __init__(self, signature, names, reference_slot, ranges):
        self.signature = signature
        self.names = names
        # Slots whose slider range is not 0..1 -> (min, max): Blender clamps a
        # `value` write to it, foreach_set does not, so new_values does.
        self.ranges = ranges
        driven = [i for i in range(len(names)) if i != reference_slot]
        bindings = apply._stored_resolution(tuple(names[i] for i in driven), signature[3])
        slot_of = {names[i]: i for i in driven}
        # Identity ARKit bindings: (slot, wire index), the common case, kept tight.
        self.direct = []
        # Everything else: (slot, binding), valued through mapping.apply_entry / VRM.
        self.shaped = []
        for b in bindings:
            if b.muted:
                continue
            index = b.arkit_index
            if index is not None:
                self.direct.append((slot_of[b.shape_key], index))
            else:
                self.shaped.append((slot_of[b.shape_key], b))
        self.split_blink = mapping.splits_blink(bindings)
        self.direct_slots = [slot for slot, _ in self.direct]
        # One C call picks every directly driven weight (itemgetter of one index returns a bare value).
        indices = [index for _, index in self.direct]
        self.pick = operator.itemgetter(*indices) if len(indices) > 1 else (lambda w: tuple(w[i] for i in indices))
        self.values = [0.0] * len(names)
        self.ticks = 0

    def new_values(self, weights):
        """Write this frame's values into self.values; return True if any moved."""
        moved = False
        for slot, v in zip(self.direct_slots, self.pick(weights)):
            moved = self._store(slot, 0.0 if not v > 0.0 else 1.0 if v > 1.0 else v) or moved
        if self.shaped:
            vrm = None
            for slot, b in self.shaped:
                if b.is_vrm:
                    if vrm is None:
                        vrm = mapping.vrm_weights(dict(zip(mapping.arkit.ARKIT_NAMES, weights)),
                                                  split_blink=self.split_blink)
                    x = vrm[b.channel]
                else:
                    x = weights[mapping.arkit.INDEX[b.channel]]
                moved = self._store(slot, mapping.apply_entry(b.entry, x) if b.entry is not None
                                    else mapping._clamp01(x)) or moved
        return moved

    def _store(self, slot, v):
        """Store a key's value, clamped to its slider range; True if it moved.

        Clamped before the comparison: a weight beyond the slider stays
        "unchanged" once the key sits at its limit.
        """
        if self.ranges and slot in self.ranges:
            lo, hi = self.ranges[slot]
            v = min(hi, max(lo, v))
        if abs(self.values[slot] - v) > VALUE_EPSILON:
            self.values[slot] = v
            return True
        return False


def _build_plan(obj, keys, signature):
    blocks = keys.key_blocks
    names = [block.name for block in blocks]
    reference = keys.reference_key
    reference_slot = next((i for i, block in enumerate(blocks) if block == reference), -1)
    ranges = {}
    for i, block in enumerate(blocks):
        if i != reference_slot and (block.slider_min != 0.0 or block.slider_max != 1.0):
            ranges[i] = (block.slider_min, block.slider_max)
    return MeshPlan(signature, names, reference_slot, ranges)


# -- the per-frame transforms (live apply and the bake share these) -----------------

class Filters:
    """One Euro state for weights, head rotation and head position (smoothing.py)."""

    def __init__(self):
        self.weights = smoothing.OneEuroVector()
        self.quat = smoothing.OneEuroQuat()
        self.position = smoothing.OneEuroVector()

    def reset(self):
        for filt in (self.weights, self.quat, self.position):
            filt.reset()

    def copy(self):
        """An independent copy: Record keeps one so the bake resumes where live stood."""
        return copy.deepcopy(self)


class FaceTransform:
    """The live options as plain values: what happens to a face frame before it is posed.

    Live apply builds one per tick from scene.vstream.live; Record keeps the
    one in effect when it was pressed, and the bake runs every recorded frame
    through `values` and `Rig` as live apply did.
    """

    __slots__ = ("neutral", "q0", "has_q0", "p0", "smooth", "min_cutoff", "beta", "move", "location_scale",
                 "neck_bone", "neck_split")

    def __init__(self, neutral_weights=None, q0=neutral.IDENTITY, p0=(0.0, 0.0, 0.0), smooth=False,
                 min_cutoff=1.0, beta=0.5, move=False, location_scale=1.0, neck_bone="", neck_split=0.0):
        self.neutral = list(neutral_weights) if neutral_weights else None
        self.q0 = tuple(float(c) for c in q0)
        # Identity (or unset) neutral rotation: skip the product, values stay bit for bit.
        self.has_q0 = abs(self.q0[0]) < 1.0 - 1e-9 or any(self.q0[1:])
        self.p0 = tuple(float(c) for c in p0)
        self.smooth = bool(smooth)
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.move = bool(move)
        self.location_scale = float(location_scale)
        self.neck_bone = neck_bone or ""
        self.neck_split = float(neck_split)

    @classmethod
    def from_options(cls, options, neutral_weights=None):
        """From scene.vstream.live (None: no options, frames pass unchanged); the neutral already parsed."""
        if options is None:
            return cls()
        return cls(neutral_weights, tuple(options.neutral_rotation), tuple(options.neutral_position),
                   options.smooth, options.smooth_min_cutoff, options.smooth_beta, options.head_location,
                   options.location_scale, getattr(options, "neck_bone", ""), options.neck_split)

    def key(self):
        """Every value as one tuple, to tell whether the options changed."""
        return tuple(getattr(self, name) if name != "neutral" else tuple(self.neutral or ())
                     for name in self.__slots__)

    @property
    def changes_weights(self):
        """False when `values` hands the weights back untouched (no neutral, no smoothing)."""
        return bool(self.neutral) or self.smooth

    def values(self, frame, filters):
        """(weights, quat, position) live apply poses for `frame`; advances `filters` when smoothing.

        The neutral comes out first (weights rescaled, rotation and position
        measured from the neutral pose), then smoothing, in the sender's time.
        """
        return self.smoothed(self.weights_from_neutral(frame.weights), *self.head_from_neutral(frame),
                             frame.t, filters)

    # The stages of `values`, apart so the bake can run the stateless one on a whole take at once.

    def weights_from_neutral(self, weights):
        """One frame's weights, or (numpy) a take's frames x channels matrix, measured from the neutral."""
        return neutral.rescale(weights, self.neutral) if self.neutral else weights

    def head_from_neutral(self, frame):
        """(rotation, position) of a frame measured from the neutral pose."""
        quat = neutral.relative_rotation(frame.quat, self.q0) if self.has_q0 else frame.quat
        position = neutral.relative_position(frame.position, self.p0) if self.move else frame.position
        return quat, position

    def smoothed(self, weights, quat, position, t, filters):
        """One Euro on every value when Smooth is on (position only when it moves the head)."""
        if not self.smooth:
            return weights, quat, position
        for filt in (filters.weights, filters.quat, filters.position):
            filt.min_cutoff, filt.beta = self.min_cutoff, self.beta
        weights = filters.weights(weights, t)
        quat = filters.quat(quat, t)
        if self.move:
            position = filters.position(position, t)
        return weights, quat, position


def rest_rotation(pose_bone):
    """The bone's rest orientation in armature space, (w, x, y, z)."""
    return tuple(pose_bone.bone.matrix_local.to_quaternion())


@functools.lru_cache(maxsize=64)
def rest_map(q_rest):
    """apply.bone_local_rotation(., q_rest) as a linear map: its 4 columns, the images of the basis.

    Conjugation by a fixed unit quaternion is linear, so a bone's rest
    correction is built once (cached per rest rotation) and then costs 16
    products a frame: `to_rest_frame` per frame (live apply, the plain bake)
    or one matrix product over a whole take (the numpy bake).
    """
    basis = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0))
    return tuple(apply.bone_local_rotation(e, q_rest) for e in basis)


def to_rest_frame(q, columns):
    """The pose-bone rotation turning a bone by `q` (armature space); `columns` = rest_map(rest).

    A zero or non-finite q gives the identity, as apply.quat_normalized does.
    """
    (a0, a1, a2, a3), (b0, b1, b2, b3), (c0, c1, c2, c3), (d0, d1, d2, d3) = columns
    w, x, y, z = q
    n = math.sqrt(w * w + x * x + y * y + z * z)
    if not math.isfinite(n) or n < 1e-9:
        return neutral.IDENTITY
    return ((a0 * w + b0 * x + c0 * y + d0 * z) / n, (a1 * w + b1 * x + c1 * y + d1 * z) / n,
            (a2 * w + b2 * x + c2 * y + d2 * z) / n, (a3 * w + b3 * x + c3 * y + d3 * z) / n)


def bone_location(position, scale, q_rest):
    """Pose location that moves a bone by `position` * `scale` (armature space).

    Pose location is in the bone's rest axes: the armature-space offset is
    rotated into them.
    """
    return apply.quat_rotate(apply.quat_conjugate(apply.quat_normalized(q_rest)),
                             tuple(float(c) * scale for c in position))


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
    q_neck = neutral.quat_power(q, f)
    if neck_is_parent:
        return q_neck, neutral.quat_power(q, 1.0 - f)
    return q_neck, q


class Rig:
    """The neck and head pose bones a head rotation drives, resolved once (per tick, or per bake)."""

    def __init__(self, neck, head):
        self.neck = neck
        self.head = head
        self.neck_rest = rest_rotation(neck) if neck is not None else None
        self.head_rest = rest_rotation(head) if head is not None else None
        self.neck_is_parent = neck is not None and head is not None and neck.bone in head.bone.parent_recursive
        # The topmost driven bone carries a move, so neck and head move together.
        self.moved = neck if neck is not None else head
        self.moved_rest = self.neck_rest if neck is not None else self.head_rest

    @classmethod
    def of(cls, armature_obj, head_bone_name, neck_bone_name):
        """The Rig of an armature object and bone names; None if neither bone exists."""
        neck, head = find_bones(armature_obj, head_bone_name, neck_bone_name)
        return cls(neck, head) if neck is not None or head is not None else None

    def split(self, quat, transform):
        """Armature-space (neck turn or None, head turn or None) for a head rotation."""
        return split_rotation(quat, transform.neck_split, self.neck is not None, self.head is not None,
                              self.neck_is_parent)

    def pose(self, quat, position, transform):
        """(neck rotation, head rotation, location of `moved`) as pose-bone values; None where not driven."""
        q_neck, q_head = self.split(quat, transform)
        neck = to_rest_frame(q_neck, rest_map(self.neck_rest)) if q_neck is not None else None
        head = to_rest_frame(q_head, rest_map(self.head_rest)) if q_head is not None else None
        location = bone_location(position, transform.location_scale, self.moved_rest) if transform.move else None
        return neck, head, location


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
        self.recent = collections.deque(maxlen=NEUTRAL_FRAMES)
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
            plan = self.plans[pointer] = _build_plan(obj, keys, signature)
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
        q_neck, q_head, location = Rig(neck, head).pose(quat, position, transform)
        changed = False
        if q_neck is not None:
            changed = apply.set_rotation(neck, q_neck) or changed
        if q_head is not None:
            changed = apply.set_rotation(head, q_head) or changed
        if location is not None:
            changed = _set_location(neck or head, location) or changed
        return changed

    # -- neutral capture ---------------------------------------------------------

    def sender_calibrates(self, options):
        mode = getattr(options, "calibrate_mode", CALIBRATE_AUTO)
        if mode == CALIBRATE_SENDER:
            return True
        if mode == CALIBRATE_ADDON:
            return False
        last = self.last_face
        return bool(last is not None and last.sender_calibrates)

    def capture_weights_neutral(self, options):
        """Store the mean weights of the last NEUTRAL_SECONDS of face frames as neutral; False if none yet."""
        if not self.recent:
            return False
        newest = self.recent[-1].t
        window = [f for f in self.recent if newest - NEUTRAL_SECONDS <= f.t <= newest] or [self.recent[-1]]
        n = len(window)
        mean = [sum(f.weights[i] for f in window) / n for i in range(len(window[0].weights))]
        options.neutral_weights = json.dumps([round(v, 5) for v in neutral.clean_neutral(mean)])
        return True

    def capture_head_neutral(self, options):
        """Store the newest head rotation and position as neutral; False if no face yet."""
        last = self.last_face
        if last is None:
            return False
        options.neutral_rotation = neutral.normalized(last.quat)
        options.neutral_position = tuple(last.position)
        return True


def clear_neutral(options):
    options.neutral_weights = ""
    options.neutral_rotation = neutral.IDENTITY
    options.neutral_position = (0.0, 0.0, 0.0)


driver = LiveDriver()


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
            return 'WARNING', "No tracker to send to yet"
        return 'INFO', "Asked the tracker to calibrate"
    if not driver.capture_weights_neutral(options):
        return 'WARNING', "No face received yet: nothing to take as neutral"
    driver.capture_head_neutral(options)
    return 'INFO', "Neutral face captured in Blender (the sender does not calibrate itself)"
