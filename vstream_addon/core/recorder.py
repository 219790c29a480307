"""Record mode: keep every received frame, then bake the take into Actions.

`Recorder` and `plan_keys` are pure Python (plus numpy, which Blender
bundles). `Recorder.bake` needs Blender (it imports .actions, which uses bpy,
only when called).

A take holds what live apply showed: the bake runs every recorded face frame
through live.py's FaceTransform (add-on neutral, neutral pose, One Euro
smoothing continued from the filters' state at Record start, in capture-time
order) and live.Rig (neck/head split, rest orientation, head location), the
same code live apply calls each tick. Only the per-curve parts are batched
here: the rest correction and the location are linear maps, applied to the
whole take at once (`bone_local_rotations`, `bone_locations`), built from
the per-frame definitions.
"""

import math
import re
from array import array

try:
    import numpy as np
except ImportError:
    # Blender from blender.org always bundles numpy; a distribution's Blender
    # running on a system Python may not (Debian's 3.4 does not). Baking then
    # takes the plain-Python paths below, which give the same keys, slower,
    # and Reduce Keys is skipped.
    np = None

from . import quaternions as apply
from ..blender import live_apply as live

TAKE_PREFIX = "vstream_take_"
_TAKE_RE = re.compile(r"^%s(\d+)" % re.escape(TAKE_PREFIX))

# Custom properties written on each baked Action, so what a bake did stays
# visible in the file (Object/Action properties panels, scripts).
PROP_TAKE = "vstream_take"
PROP_KEYED = "vstream_keyed"
PROP_MERGED = "vstream_merged"
PROP_RECEIVED = "vstream_received"
PROP_NO_FACE = "vstream_no_face"
PROP_FPS = "vstream_fps"
PROP_REDUCE_TOLERANCE = "vstream_reduce_tolerance"

FACE_SUFFIX = "_face"
HEAD_SUFFIX = "_head"
FACE_GROUP = "Face"


class BakeError(RuntimeError):
    """A bake could not produce anything; the message is meant for the user."""


class KeyPlan:
    """Where each kept sample goes: `keys` is [(scene frame offset, sample index)]."""

    def __init__(self, keys, merged):
        self.keys = keys
        self.merged = merged

    @property
    def offsets(self):
        return [f for f, _ in self.keys]

    @property
    def samples(self):
        return [i for _, i in self.keys]


def _round_half_up(x):
    # round() rounds halves to even, which would make 0.5 and 1.5 collide less
    # predictably; frames are easier to reason about with half-up.
    return int(math.floor(x + 0.5))


def plan_keys(times, fps, t0=None):
    """Map capture times (seconds) to scene-frame offsets from t0 (default: the earliest).

    Each sample goes to round((t - t0) * fps). When that frame is already
    keyed, the sample moves to the next free frame if that is within one
    frame of its true time; otherwise it replaces the value on the latest
    keyed frame (newest wins) and counts as merged. Keys therefore stay in
    time order and never sit more than one frame from their true time.
    """
    if fps <= 0:
        raise ValueError("fps must be positive, got %r" % fps)
    if not len(times):
        return KeyPlan([], 0)
    if np is not None:
        t = np.asarray(times, dtype=np.float64)
        order = np.argsort(t, kind="stable")
        if t0 is None:
            t0 = float(t[order[0]])
        # The usual case, no two samples on one frame, in one go (a 10-minute
        # take is 36,000 samples); the same double arithmetic as the loop below.
        frames = np.floor((t[order] - t0) * fps + 0.5)
        if len(frames) < 2 or bool(np.all(np.diff(frames) > 0)):
            return KeyPlan(list(zip(frames.astype(np.int64).tolist(), order.tolist())), 0)
        times = t.tolist()
    order = sorted(range(len(times)), key=lambda i: times[i])
    if t0 is None:
        t0 = times[order[0]]
    keys = []
    merged = 0
    for i in order:
        exact = (times[i] - t0) * fps
        frame = _round_half_up(exact)
        if not keys or frame > keys[-1][0]:
            keys.append([frame, i])
            continue
        candidate = keys[-1][0] + 1
        if candidate - exact <= 1.0 + 1e-9:
            keys.append([candidate, i])
        else:
            keys[-1][1] = i
            merged += 1
    return KeyPlan([tuple(k) for k in keys], merged)


