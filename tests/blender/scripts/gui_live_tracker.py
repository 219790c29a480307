"""GUI Blender (3.4) under Xvfb: the REAL session timer fed by a REAL tracker process.

    xvfb-run -a blender --factory-startup --enable-event-simulate --python gui_live_tracker.py -- \
        --zip LEGACY.zip --tracker CMD... (see tests/blender/test_gui_live_tracker.py)

Driven by a bpy.app.timers generator, so Blender's own event loop runs the
add-on's session timer in between. This script never calls the add-on's
tick: it only presses buttons (operators with a VIEW_3D context override)
and watches. Never asserts tick rates: software GL redraws only a few times
per second.
Prints `RESULT {json}` and exits with 0 only if every check passed.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import bpy
from mathutils import Euler, Matrix, Vector

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TIMEOUT = 150.0  # seconds for the whole run, inside Blender's own timeout


def parse_args():
    p = common.gui_arg_parser()
    p.add_argument("--tracker", nargs=argparse.REMAINDER, required=True,
                   help="tracker command; {port} and {take} are filled in")
    return p.parse_args(common.script_args())


ARGS = parse_args()
CHECK = common.Checks()
INFO = {"samples": 0}
STATE = {"tracker": None, "module": None, "code": None}


# -- scene -----------------------------------------------------------------------

def build_scene(arkit_names):
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    rig = common.build_armature("Rig", [("Neck", (0, 0, 1.3), (0, 0, 1.5), 0.0, None),
                                         ("Head", (0, 0, 1.5), (0, 0, 1.75), 0.0, "Neck")])

    face = common.build_sphere("Face", 0.12, 32)
    mesh = face.data
    face.parent, face.parent_type, face.parent_bone = rig, 'BONE', "Head"
    bpy.context.view_layer.update()
    face.matrix_world = Matrix.Translation((0, 0, 1.62))

    face.shape_key_add(name="Basis", from_mix=False)
    coords = [v.co.copy() for v in mesh.vertices]
    for k, name in enumerate(arkit_names):
        # Some names in other cases: matching must not care.
        shown = name.upper() if k % 7 == 3 else (name.lower() if k % 7 == 5 else name)
        block = face.shape_key_add(name=shown, from_mix=False)
        for i, co in enumerate(coords):
            if name == "jawOpen" and co.z < -0.03 and co.y < 0:
                block.data[i].co = co + Vector((0, -0.01, -0.06))
            elif i % len(arkit_names) == k:
                block.data[i].co = co * 1.15
        block.value = 0.0
    s = bpy.context.scene.vstream
    s.mesh, s.armature, s.head_bone, s.port = face, rig, "Head", ARGS.port
    return face, rig


def frame_the_face():
    area = common.view3d()[1]
    space = area.spaces.active
    space.show_region_ui = True
    r3d = space.region_3d
    r3d.view_perspective = 'PERSP'
    r3d.view_location = (0, 0, 1.62)
    r3d.view_rotation = Euler((math.radians(90), 0, 0)).to_quaternion()  # front: looking at -Y face
    r3d.view_distance = 1.0


# -- the run -----------------------------------------------------------------------

def run():
    common.press_esc()  # close the splash screen
    yield 0.5

    STATE["module"] = common.install("legacy", ARGS.zip)
    ops = sys.modules["vstream_addon.blender.operators"]
    arkit = sys.modules["vstream_addon.shared.arkit"]
    quaternions = sys.modules["vstream_addon.core.quaternions"]
    face, rig = build_scene(arkit.ARKIT_NAMES)
    frame_the_face()
    yield 0.5
    common.show_vstream_tab()
    keys = face.data.shape_keys.key_blocks
    jaw_key = next(b for b in keys if b.name.lower() == "jawopen")
    pb = rig.pose.bones["Head"]
    yield 0.2

    # Start from the panel: the session ticks on its timer.
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'}, "Start runs the session on its timer")
    CHECK(ops.ticking(), "Start registered the session's timer")
    CHECK(not common.port_is_free(ARGS.port), "port bound while running")

    take = os.path.join(ARGS.out, "take.jsonl")
    cmd = [a.replace("{port}", str(ARGS.port)).replace("{take}", take) for a in ARGS.tracker]
    log = open(os.path.join(ARGS.out, "tracker.log"), "w")
    STATE["tracker"] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    session = ops.state.session
    yield from common.wait(lambda: session.receiver.accepted_total > 0 or STATE["tracker"].poll() is not None,
                    60, "the first packet from the tracker")
    CHECK(session.receiver.accepted_total > 0, "tracker packets arrive", open(log.name).read()[-2000:])

    CHECK(common.press(bpy.ops.vstream.record) == {'FINISHED'} and session.recording, "Record on")
    jaw_seen, quat_seen = set(), set()
    shot = os.path.join(ARGS.out, "viewport.png")
    shot_taken = False
    started = time.monotonic()
    while STATE["tracker"].poll() is None:
        jaw_seen.add(round(jaw_key.value, 4))
        quat_seen.add(tuple(round(c, 4) for c in pb.rotation_quaternion))
        INFO["samples"] += 1
        if not shot_taken and time.monotonic() - started > 1.5:
            common.screenshot(shot)
            shot_taken = True
        if time.monotonic() - started > 100:
            raise AssertionError("tracker did not finish")
        yield 0.1
    CHECK(STATE["tracker"].returncode == 0, "tracker exited cleanly", open(log.name).read()[-2000:])
    # Let the session's timer drain what is left.
    yield from common.wait(lambda: (session.receiver.last_frame_age() or 0) > 0.5, 10, "the stream to go quiet")
    yield from common.sleep(0.3)
    INFO["ticks_observed_values"] = [len(jaw_seen), len(quat_seen)]
    CHECK(len(jaw_seen) >= 5, "jawOpen moves over time (timer ticks applied frames)", sorted(jaw_seen))
    CHECK(len(quat_seen) >= 5, "head bone turns over time", len(quat_seen))

    # What arrived agrees with the take the tracker wrote in the same run.
    head, records = read_take(take)
    by_t = {round(r["t"], 4): r for r in records}
    recorded = list(session.recorder.frames)
    INFO["recorded"] = len(recorded)
    INFO["take_records"] = len(records)
    CHECK(len(recorded) >= 20, "recorded frames", len(recorded))
    for f in recorded:
        rec = by_t.get(round(f.t, 4))
        CHECK(rec is not None, "every received frame is in the take (matched by time)", f.t)
        CHECK(rec["face"] == f.face, "face flag agrees with the take", f.t)
        if f.face:
            CHECK.close(f.weights, [rec["weights"][n] for n in arkit.ARKIT_NAMES],
                        "weights agree with the take", tol=1e-4)
            CHECK.close(f.quat, rec["head"]["quat"], "head quaternion agrees with the take", tol=1e-4)
    last_face = next(f for f in reversed(recorded) if f.face)
    CHECK.close(jaw_key.value, max(0.0, min(1.0, last_face.weights[arkit.INDEX["jawOpen"]])),
                "live jawOpen shows the newest frame", tol=1e-4)
    want_q = quaternions.bone_local_rotation(last_face.quat, tuple(pb.bone.matrix_local.to_quaternion()))
    got_q = tuple(pb.rotation_quaternion)
    CHECK(abs(sum(a * b for a, b in zip(want_q, got_q))) > 1 - 1e-6, "live head bone shows the newest frame",
          (want_q, got_q))

    # Record off bakes the take.
    n_face = sum(1 for f in recorded if f.face)
    CHECK(common.press(bpy.ops.vstream.record) == {'FINISHED'} and not session.recording, "Record off")
    action = bpy.data.actions.get("vstream_take_001_face")
    head_action = bpy.data.actions.get("vstream_take_001_head")
    CHECK(action is not None and head_action is not None, "take baked into Actions",
          [a.name for a in bpy.data.actions])
    CHECK(action.use_fake_user and head_action.use_fake_user, "baked Actions have a fake user")
    keyed, merged = action["vstream_keyed"], action["vstream_merged"]
    INFO["keyed"], INFO["merged"] = keyed, merged
    CHECK(keyed + merged == n_face, "every face frame keyed or counted merged", (keyed, merged, n_face))
    curves = common.action_fcurves(action)
    CHECK(len(curves) == arkit.NUM_CHANNELS, "a curve per ARKit shape key", len(curves))
    jaw_curve = next(c for c in curves if c.data_path.lower() == 'key_blocks["jawopen"].value')
    recorded_jaw = [max(0.0, min(1.0, f.weights[arkit.INDEX["jawOpen"]])) for f in recorded if f.face]
    for kp in jaw_curve.keyframe_points:
        CHECK(any(abs(kp.co[1] - v) < 1e-5 for v in recorded_jaw), "every jawOpen key is a received value",
              kp.co[1])
    CHECK(len(jaw_curve.keyframe_points) == keyed, "one jawOpen key per kept frame")
    CHECK(len(common.action_fcurves(head_action)) == 4, "head Action has 4 quaternion curves")

    # Stop closes the socket and ends the session's timer.
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'}, "Stop")
    yield 0.3
    CHECK(ops.state.session is None and not ops.ticking(), "Stop ends the session and its timer")
    CHECK(common.port_is_free(ARGS.port), "Stop closes the socket")

    # Esc stops it too.
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'}, "Start again")
    yield 0.3
    common.press_esc()
    yield from common.wait(lambda: ops.state.session is None, 5, "Esc to stop the session")
    CHECK(common.port_is_free(ARGS.port), "Esc closes the socket")

    # Start from a script with no window in its context still ticks, through
    # the bpy.app.timers fallback.
    import socket
    protocol = sys.modules["vstream_addon.shared.protocol"]
    with bpy.context.temp_override(window=None, area=None, region=None):
        CHECK(bpy.context.window is None, "context without a window")
        started = bpy.ops.vstream.start()
    CHECK(started == {'FINISHED'} and ops.ticking(), "Start without a window uses an app timer")
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    f = protocol.Frame(seq=1, t=0.0, face=True, weights=protocol.weights_from_dict({"jawOpen": 0.123}))
    tx.sendto(protocol.encode(f), ("127.0.0.1", ARGS.port))
    yield from common.wait(lambda: abs(jaw_key.value - 0.123) < 1e-4, 10, "the app timer to apply a frame")
    tx.close()
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'} and not ops.ticking(), "Stop ends the app timer")
    CHECK(common.port_is_free(ARGS.port), "Stop closes the socket (app timer)")

    # A busy port: clear message in the panel, nothing started.
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", ARGS.port))
    try:
        common.press(bpy.ops.vstream.start)
        raised = ""
    except RuntimeError as e:
        raised = str(e)
    CHECK("Port %d is already in use by another program" % ARGS.port in raised, "busy port: clear error", raised)
    CHECK(ops.state.session is None and not ops.ticking(), "busy port: nothing half-started")
    yield from common.sleep(1.0)  # let the panel redraw with the error line
    common.screenshot(os.path.join(ARGS.out, "busy_port.png"))
    blocker.close()

    # Loading another file stops it (load_pre handler).
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'}, "Start before loading a file")
    yield 0.3
    saved = os.path.join(ARGS.out, "saved.blend")
    bpy.ops.wm.save_as_mainfile(filepath=saved)
    bpy.ops.wm.open_mainfile(filepath=saved)
    yield 0.3
    CHECK(sys.modules["vstream_addon.blender.state"].session is None, "loading a file stops the session")
    CHECK(common.port_is_free(ARGS.port), "loading a file closes the socket")
    CHECK("vstream_take_001_face" in bpy.data.actions, "the take is saved with the file")

    # Disabling the add-on while the session runs closes the socket,
    # and Blender carries on (the timer and handler must not outlive the classes).
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'}, "Start before disabling the add-on")
    yield 0.3
    common.disable(STATE["module"])
    yield from common.sleep(1.0)
    CHECK(common.port_is_free(ARGS.port), "disabling the add-on mid-session closes the socket")
    CHECK(not hasattr(bpy.types, "VIEW3D_PT_vstream"), "disabling unregisters the panel")

    # The screenshot shows something (not a blank or single-colour window).
    CHECK(os.path.exists(shot), "viewport screenshot written")
    img = bpy.data.images.load(shot)
    px = list(img.pixels)
    colours = {tuple(round(c, 2) for c in px[i:i + 3]) for i in range(0, len(px), 4 * 97)}
    INFO["screenshot_colours"] = len(colours)
    CHECK(len(colours) > 20, "screenshot is not blank", len(colours))


def read_take(path):
    with open(path, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return lines[0], lines[1:]


def stop_tracker():
    tracker = STATE["tracker"]
    if tracker is not None and tracker.poll() is None:
        tracker.kill()
        tracker.wait()


common.drive_gui(run(), CHECK, TIMEOUT, cleanup=(stop_tracker, lambda: common.stop_addon(STATE["module"])),
                 report=lambda: {"info": INFO})
