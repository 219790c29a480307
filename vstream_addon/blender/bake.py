"""Takes into Actions: Record's buffer (core/recorder) or a take file, baked onto the
face meshes' shape keys and the neck/head bones, on any Blender from 3.4 to 5.x.

A take holds what live apply showed: every recorded face frame goes through
the stages live apply runs each tick, in their per-take forms: core/face_transform
(the add-on's neutral, smoothing continued from Record start, in capture-time
order), core/values (each shape key's value) and core/rig (neck/head split, rest
frames, head location); core/keys places the frames on scene frames and
reduces keys. `ActionWriter` writes each curve in one batch.

Blender 4.4 introduced slotted (layered) Actions and 5.0 removed the legacy
`Action.fcurves`. Which path to take is decided by what the Action offers,
not by version numbers, so in-between and future versions pick correctly.
"""

from array import array

import bpy

from . import live_apply, mesh_mapping
from ..core import arrays, keys, values
from ..core.face_transform import FaceTransform, Filters
from ..core.receiver import frames_from_take
from ..core.recorder import Recorder, next_take_name

# Custom properties written on each baked Action, so what a bake did stays
# visible in the file (Object/Action properties panels, scripts).
PROP_TAKE = "vstream_take"
PROP_KEYED = "vstream_keyed"
PROP_MERGED = "vstream_merged"
PROP_RECEIVED = "vstream_received"
PROP_NO_FACE = "vstream_no_face"
PROP_FPS = "vstream_fps"
PROP_REDUCE_TOLERANCE = "vstream_reduce_tolerance"
PROP_SOURCE = "vstream_source"  # the take file an imported take came from

FACE_SUFFIX = "_face"
HEAD_SUFFIX = "_head"
FACE_GROUP = "Face"

_ASSIGNED_BY_US = PROP_TAKE  # custom property every baked Action carries

# Share of Import Take's progress bar each stage gets; reading and converting
# are Python loops over every record, the bake is one batch per curve.
_READ, _CONVERT = 0.15, 0.45


class BakeError(RuntimeError):
    """A bake could not produce anything; the message is meant for the user."""


def options(recording):
    """bake_take keyword arguments from the recording settings (scene.vstream.recording)."""
    return {
        "reduce_tolerance": recording.reduce_tolerance if recording.reduce_keys else None,
        "push_to_nla": recording.push_to_nla,
    }


def scene_fps(scene):
    return scene.render.fps / (scene.render.fps_base or 1.0)


def face_action_name(take_name, mesh_obj, several):
    """`<take>_face`, or `<take>_face_<object>` when the take has several face meshes."""
    return take_name + FACE_SUFFIX + ("_" + mesh_obj.name if several else "")


def _as_list(mesh_objs):
    if mesh_objs is None:
        return []
    if isinstance(mesh_objs, (list, tuple)):
        return [m for m in mesh_objs if m is not None]
    return [mesh_objs]


