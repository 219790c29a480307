"""GUI Blender (3.4) under Xvfb: the panel's Start launches the REAL tracker.

    xvfb-run -a blender --factory-startup --enable-event-simulate --python gui_launch_tracker.py -- \
        --zip LEGACY.zip --port P --out DIR --tracker "PYTHON -m tracker_service" --video CLIP.mp4

The add-on's preferences say "launch the tracker on Start"; the script only
presses buttons (operators with a VIEW_3D context, as a click would) and
watches while Blender's own event loop runs the session's timer, which ticks
and watches the child. Checks: frames from the launched tracker drive the
mesh, Stop ends the child, an early exit puts the tracker's error line in the
panel, and quitting Blender ends the child (the test checks that pid after
Blender exits: `quit_pid` in the RESULT). Screenshots go to --out.
"""

import os
import sys
import time

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TIMEOUT = 200.0


def parse_args():
    p = common.gui_arg_parser()
    p.add_argument("--tracker", required=True, help="tracker command as typed in the preferences")
    p.add_argument("--video", required=True)
    return p.parse_args(common.script_args())


ARGS = parse_args()
CHECK = common.Checks()
INFO = {}
STATE = {"module": None}


def build_face(arkit_names):
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    face = common.build_sphere("Face", 0.5, 24)
    face.shape_key_add(name="Basis", from_mix=False)
    for name in arkit_names:
        block = face.shape_key_add(name=name, from_mix=False)
        if name == "jawOpen":
            for point in block.data:
                if point.co.z < 0:
                    point.co.z -= 0.3
        block.value = 0.0
    return face


def screenshot(name):
    common.screenshot(os.path.join(ARGS.out, name))


def run():
    common.press_esc()  # close the splash screen
    yield 0.5

    module = STATE["module"] = common.install("legacy", ARGS.zip)
    ops = sys.modules[module + ".blender.operators"]
    launch = sys.modules[module + ".blender.tracker_launch"]
    arkit = sys.modules[module + ".shared.arkit"]
    face = build_face(arkit.ARKIT_NAMES)
    settings = bpy.context.scene.vstream
    settings.mesh, settings.port = face, ARGS.port
    prefs = bpy.context.preferences.addons[module].preferences
    prefs.tracker_command = ARGS.tracker
    prefs.tracker_source = ARGS.video
    prefs.tracker_options = "--no-preview --max-frames 3000"
    prefs.launch_tracker = True
    bpy.context.view_layer.objects.active = face
    face.select_set(True)
    common.show_vstream_tab()
    jaw = face.data.shape_keys.key_blocks["jawOpen"]
    yield 0.3

    # Start from the panel: port, then the tracker, then the session's timer ticks.
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'},
          "Start from the panel runs the session on its timer")
    process = launch.launched.process
    CHECK(process is not None and process.poll() is None, "Start launched the tracker", ops.state.error)
    session = ops.state.session
    started = time.monotonic()
    yield from common.wait(lambda: session.receiver.accepted_total > 0 or launch.launched.process is None,
                           90, "the first frame from the launched tracker")
    CHECK(session.receiver.accepted_total > 0, "frames from the launched tracker arrive", process.output())
    INFO["first_frame_s"] = round(time.monotonic() - started, 2)
    seen = set()
    deadline = time.monotonic() + 60
    while len(seen) < 5 and time.monotonic() < deadline:
        seen.add(round(jaw.value, 4))
        yield 0.1
    CHECK(len(seen) >= 5, "jawOpen moves over time (timer ticks applied the launched tracker's frames)",
          sorted(seen))
    screenshot("running.png")

    pid = process.pid
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'}, "Stop")
    yield 0.3
    CHECK(launch.launched.process is None and common.port_is_free(ARGS.port), "Stop ends session and port")
    CHECK(process.proc.returncode is not None and common.pid_gone(pid), "Stop ends the tracker (pid gone)",
          pid)

    # An early exit: the session's tick shows the tracker's own error line.
    prefs.tracker_source = os.path.join(ARGS.out, "missing.mp4")
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'}, "Start with a missing file")
    yield from common.wait(lambda: launch.launched.process is None, 90, "the tracker to exit")
    CHECK(ops.state.error.startswith("Tracker exited (code 1): no such file") and "missing.mp4" in ops.state.error,
          "early exit: the tracker's error in the panel", ops.state.error)
    INFO["early_exit_error"] = ops.state.error
    yield 1.0  # let the panel redraw
    screenshot("early_exit.png")
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'}, "Stop after the early exit")

    # Quit with the tracker running: the test checks the pid after Blender exits.
    prefs.tracker_source = ARGS.video
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'}, "Start before quitting")
    yield from common.wait(lambda: session_frames(ops) > 0, 90, "frames before quitting")
    INFO["quit_pid"] = launch.launched.process.pid


def session_frames(ops):
    session = ops.state.session
    return session.receiver.accepted_total if session is not None else 0


# A passing run quits the way a user does, with the tracker still running: the
# add-on's exit handlers (and the tracker's closed stdin) must end it. After a
# failure, stopping the session ends the tracker.
common.drive_gui(run(), CHECK, TIMEOUT, cleanup=(lambda: common.stop_addon(STATE["module"]),),
                 report=lambda: {"info": INFO}, quit=True)