def next_take_name(existing_names):
    """'vstream_take_NNN' one above the highest take number among `existing_names`."""
    highest = 0
    for name in existing_names:
        m = _TAKE_RE.match(name)
        if m:
            highest = max(highest, int(m.group(1)))
    return "%s%03d" % (TAKE_PREFIX, highest + 1)


def scene_fps(scene):
    return scene.render.fps / (scene.render.fps_base or 1.0)


def hemisphere_consistent(quats):
    """Flip signs so consecutive quaternions are within 180 degrees; (n, 4) array or list of tuples.

    q and -q are the same rotation, but linear interpolation between them
    swings the head the long way round. Each sign is the previous one times
    the sign of the raw neighbours' dot product, so a cumulative product does
    the whole take at once.
    """
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


def bone_local_rotations(quats, q_rest):
    """The rest correction live apply makes (live.to_rest_frame), for many quaternions at once.

    (n, 4) array or list of tuples. With numpy the whole take is one matrix
    product with live.rest_map's columns. Zero or non-finite quaternions
    become the identity, as in apply.quat_normalized.
    """
    cols = live.rest_map(tuple(q_rest))
    if np is None:
        return [live.to_rest_frame(q, cols) for q in quats]
    conj = np.array(cols).T
    q = np.asarray(quats, dtype=np.float64).reshape(-1, 4)
    with np.errstate(invalid="ignore", over="ignore"):
        norms = np.sqrt(np.einsum("ij,ij->i", q, q))
        bad = ~np.isfinite(norms) | (norms < 1e-9)
        out = (q @ conj.T) / np.where(bad, 1.0, norms)[:, None]
    out[bad] = (1.0, 0.0, 0.0, 0.0)
    return out


def head_curves(quats, q_rest):
    """A bone's rotation_quaternion curves for a take (head or neck): 4 value sequences (w, x, y, z)."""
    local = hemisphere_consistent(bone_local_rotations(quats, q_rest))
    if np is None:
        return [list(c) for c in zip(*local)] if local else [[], [], [], []]
    return [np.ascontiguousarray(local[:, axis]) for axis in range(4)]


def bone_locations(positions, scale, q_rest):
    """live.bone_location for many positions at once: 3 value sequences (x, y, z).

    The map is linear, so its matrix is built from live.bone_location on the
    basis vectors and the take is one matrix product (numpy) or three dot
    products a frame (plain Python).
    """
    cols = [live.bone_location(e, scale, q_rest) for e in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))]
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


def _clamp(values, lo, hi):
    # Plain-Python path only (no numpy). Comparisons, not min/max calls: three
    # times faster over a 36,000-frame column; NaN fails both tests -> lo.
    return [v if lo <= v <= hi else (hi if v > hi else lo) for v in values]