def bake_take(recorder, scene, mesh_objs, armature_obj, head_bone_name, take_name, frame_start=None,
              progress=None, reduce_tolerance=None, push_to_nla=False, transform=None, filters=None):
    """Write the recorder's take as Actions and assign (or push) them; return a report dict.

    One Action per target ID: for each mesh in `mesh_objs` (a list; one
    object is accepted too) `<take>_face` on its shape-key datablock
    (`<take>_face_<object>` when there are several) with a key on every
    shape key the mapping drives (mesh_mapping.mapping_targets, valued exactly
    as live apply values it), and `<take>_head` on the armature object
    (rotation_quaternion of the head bone and of the neck bone when one is
    set, and location of the topmost of them when Move Head is on).
    Every frame first goes through `transform` (a FaceTransform; default: the
    one kept at Record start, else none) with smoothing continued from
    `filters` (default: the ones kept at Record start, else fresh), exactly
    as live apply does. Meshes sharing one shape-key datablock are baked
    once. Each Action has a fake user and carries keyed/merged counts as
    custom properties. Frames without a face are not keyed (the pose holds)
    and are counted. A frame captured at t is keyed at
    frame_start + round((t - t0) * fps), t0 being the first recorded frame's
    time; frame_start defaults to the scene's current frame and fps is the scene's.

    `reduce_tolerance` (None or 0: off) drops keys linear interpolation
    reproduces within it (keys.reduce_keys; unit: shape-key value or
    quaternion component). `push_to_nla` puts each Action on a new NLA
    track named after the take instead of making it the active action.

    Report keys: take, actions, keyed, merged, received, no_face,
    frame_start, frame_end, fps, shape_key_curves, head, neck, location, not_assigned,
    nla_tracks, keys_written, keys_removed, reduce_skipped (why Reduce
    Keys could not run, or "").
    `progress(fraction)`, if given, is called as curves are written.
    Raises BakeError when there is nothing to bake.
    """
    np = arrays.np
    if frame_start is None:
        frame_start = scene.frame_current
    fps = scene_fps(scene)
    frames = recorder.frames
    with_face = [f for f in frames if f.face]
    meshes = []
    seen_keys = set()
    for mesh_obj in _as_list(mesh_objs):
        driven = [t for t in mesh_mapping.mapping_targets(mesh_obj) if not t.binding.muted]
        if not driven:
            continue
        key_id = mesh_obj.data.shape_keys
        if key_id.as_pointer() in seen_keys:
            continue
        seen_keys.add(key_id.as_pointer())
        meshes.append((mesh_obj, key_id, driven))
    if transform is None:
        transform = recorder.transform if recorder.transform is not None else FaceTransform()
    if filters is None:
        filters = recorder.filters if recorder.filters is not None else Filters()
    neck, head = live_apply.find_bones(armature_obj, head_bone_name, transform.neck_bone)
    rig = live_apply.rig_of(neck, head) if neck is not None or head is not None else None
    if not frames:
        raise BakeError("Nothing was recorded: no frames arrived while Record was on")
    if not with_face:
        raise BakeError("Nothing to bake: none of the %d recorded frames had a face" % len(frames))
    if not meshes and rig is None:
        raise BakeError("Nothing to bake onto: no face mesh has shape keys the mapping drives "
                        "(ARKit or VRM names, or mapping entries) and no head bone is set")

    # Time counts from the first recorded frame, face or not, so a take
    # that starts with the face out of view keeps its timing.
    plan = keys.plan_keys([f.t for f in with_face], fps, t0=min(f.t for f in frames))
    kept = [with_face[i] for i in plan.samples]
    all_weights = recorder.weight_matrix(with_face) if transform.changes_weights and meshes else None
    weights, quats, positions = transform.take_values(with_face, plan.samples, filters, all_weights,
                                                      need_weights=bool(meshes))
    if np is not None:
        scene_frames = frame_start + np.asarray(plan.offsets, dtype=np.float64)
    else:
        scene_frames = [frame_start + off for off in plan.offsets]
    counts = {
        PROP_TAKE: take_name,
        PROP_KEYED: len(kept),
        PROP_MERGED: plan.merged,
        PROP_RECEIVED: len(frames),
        PROP_NO_FACE: len(frames) - len(with_face),
        PROP_FPS: fps,
    }
    report = {
        "take": take_name, "actions": [], "keyed": len(kept), "merged": plan.merged,
        "received": len(frames), "no_face": counts[PROP_NO_FACE],
        "frame_start": int(scene_frames[0]), "frame_end": int(scene_frames[-1]), "fps": fps,
        "shape_key_curves": 0, "head": False, "neck": False, "location": False, "not_assigned": [], "nla_tracks": [],
        "keys_written": 0, "keys_removed": 0, "reduce_skipped": "",
    }
    tolerance = reduce_tolerance if reduce_tolerance and reduce_tolerance > 0.0 else None
    if tolerance is not None and np is None:
        tolerance = None
        report["reduce_skipped"] = "Reduce Keys needs numpy, which this Blender's Python lacks"
    if tolerance is not None:
        counts[PROP_REDUCE_TOLERANCE] = tolerance

    if weights is None:
        rows = [f.weights for f in kept]
        matrix = recorder.weight_matrix(with_face, plan.samples, rows) if meshes else None
    elif np is not None and isinstance(weights, np.ndarray):
        rows, matrix = weights, weights
    else:
        rows, matrix = weights, None
    mesh_curves = []
    for mesh_obj, key_id, driven in meshes:
        rule = values.KeyValues([t.binding for t in driven],
                                [(t.block.slider_min, t.block.slider_max) for t in driven])
        mesh_curves.append((mesh_obj, key_id, list(zip(driven, rule.take(rows, matrix)))))
    bones = {"neck": neck, "head": head}
    bone_curves = [(bones[bone], prop, curves) for bone, prop, curves in rig.take_curves(quats, positions, transform)] \
        if rig is not None else []
    total_curves = sum(len(c) for _, _, c in mesh_curves) + sum(len(c) for _, _, c in bone_curves)
    done = 0

    def write(writer, data_path, index, group, column):
        nonlocal done
        at = scene_frames
        if tolerance is not None:
            keep = keys.reduce_keys(scene_frames, column, tolerance)
            at, column = scene_frames[keep], column[keep]
        writer.add_curve(data_path, index, group, at, column)
        report["keys_written"] += len(at)
        report["keys_removed"] += len(scene_frames) - len(at)
        done += 1
        if progress is not None:
            progress(done / total_curves)

    several = len(mesh_curves) > 1
    for mesh_obj, key_id, curves in mesh_curves:
        writer = ActionWriter(face_action_name(take_name, mesh_obj, several), key_id)
        for target, column in curves:
            write(writer, 'key_blocks["%s"].value' % escape(target.block.name), 0, FACE_GROUP, column)
        report["shape_key_curves"] += len(curves)
        _finish(writer, key_id, counts, report, take_name, push_to_nla, frame_start)

    if bone_curves:
        writer = ActionWriter(take_name + HEAD_SUFFIX, armature_obj)
        for pose_bone, prop, curves in bone_curves:
            path = 'pose.bones["%s"].%s' % (escape(pose_bone.name), prop)
            for axis, column in enumerate(curves):
                write(writer, path, axis, pose_bone.name, column)
            if prop == "rotation_quaternion":
                pose_bone.rotation_mode = 'QUATERNION'
        report["head"] = head is not None
        report["neck"] = neck is not None
        report["location"] = any(prop == "location" for _, prop, _ in bone_curves)
        _finish(writer, armature_obj, counts, report, take_name, push_to_nla, frame_start)
    return report


