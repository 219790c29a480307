"""A recorded take is what live apply showed: neck share, Move Head, smoothing, the add-on's
neutral and Set Neutral Pose, on a neck/head rig pointing +Z, baked and stepped through.

    python bake_live.py --root REPO                                  (bpy 5.x / 4.5 module)
    blender -b --factory-startup --python bake_live.py -- --root REPO    (Blender 3.4, no numpy)

Registers vstream_addon from the repository. Frames go through real UDP, the
real Start/Calibrate/Set Neutral Pose/Record operators and operators.tick
(one tick per frame, sometimes two frames a tick); after each tick the live
pose (every driven shape key of two meshes, neck and head rotation, neck
location) is noted. After Record off bakes the take, frame_set on each
frame must give back those poses. Where numpy exists, the same take is baked
again on the plain-Python path and must give the same keys. Import Take of
the same frames must match a fresh live driver fed those frames. Prints
`RESULT {json}`; exits 0 only if every check passed.
"""

import argparse
import importlib.util
import math
import os
import socket
import sys
import tempfile

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

HAVE_NUMPY = importlib.util.find_spec("numpy") is not None
FPS = 60
RECORD_FRAME = 10
FACE_KEYS = ("jawOpen", "eyeBlinkLeft", "mouthSmileLeft", "browInnerUp", "cheekPuff", "Blink")
TEETH_KEYS = ("JawOpen", "mouthSmile_L")


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    return p.parse_args(common.script_args())


ARGS = parse_args()
sys.path.insert(0, ARGS.root)


def build_rig():
    """Neck and head pointing +Z (up), the head rolled and connected to the neck."""
    return common.build_armature("Rig", [("neck", (0.0, 0.0, 1.45), (0.0, 0.0, 1.6), 0.2, None),
                                         ("head", (0.0, 0.0, 1.6), (0.0, 0.0, 1.8), 0.7, "neck", True)])


def euler_quat(pitch, yaw, roll):
    """(w, x, y, z) of rotations about X, Z and Y (radians), composed."""
    from mathutils import Euler
    return tuple(Euler((pitch, roll, yaw), 'XYZ').to_quaternion())


def motion(k, names):
    """Frame k of a face moving on every channel, turning and moving the head."""
    weights = {name: 0.5 + 0.45 * math.sin(0.11 * k + 0.7 * i) for i, name in enumerate(names)}
    quat = euler_quat(0.3 * math.sin(0.05 * k), 0.6 * math.sin(0.031 * k + 1.0), 0.2 * math.cos(0.07 * k))
    position = (0.03 * math.sin(0.04 * k), 0.01 * math.cos(0.09 * k), 0.02 * math.sin(0.06 * k + 0.5))
    return weights, quat, position


def rotation_close(a, b, tol=3e-6):
    return 1.0 - abs(sum(x * y for x, y in zip(a, b))) <= tol


def main(check):
    import vstream_addon
    from vstream_addon.blender import live_apply as live, operators
    check(os.path.dirname(vstream_addon.__file__) == os.path.join(ARGS.root, "vstream_addon"),
          "add-on imported from the repository under test")
    vstream_addon.register()
    try:
        return run(check)
    finally:
        operators.stop_session(None, bake=False)
        vstream_addon.unregister()