def shape_key_curves(targets, rows, matrix=None):
    """[(target, values)] for every driven shape key of one mesh.

    `targets` is apply.mapping_targets output, `rows` the kept frames'
    weights (52 per frame, wire order); `matrix` may give the same as an
    (n, 52) numpy array. Values are numpy arrays, or lists without numpy.

    Values are what live apply sets (apply.target_values), frame by
    frame: keys taking one ARKit channel unchanged are clamped columns;
    VRM presets and shaped entries go through apply.target_values itself, one
    call per frame, given all of those targets at once (every "blink" key is
    among them, so the blink split comes out as it does live). Muted keys are
    not driven live and get no curve. Values end in the key's slider range,
    as assigning block.value does live.
    """
    shaped = [t for t in targets if t.binding.arkit_index is None]
    shaped_rows = [apply.target_values(shaped, row) for row in rows] if shaped else None
    shaped_column = {id(t): j for j, t in enumerate(shaped)}
    if np is not None:
        weights = matrix if matrix is not None else np.array(rows, dtype=np.float64).reshape(len(rows), -1)
    else:
        weights = list(zip(*rows))  # one transpose, not an index per frame and channel
    out = []
    for target in targets:
        if target.binding.muted:
            continue
        index = target.binding.arkit_index
        block = target.block
        if np is None:
            if index is not None:
                values = _clamp(weights[index], 0.0, 1.0)
                if block.slider_min > 0.0 or block.slider_max < 1.0:
                    values = _clamp(values, block.slider_min, block.slider_max)
            else:
                j = shaped_column[id(target)]
                values = _clamp([row[j] for row in shaped_rows], block.slider_min, block.slider_max)
            out.append((target, values))
            continue
        if index is not None:
            # apply's clamp: NaN -> 0, +-inf -> 1/0.
            values = np.clip(np.nan_to_num(weights[:, index], nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
        else:
            j = shaped_column[id(target)]
            values = np.array([row[j] for row in shaped_rows], dtype=np.float64)
        out.append((target, np.clip(values, block.slider_min, block.slider_max)))
    return out


def _as_list(mesh_objs):
    if mesh_objs is None:
        return []
    if isinstance(mesh_objs, (list, tuple)):
        return [m for m in mesh_objs if m is not None]
    return [mesh_objs]


def face_action_name(take_name, mesh_obj, several):
    """`<take>_face`, or `<take>_face_<object>` when the take has several face meshes."""
    return take_name + FACE_SUFFIX + ("_" + mesh_obj.name if several else "")


def _posed_values(with_face, samples, transform, filters, matrix=None, need_weights=True):
    """(weights or None, head rotations, positions) of the kept frames, as live apply posed them.

    The same stages as live.FaceTransform.values, frame by frame in
    capture-time order (the order plan_keys keys them), so smoothing sees the
    sequence live did; `filters` is copied, not advanced. Without smoothing
    nothing carries over between frames and only the kept ones are computed.
    With numpy the neutral stage runs on the whole (frames x 52) `matrix`
    at once and the weights are smoothed as one array a frame. Weights come
    back as None when the transform leaves them untouched (the bake then reads
    the recorded matrix directly) or nothing needs them (no face mesh), else
    as a numpy array or a list of rows.
    """
    if not transform.changes_weights and not transform.has_q0 and not transform.move:
        kept = [with_face[i] for i in samples]
        return None, [f.quat for f in kept], [f.position for f in kept]
    filters = filters.copy()
    if transform.smooth:
        todo = sorted(range(len(with_face)), key=lambda i: with_face[i].t)  # stable, as plan_keys
    else:
        todo = samples
    use_np = np is not None and matrix is not None
    if not need_weights:
        weights = {i: () for i in todo}  # an empty vector: smoothing has nothing to do
    elif use_np:
        weights = transform.weights_from_neutral(matrix)
    else:
        weights = {i: transform.weights_from_neutral(with_face[i].weights) for i in todo}
    posed = {}
    for i in todo:
        f = with_face[i]
        posed[i] = transform.smoothed(weights[i], *transform.head_from_neutral(f), f.t, filters)
    picked = [posed[i] for i in samples]
    rows = None
    if transform.changes_weights and need_weights:
        rows = np.array([p[0] for p in picked], dtype=np.float64) if use_np else [p[0] for p in picked]
    return rows, [p[1] for p in picked], [p[2] for p in picked]


def _bone_curves(rig, transform, quats, positions):
    """[(pose bone, property, value sequences)] for the neck, the head and the moved bone's location.

    The neck/head split is live.Rig.split per frame (a bone the rig lacks gets
    no turn); the rest correction and the location are linear and done for the
    whole take (bone_local_rotations, bone_locations), as live.Rig.pose does per
    frame.
    """
    split = [rig.split(q, transform) for q in quats]
    out = []
    for side, bone, rest in ((0, rig.neck, rig.neck_rest), (1, rig.head, rig.head_rest)):
        if bone is not None:
            out.append((bone, "rotation_quaternion", head_curves([s[side] for s in split], rest)))
    if transform.move:
        out.append((rig.moved, "location", bone_locations(positions, transform.location_scale, rig.moved_rest)))
    return out


class Recorder:
    """Buffers frames while recording; `bake` turns them into Actions."""

    def __init__(self):
        self.frames = []
        # What live apply did to each frame when Record was pressed (a
        # live.FaceTransform and the smoothing filters' state then); None:
        # frames are baked as they came (operators.start_recording sets them).
        self.transform = None
        self.filters = None
        # The face frames' weights, appended as they arrive (well under a
        # microsecond a frame), so the bake gets its (frames x 52) matrix
        # without converting every float of the take at the end.
        self._face_weights = array("d")

    def add(self, frame):
        self.frames.append(frame)
        if frame is not None and frame.face:
            self._face_weights.extend(frame.weights)

    def _weight_matrix(self, with_face, samples=None, rows=None):
        """(frames x channels) numpy array of weights (only `samples` rows if given), or None without numpy."""
        if np is None:
            return None
        buffered = self._face_weights
        if with_face and len(buffered) == len(with_face) * len(with_face[0].weights):
            matrix = np.frombuffer(buffered, dtype=np.float64).reshape(len(with_face), -1)
            return matrix[samples] if samples is not None else matrix
        # Frames were assigned, not added (Import Take): convert them now.
        if rows is None:
            rows = [with_face[i].weights for i in samples] if samples is not None else [f.weights for f in with_face]
        return np.array(rows, dtype=np.float64).reshape(len(rows), -1)

    def __len__(self):
        return len(self.frames)

    def bake(self, scene, mesh_objs, armature_obj, head_bone_name, take_name, frame_start=None,
             progress=None, reduce_tolerance=None, push_to_nla=False, transform=None, filters=None):
        """Write the take as Actions and assign (or push) them; return a report dict.

        One Action per target ID: for each mesh in `mesh_objs` (a list; one
        object is accepted too) `<take>_face` on its shape-key datablock
        (`<take>_face_<object>` when there are several) with a key on every
        shape key the mapping drives (apply.mapping_targets, valued exactly
        as live apply values it), and `<take>_head` on the armature object
        (rotation_quaternion of the head bone and of the neck bone when one is
        set, and location of the topmost of them when Move Head is on).
        Every frame first goes through `transform` (a live.FaceTransform;
        default: the one kept at Record start, else none) with smoothing
        continued from `filters` (default: the ones kept at Record start,
        else fresh), exactly as live apply does. Meshes sharing one shape-key
        datablock are baked once. Each Action has a fake user and carries
        keyed/merged counts as custom properties. Frames without a face are
        not keyed (the pose holds) and are counted. A frame captured at t is
        keyed at frame_start + round((t - t0) * fps), t0 being the first
        recorded frame's time; frame_start defaults to the scene's current
        frame and fps is the scene's.

        `reduce_tolerance` (None or 0: off) drops keys linear interpolation
        reproduces within it (keyreduce.reduce_keys; unit: shape-key value or
        quaternion component). `push_to_nla` puts each Action on a new NLA
        track named after the take instead of making it the active action.

        Report keys: take, actions, keyed, merged, received, no_face,
        frame_start, frame_end, fps, shape_key_curves, head, neck, location, not_assigned,
        nla_tracks, keys_written, keys_removed, reduce_skipped (why Reduce
        Keys could not run, or "").
        `progress(fraction)`, if given, is called as curves are written.
        Raises BakeError when there is nothing to bake.
        """
        from ..blender import bake as actions

        if frame_start is None:
            frame_start = scene.frame_current
        fps = scene_fps(scene)
        with_face = [f for f in self.frames if f.face]
        meshes = []
        seen_keys = set()
        for mesh_obj in _as_list(mesh_objs):
            targets = apply.mapping_targets(mesh_obj)
            if not any(not t.binding.muted for t in targets):
                continue
            key_id = mesh_obj.data.shape_keys
            if key_id.as_pointer() in seen_keys:
                continue
            seen_keys.add(key_id.as_pointer())
            meshes.append((mesh_obj, key_id, targets))
        if transform is None:
            transform = self.transform if self.transform is not None else live.FaceTransform()
        if filters is None:
            filters = self.filters if self.filters is not None else live.Filters()
        rig = live.Rig.of(armature_obj, head_bone_name, transform.neck_bone)
        if not self.frames:
            raise BakeError("Nothing was recorded: no frames arrived while Record was on")
        if not with_face:
            raise BakeError("Nothing to bake: none of the %d recorded frames had a face" % len(self.frames))
        if not meshes and rig is None:
            raise BakeError("Nothing to bake onto: no face mesh has shape keys the mapping drives "
                            "(ARKit or VRM names, or mapping entries) and no head bone is set")

        # Time counts from the first recorded frame, face or not, so a take
        # that starts with the face out of view keeps its timing.
        plan = plan_keys([f.t for f in with_face], fps, t0=min(f.t for f in self.frames))
        kept = [with_face[i] for i in plan.samples]
        all_weights = self._weight_matrix(with_face, None, None) if transform.changes_weights and meshes else None
        weights, quats, positions = _posed_values(with_face, plan.samples, transform, filters, all_weights,
                                                  need_weights=bool(meshes))
        if np is not None:
            scene_frames = frame_start + np.asarray(plan.offsets, dtype=np.float64)
        else:
            scene_frames = [frame_start + off for off in plan.offsets]
        counts = {
            PROP_TAKE: take_name,
            PROP_KEYED: len(kept),
            PROP_MERGED: plan.merged,
            PROP_RECEIVED: len(self.frames),
            PROP_NO_FACE: len(self.frames) - len(with_face),
            PROP_FPS: fps,
        }
        report = {
            "take": take_name, "actions": [], "keyed": len(kept), "merged": plan.merged,
            "received": len(self.frames), "no_face": counts[PROP_NO_FACE],
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
            matrix = self._weight_matrix(with_face, plan.samples, rows) if meshes else None
        elif np is not None and isinstance(weights, np.ndarray):
            rows, matrix = weights, weights
        else:
            rows, matrix = weights, None
        mesh_curves = [(mesh_obj, key_id, shape_key_curves(targets, rows, matrix))
                       for mesh_obj, key_id, targets in meshes]
        bone_curves = _bone_curves(rig, transform, quats, positions) if rig is not None else []
        total_curves = sum(len(c) for _, _, c in mesh_curves) + sum(len(c) for _, _, c in bone_curves)
        done = 0

        def write(writer, data_path, index, group, values):
            nonlocal done
            frames = scene_frames
            if tolerance is not None:
                from . import keys as keyreduce  # numpy only: imported when it can run
                keep = keyreduce.reduce_keys(scene_frames, values, tolerance)
                frames, values = scene_frames[keep], values[keep]
            writer.add_curve(data_path, index, group, frames, values)
            report["keys_written"] += len(frames)
            report["keys_removed"] += len(scene_frames) - len(frames)
            done += 1
            if progress is not None:
                progress(done / total_curves)

        several = len(mesh_curves) > 1
        for mesh_obj, key_id, curves in mesh_curves:
            writer = actions.ActionWriter(face_action_name(take_name, mesh_obj, several), key_id)
            for target, values in curves:
                write(writer, 'key_blocks["%s"].value' % actions.escape(target.block.name), 0,
                      FACE_GROUP, values)
            report["shape_key_curves"] += len(curves)
            self._finish(writer, key_id, counts, report, take_name, push_to_nla, frame_start)

        if bone_curves:
            writer = actions.ActionWriter(take_name + HEAD_SUFFIX, armature_obj)
            for pose_bone, prop, curves in bone_curves:
                path = 'pose.bones["%s"].%s' % (actions.escape(pose_bone.name), prop)
                for axis, values in enumerate(curves):
                    write(writer, path, axis, pose_bone.name, values)
                if prop == "rotation_quaternion":
                    pose_bone.rotation_mode = 'QUATERNION'
            report["head"] = rig.head is not None
            report["neck"] = rig.neck is not None
            report["location"] = any(prop == "location" for _, prop, _ in bone_curves)
            self._finish(writer, armature_obj, counts, report, take_name, push_to_nla, frame_start)
        return report

    @staticmethod
    def _finish(writer, target_id, counts, report, take_name, push_to_nla, frame_start):
        for key, value in counts.items():
            writer.action[key] = value
        report["actions"].append(writer.action.name)
        if push_to_nla:
            track = writer.push_to_nla(target_id, take_name, frame_start)
            report["nla_tracks"].append("%s: %s" % (target_id.name, track.name))
        elif not writer.assign(target_id):
            report["not_assigned"].append(target_id.name)