def _finish(writer, target_id, counts, report, take_name, push_to_nla, frame_start):
    for key, value in counts.items():
        writer.action[key] = value
    report["actions"].append(writer.action.name)
    if push_to_nla:
        track = writer.push_to_nla(target_id, take_name, frame_start)
        report["nla_tracks"].append("%s: %s" % (target_id.name, track.name))
    elif not writer.assign(target_id):
        report["not_assigned"].append(target_id.name)


def import_take(scene, mesh_objs, armature_obj, head_bone_name, path, existing_action_names,
                progress=None, frame_start=None, reduce_tolerance=None, push_to_nla=False, transform=None):
    """Bake the take file at `path` (`vstream-tracker --out`) onto the targets; return the bake report.

    The file's records become the same Frames the receiver produces, so they
    bake exactly as a recorded take does. `mesh_objs` is a list of face
    meshes; `frame_start` (default: the scene's current frame),
    `reduce_tolerance`, `push_to_nla` and `transform` (the live options to
    pose frames with, a FaceTransform; smoothing starts fresh) are
    bake_take's. `progress(fraction)` is called with 0..1 as the work goes on.
    Raises TakeError (bad file) or BakeError (nothing to bake onto).
    """
    if progress is not None:
        progress(0.0)
    _head, frames = frames_from_take(
        path, (lambda f: progress(_READ + (_CONVERT - _READ) * f)) if progress is not None else None)
    recorder = Recorder()
    recorder.frames = frames
    take = next_take_name(existing_action_names)

    def bake_progress(fraction):
        if progress is not None:
            progress(_CONVERT + (1.0 - _CONVERT) * fraction)

    report = bake_take(recorder, scene, mesh_objs, armature_obj, head_bone_name, take, frame_start=frame_start,
                       progress=bake_progress, reduce_tolerance=reduce_tolerance, push_to_nla=push_to_nla,
                       transform=transform)
    report["source"] = path
    return report


def describe(report):
    """The take's summary line for the panel and the operator's report."""
    text = "%s: %d keys, frames %d-%d" % (
        report["take"], report["keyed"], report["frame_start"], report["frame_end"])
    if report["merged"]:
        text += ", %d merged" % report["merged"]
    if report["no_face"]:
        text += ", %d without face" % report["no_face"]
    if report.get("keys_removed"):
        text += ", %d of %d keys reduced away" % (
            report["keys_removed"], report["keys_removed"] + report["keys_written"])
    if report.get("nla_tracks"):
        text += ", pushed to NLA"
    if report.get("reduce_skipped"):
        text += " (%s: keys not reduced)" % report["reduce_skipped"]
    if report["not_assigned"]:
        text += " (kept existing action on %s)" % ", ".join(report["not_assigned"])
    if report.get("settings_changed"):
        text += " (head, neutral or smoothing settings changed while recording: the take uses those " \
                "in effect when Record was pressed)"
    return text


# -- writing Actions ---------------------------------------------------------------

def escape(name):
    """Quote a name for use inside a data path: key_blocks["<name>"]."""
    return bpy.utils.escape_identifier(name)


def _linear_value():
    items = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items
    return items["LINEAR"].value


_linear_cache = {}


def _linear_list(n):
    # A plain list of ints: foreach_set reads an enum from it about 4x faster
    # than from a numpy int array (measured in 5.0). One list per length,
    # since every curve of a take has the same number of keys unless reduced.
    found = _linear_cache.get(n)
    if found is None:
        if len(_linear_cache) > 8:
            _linear_cache.clear()
        found = _linear_cache[n] = [_linear_value()] * n
    return found