def run(check):
    from vstream_addon.blender import bake, live_apply as live, operators
    from vstream_addon.core import arrays, neutral, recorder
    from vstream_addon.shared import protocol, take
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    settings = scene.vstream
    options = settings.live
    face = common.build_face_mesh(FACE_KEYS, name="Face")
    face.data.shape_keys.key_blocks["cheekPuff"].slider_max = 0.6  # the bake clamps as live does
    teeth = common.build_face_mesh(TEETH_KEYS, name="Teeth")
    rig = build_rig()
    settings.mesh = face
    settings.meshes.add().object = teeth
    settings.armature, settings.head_bone = rig, "head"
    options.neck_bone, options.neck_split = "neck", 0.4
    options.head_location, options.location_scale = True, 2.0
    options.smooth, options.smooth_min_cutoff, options.smooth_beta = True, 1.5, 0.8
    options.calibrate_mode = neutral.CALIBRATE_ADDON
    names = list(protocol.ARKIT_NAMES)
    neck, head = rig.pose.bones["neck"], rig.pose.bones["head"]
    blocks = [(face, b) for b in FACE_KEYS] + [(teeth, b) for b in TEETH_KEYS]

    port = common.free_port()
    settings.port = port
    check(bpy.ops.vstream.start() == {'FINISHED'}, "session started")
    session = operators.state.session
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    seq = [0]

    def make(k, face_seen=True):
        seq[0] += 1
        weights, quat, position = motion(k, names)
        return protocol.Frame(seq=seq[0], t=100.0 + k / FPS, face=face_seen, quat=quat, position=position,
                              weights=protocol.weights_from_dict(weights), sender_calibrates=False)

    def send(*frames):
        """Send frames and tick; loopback delivers at once, so one tick drains them all."""
        n = session.receiver.accepted_total
        for f in frames:
            sender.sendto(protocol.encode(f), ("127.0.0.1", port))
        operators.tick(bpy.context)
        ok = common.wait_until(lambda: (session.receiver.accepted_total - n >= len(frames)
                                        or operators.tick(bpy.context) and False))
        check(ok, "frames received")

    def pose():
        bpy.context.view_layer.update()
        return {
            "keys": [obj.data.shape_keys.key_blocks[name].value for obj, name in blocks],
            "neck": tuple(neck.rotation_quaternion), "head": tuple(head.rotation_quaternion),
            "location": tuple(neck.location),
            "head_matrix": [tuple(row) for row in head.matrix],
        }

    try:
        # Warm up, then a neutral captured in Blender and a neutral pose that is not the identity.
        for k in range(30):
            send(make(k))
        check(bpy.ops.vstream.calibrate() == {'FINISHED'} and options.neutral_weights,
              "add-on neutral captured (sender does not calibrate)")
        send(make(30))
        check(bpy.ops.vstream.set_neutral_pose() == {'FINISHED'}, "Set Neutral Pose")
        check(tuple(options.neutral_rotation) != (1.0, 0.0, 0.0, 0.0) and any(options.neutral_position),
              "neutral pose holds a real rotation and position")
        for k in range(31, 40):
            send(make(k))  # smoothing runs before Record: the take continues from its state

        scene.frame_set(RECORD_FRAME)
        check(bpy.ops.vstream.record() == {'FINISHED'} and session.recording, "Record on")
        rec = session.recorder
        live_poses = {}  # scene frame -> pose live apply showed for the frame keyed there
        k, sent = 40, []
        t0 = 100.0 + 40 / FPS
        while k < 160:
            if k % 17 == 0:
                send(make(k), make(k + 1))  # two frames a tick: both smoothed, the second shown
                k += 2
            elif k == 77:
                send(make(k, face_seen=False))  # no face: nothing applied, nothing keyed
                k += 1
                continue
            else:
                send(make(k))
                k += 1
            live_poses[RECORD_FRAME + round((100.0 + (k - 1) / FPS - t0) * FPS)] = pose()
        check(bpy.ops.vstream.record() == {'FINISHED'} and not session.recording, "Record off bakes")
        take_name = operators.state.last_take.split(":")[0]
        check(take_name.startswith(recorder.TAKE_PREFIX), "take summary", operators.state.last_take)

        # Step through the take: every frame is the pose live showed.
        worst = {"keys": 0.0, "rotation": 0.0, "location": 0.0, "matrix": 0.0}
        for frame, want in sorted(live_poses.items()):
            scene.frame_set(frame)
            got = pose()
            worst["keys"] = max(worst["keys"], max(abs(a - b) for a, b in zip(got["keys"], want["keys"])))
            for bone in ("neck", "head"):
                worst["rotation"] = max(worst["rotation"],
                                        1.0 - abs(sum(a * b for a, b in zip(got[bone], want[bone]))))
            worst["location"] = max(worst["location"],
                                    max(abs(a - b) for a, b in zip(got["location"], want["location"])))
            worst["matrix"] = max(worst["matrix"], max(abs(a - b) for ra, rb in zip(got["head_matrix"],
                                                                                     want["head_matrix"])
                                                      for a, b in zip(ra, rb)))
        check(len(live_poses) > 100, "over 100 live poses compared", len(live_poses))
        check(worst["keys"] <= 2e-5, "baked shape keys equal the live ones on every frame", worst)
        check(worst["rotation"] <= 3e-6, "baked neck and head rotations equal the live ones", worst)
        check(worst["location"] <= 2e-5, "baked neck location equals the live one", worst)
        check(worst["matrix"] <= 1e-4, "the posed head ends where live put it", worst)
        moved = max(abs(a - b) for a, b in zip(live_poses[min(live_poses)]["neck"], live_poses[max(live_poses)]["neck"]))
        check(moved > 0.01, "the take actually moves the neck", moved)

        # The Actions: neck and head quaternions, neck location, every driven key of both meshes.
        head_action = bpy.data.actions[take_name + bake.HEAD_SUFFIX]
        paths = sorted((c.data_path, c.array_index) for c in common.action_fcurves(head_action))
        want_paths = sorted([('pose.bones["neck"].rotation_quaternion', i) for i in range(4)]
                            + [('pose.bones["head"].rotation_quaternion', i) for i in range(4)]
                            + [('pose.bones["neck"].location', i) for i in range(3)])
        check(paths == want_paths, "head action: neck and head rotation, neck location", paths)

        # Both paths: the same take baked without numpy gives the same keys.
        result = {"worst": worst, "numpy": HAVE_NUMPY, "compared": len(live_poses)}
        if HAVE_NUMPY:
            result["plain_vs_numpy"] = compare_plain_path(check, arrays, bake, rec, scene, settings,
                                                          take_name)

        check("changed while recording" not in operators.state.last_take, "no settings-changed note when none")
        # A setting changed while recording: the take keeps Record's, and the summary says so.
        check(bpy.ops.vstream.record() == {'FINISHED'}, "second take on")
        for k in range(200, 205):
            send(make(k))
        options.neck_split = 0.7
        send(make(205))
        check(bpy.ops.vstream.record() == {'FINISHED'}, "second take baked")
        check("changed while recording" in operators.state.last_take, "a setting changed while recording is "
              "reported with the take", operators.state.last_take)
        options.neck_split = 0.4

        # Import Take: the same frames from a file, posed with today's options and fresh smoothing.
        check_import(check, live, operators, protocol, take, rec, scene, settings, blocks, neck, head)
        return result
    finally:
        sender.close()


