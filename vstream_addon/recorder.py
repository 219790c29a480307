"""Record mode: keep every received frame, then bake the take into Actions.

`Recorder` and `plan_keys` are pure Python. `Recorder.bake` needs Blender
(it imports .actions, which uses bpy, only when called).
"""

import math
import re

from . import apply

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
    order = sorted(range(len(times)), key=lambda i: times[i])
    if not order:
        return KeyPlan([], 0)
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
    """Flip signs so consecutive quaternions are within 180 degrees.

    q and -q are the same rotation, but linear interpolation between them
    swings the head the long way round.
    """
    out = []
    prev = None
    for q in quats:
        if prev is not None and sum(a * b for a, b in zip(prev, q)) < 0.0:
            q = tuple(-c for c in q)
        out.append(q)
        prev = q
    return out


def bone_local_rotations(quats, q_rest):
    """apply.bone_local_rotation for many quaternions at once.

    Conjugation by a fixed unit quaternion is a linear map, so it is built
    once as a 4x4 matrix (its columns are the images of the basis) and each
    sample costs 16 multiplications instead of two quaternion products and
    three normalisations.
    """
    basis = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0))
    cols = [apply.bone_local_rotation(e, q_rest) for e in basis]
    (a0, a1, a2, a3), (b0, b1, b2, b3), (c0, c1, c2, c3), (d0, d1, d2, d3) = cols
    out = []
    for w, x, y, z in quats:
        n = math.sqrt(w * w + x * x + y * y + z * z)
        if not math.isfinite(n) or n < 1e-9:
            out.append((1.0, 0.0, 0.0, 0.0))
            continue
        out.append(((a0 * w + b0 * x + c0 * y + d0 * z) / n, (a1 * w + b1 * x + c1 * y + d1 * z) / n,
                    (a2 * w + b2 * x + c2 * y + d2 * z) / n, (a3 * w + b3 * x + c3 * y + d3 * z) / n))
    return out


class Recorder:
    """Buffers frames while recording; `bake` turns them into Actions."""

    def __init__(self):
        self.frames = []

    def add(self, frame):
        self.frames.append(frame)

    def __len__(self):
        return len(self.frames)

    def bake(self, scene, mesh_obj, armature_obj, head_bone_name, take_name, frame_start=None,
             progress=None):
        """Write the take as Actions and assign them; return a report dict.

        One Action per target ID: `<take_name>_face` on the mesh's shape-key
        datablock (a key on every ARKit-named shape key) and `<take_name>_head`
        on the armature object (the head bone's rotation_quaternion). Each has
        a fake user and carries keyed/merged counts as custom properties.
        Frames without a face are not keyed (the pose holds) and are counted.
        A frame captured at t is keyed at frame_start + round((t - t0) * fps),
        t0 being the first recorded frame's time; frame_start defaults to
        scene.frame_start and fps is the scene's.

        Report keys: take, actions, keyed, merged, received, no_face,
        frame_start, frame_end, fps, shape_key_curves, head, not_assigned.
        `progress(fraction)`, if given, is called as curves are written.
        Raises BakeError when there is nothing to bake.
        """
        from . import actions

        if frame_start is None:
            frame_start = scene.frame_start
        fps = scene_fps(scene)
        with_face = [f for f in self.frames if f.face]
        shape_targets = apply.shape_key_targets(mesh_obj) if mesh_obj is not None else []
        pose_bone = apply.head_pose_bone(armature_obj, head_bone_name)
        if not self.frames:
            raise BakeError("Nothing was recorded: no frames arrived while Record was on")
        if not with_face:
            raise BakeError("Nothing to bake: none of the %d recorded frames had a face" % len(self.frames))
        if not shape_targets and pose_bone is None:
            raise BakeError("Nothing to bake onto: the mesh has no ARKit-named shape keys and no head bone is set")

        # Time counts from the first recorded frame, face or not, so a take
        # that starts with the face out of view keeps its timing.
        plan = plan_keys([f.t for f in with_face], fps, t0=min(f.t for f in self.frames))
        kept = [with_face[i] for i in plan.samples]
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
            "frame_start": scene_frames[0], "frame_end": scene_frames[-1], "fps": fps,
            "shape_key_curves": 0, "head": False, "not_assigned": [],
        }

        total_curves = len(shape_targets) + (4 if pose_bone is not None else 0)
        done = 0

        def curve_done():
            nonlocal done
            done += 1
            if progress is not None:
                progress(done / total_curves)

        if shape_targets:
            key_id = mesh_obj.data.shape_keys
            writer = actions.ActionWriter(take_name + FACE_SUFFIX, key_id)
            # One transpose instead of indexing every frame per channel: a
            # 10-minute take is 36,000 frames x 52 channels.
            columns = list(zip(*(f.weights for f in kept)))
            for block, index in shape_targets:
                values = [v if 0.0 <= v <= 1.0 else (0.0 if v < 0.0 else 1.0) for v in columns[index]]
                writer.add_curve('key_blocks["%s"].value' % actions.escape(block.name), 0,
                                 FACE_GROUP, scene_frames, values)
                curve_done()
            report["shape_key_curves"] = len(shape_targets)
            self._finish(writer, key_id, counts, report)

        if pose_bone is not None:
            q_rest = tuple(pose_bone.bone.matrix_local.to_quaternion())
            quats = hemisphere_consistent(bone_local_rotations([f.quat for f in kept], q_rest))
            writer = actions.ActionWriter(take_name + HEAD_SUFFIX, armature_obj)
            path = 'pose.bones["%s"].rotation_quaternion' % actions.escape(pose_bone.name)
            for axis in range(4):
                writer.add_curve(path, axis, pose_bone.name, scene_frames, [q[axis] for q in quats])
                curve_done()
            pose_bone.rotation_mode = 'QUATERNION'
            report["head"] = True
            self._finish(writer, armature_obj, counts, report)
        return report

    @staticmethod
    def _finish(writer, target_id, counts, report):
        for key, value in counts.items():
            writer.action[key] = value
        report["actions"].append(writer.action.name)
        if not writer.assign(target_id):
            report["not_assigned"].append(target_id.name)