def id_type(target_id):
    """'KEY', 'OBJECT', ... for an ID; ID.id_type only exists since Blender 4.x."""
    value = getattr(target_id, "id_type", None)
    if value:
        return value
    return {"Key": 'KEY', "Object": 'OBJECT'}[target_id.bl_rna.identifier]


def is_slotted(action):
    return hasattr(action, "slots") and hasattr(action, "layers")


class ActionWriter:
    """A new Action (fake user) meant for one ID, filled curve by curve."""

    def __init__(self, name, target_id):
        self.action = bpy.data.actions.new(name)
        self.action.use_fake_user = True
        self.slot = None
        self._channelbag = None
        if is_slotted(self.action):
            self.slot = self.action.slots.new(id_type=id_type(target_id), name=target_id.name)
            layer = self.action.layers.new("Layer")
            strip = layer.strips.new(type='KEYFRAME')
            self._channelbag = strip.channelbag(self.slot, ensure=True)
        elif "id_root" in self.action.bl_rna.properties:
            self.action.id_root = id_type(target_id)

    def _new_fcurve(self, data_path, index, group):
        if self._channelbag is None:
            return self.action.fcurves.new(data_path, index=index, action_group=group)
        fcurves = self._channelbag.fcurves
        if "group_name" in fcurves.bl_rna.functions["new"].parameters:
            return fcurves.new(data_path, index=index, group_name=group)
        # 4.4 and 4.5: channelbags exist but fcurves.new() takes no group yet.
        fcurve = fcurves.new(data_path, index=index)
        groups = self._channelbag.groups
        fcurve.group = groups.get(group) or groups.new(group)
        return fcurve

    def add_curve(self, data_path, index, group, frames, values):
        """One F-Curve with a LINEAR key per (frame, value), written in one batch.

        `frames` and `values` are 1-D sequences or numpy arrays. They are
        interleaved into one float32 buffer (what keyframe `co` stores; a
        numpy array, or array.array without numpy), so foreach_set copies a
        buffer instead of converting Python floats.
        """
        if len(frames) != len(values):
            raise ValueError("frames and values differ in length")
        n = len(frames)
        np = arrays.np
        if np is not None:
            co = np.empty(2 * n, dtype=np.float32)
        else:
            co = array("f", bytes(8 * n))
            frames, values = array("f", frames), array("f", values)
        co[0::2] = frames
        co[1::2] = values
        fcurve = self._new_fcurve(data_path, index, group)
        points = fcurve.keyframe_points
        points.add(n)
        # `co_ui` moves a key's handles with it, and keyframe_points.add()
        # leaves them at (0, 0): writing through co_ui puts them on the key
        # (zero length) in the same pass. Handles at (0, 0) would stretch the
        # Graph Editor's View All to frame 0, and computing auto handles costs
        # more than the rest of the write (measured in 5.0). LINEAR keys never
        # use handles; any edit that does (setting Bezier, moving keys)
        # recalculates them.
        points.foreach_set("co_ui", co)
        points.foreach_set("interpolation", _linear_list(n))
        return fcurve

    def push_to_nla(self, target_id, track_name, frame_start):
        """Put the Action on a new NLA track of the ID, leaving its active action empty.

        A vstream take that was the active action is taken off (it keeps its
        fake user), so it does not play over the tracks; an Action of the
        user's own stays. The strip extrapolates Nothing. Returns the track.
        """
        anim = target_id.animation_data or target_id.animation_data_create()
        current = anim.action
        if current is not None and _ASSIGNED_BY_US in current:
            anim.action = None
        track = anim.nla_tracks.new()
        track.name = track_name
        strip = track.strips.new(track_name, int(round(frame_start)), self.action)
        # A take acts on its own frames only. Blender's default (Hold) would
        # let the newest track, which is on top, cover every earlier take.
        strip.extrapolation = 'NOTHING'
        if self.slot is not None and hasattr(strip, "action_slot"):
            strip.action_slot = self.slot
        return track

    def assign(self, target_id):
        """Make this Action the ID's active one; False if that would displace the user's own.

        An Action already assigned that is not a vstream take is left in
        place: replacing it could orphan it (and lose it on save).
        """
        anim = target_id.animation_data or target_id.animation_data_create()
        current = anim.action
        if current is not None and current != self.action and _ASSIGNED_BY_US not in current:
            return False
        anim.action = self.action
        if self.slot is not None and hasattr(anim, "action_slot"):
            anim.action_slot = self.slot
        return True