def curve_points(action):
    out = {}
    for c in common.action_fcurves(action):
        co = [0.0] * (2 * len(c.keyframe_points))
        c.keyframe_points.foreach_get("co", co)
        out[(c.data_path, c.array_index)] = co
    return out


def compare_plain_path(check, arrays, bake, rec, scene, settings, take_name):
    targets = [settings.mesh, settings.meshes[0].object]
    saved = arrays.np
    arrays.np = None  # the whole bake takes its plain-Python paths
    try:
        report = bake.bake_take(rec, scene, targets, settings.armature, settings.head_bone, take_name + "_plain",
                                frame_start=RECORD_FRAME)
    finally:
        arrays.np = saved
    worst = 0.0
    count = 0
    for suffix in ("_face_Face", "_face_Teeth", bake.HEAD_SUFFIX):
        fast = curve_points(bpy.data.actions[take_name + suffix])
        plain = curve_points(bpy.data.actions[take_name + "_plain" + suffix])
        check(sorted(fast) == sorted(plain), "plain path writes the same curves" + suffix)
        for key in fast:
            a, b = fast[key], plain[key]
            check(len(a) == len(b), "plain path: same number of keys", key)
            # Quaternion curves may differ in sign only where the hemisphere pass starts.
            worst = max(worst, max(abs(x - y) for x, y in zip(a, b)))
            count += 1
    check(worst <= 1e-6, "plain-Python bake equals the numpy bake", worst)
    check(report["neck"] and report["location"], "plain path report: neck and location")
    return {"curves": count, "worst": worst}


def check_import(check, live, operators, protocol, take, rec, scene, settings, blocks, neck, head):
    operators.stop_session(None, bake=False)
    path = os.path.join(tempfile.mkdtemp(), "take.jsonl")
    frames = rec.frames
    with take.TakeWriter(path, take.header(FPS, "test", 640, 480)) as w:
        for i, f in enumerate(frames):
            weights = dict(zip(protocol.ARKIT_NAMES, f.weights))
            w.write(take.frame_record(i, f.t, f.face, weights, f.quat, (0.0, 0.0, 0.0), f.position, None))
    # A fresh driver fed the same file frames one a tick is what streaming the file would show.
    # Unassign the takes first, or the next depsgraph update would pose from them.
    for id_data in (settings.armature, settings.mesh.data.shape_keys, settings.meshes[0].object.data.shape_keys):
        id_data.animation_data.action = None
    bpy.context.view_layer.update()
    from vstream_addon.core import receiver
    _head, file_frames = receiver.frames_from_take(path)
    driver = live.LiveDriver()
    session = object()
    want = {}
    t0 = file_frames[0].t
    start = 500
    for f in file_frames:
        if driver.drive(session, settings, [f]) or f.face:
            bpy.context.view_layer.update()
            want[start + round((f.t - t0) * FPS)] = ([obj.data.shape_keys.key_blocks[n].value for obj, n in blocks],
                                                     tuple(neck.rotation_quaternion), tuple(head.rotation_quaternion),
                                                     tuple(neck.location))
    scene.frame_set(start)
    check(bpy.ops.vstream.import_take(filepath=path) == {'FINISHED'}, "Import Take")
    worst = 0.0
    for frame, (keys, q_neck, q_head, loc) in sorted(want.items()):
        scene.frame_set(frame)
        worst = max(worst, max(abs(a - b) for a, b in zip(
            [obj.data.shape_keys.key_blocks[n].value for obj, n in blocks], keys)))
        worst = max(worst, 1.0 - abs(sum(a * b for a, b in zip(neck.rotation_quaternion, q_neck))))
        worst = max(worst, 1.0 - abs(sum(a * b for a, b in zip(head.rotation_quaternion, q_head))))
        worst = max(worst, max(abs(a - b) for a, b in zip(neck.location, loc)))
    check(worst <= 2e-5, "Import Take equals streaming the file live (same options, fresh smoothing)", worst)


if __name__ == "__main__":
    common.run(main)
