"""GUI Blender 4.3.2 (Debian 13's, in its own root, under Xvfb) as a new user: install an
extension zip from disk, enable it, build the avatar, press Start, watch, Record, Stop.

    xvfb-run -a blender --factory-startup --enable-event-simulate --python gui_blender43.py -- \
        --zip vstream-X-linux-x64.zip --port P --out DIR --avatar build_avatar.py \
        --video CLIP.mp4 --tracker bundled|external

--tracker bundled: the preferences as installed but the source set to --video: Start
runs the tracker the extension carries, with this Blender's own Python. The scenario reports what that process loaded (/proc/PID/maps:
dlib's, OpenCV's and numpy's shared libraries), its command line, environment and
output lines, for the test to check where each came from.
Before that, Start as installed (webcam 0) on this machine without a camera: the reason
in the panel; after it, Start and remove the extension with Blender's operator while
the tracker loads (it ends; files and wheels gone), then quit.
--tracker bundled-quit: install, Start with --video, quit Blender while the tracker loads
its model (the test checks that pid, `quit_pid`, after Blender exits).
--tracker external: Start only opens the port; a tracker outside Blender sends to it.

Runs inside tests/blender/blenders.run_in_blender43_gui; prints `RESULT {json}`.
"""

import importlib.util
import os
import shutil
import sys
import time

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TIMEOUT = 240.0


def parse_args():
    p = common.gui_arg_parser()
    p.add_argument("--avatar", required=True, help="blend/build_avatar.py (4.3 cannot open avatar.blend)")
    p.add_argument("--video", required=True, help="the clip the tracker plays as its webcam")
    p.add_argument("--tracker", choices=("bundled", "bundled-quit", "external"), required=True)
    return p.parse_args(common.script_args())


ARGS = parse_args()
CHECK = common.Checks()
INFO = {}
STATE = {"module": None}


def build_avatar():
    spec = importlib.util.spec_from_file_location("build_avatar", ARGS.avatar)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_avatar()


def loaded_libraries(pid):
    """The shared libraries the process `pid` has mapped (its /proc/PID/maps), sorted."""
    paths = set()
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and ".so" in parts[5]:
                paths.add(parts[5].strip())
    return sorted(paths)


def process_facts(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        cmdline = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    with open("/proc/%d/environ" % pid, "rb") as f:
        environ = dict(e.decode("utf-8", "replace").split("=", 1) for e in f.read().split(b"\0") if b"=" in e)
    return {"cmdline": cmdline, "pythonpath": environ.get("PYTHONPATH", ""),
            "libraries": [p for p in loaded_libraries(pid) if any(k in p for k in ("dlib", "cv2", "numpy"))]}


def screenshot(name):
    """Generator: let the window draw, then keep what the X server shows as NAME.xwd (the test
    turns it into NAME.png): Xvfb writes its screen to --out (blenders.run_in_blender43_gui)."""
    common.redraw()
    yield 0.5
    shutil.copy(os.path.join(ARGS.out, "Xvfb_screen0"), os.path.join(ARGS.out, name + ".xwd"))


def run():
    common.press_esc()  # close the splash screen
    yield 0.5

    module = STATE["module"] = common.install("extension", ARGS.zip)
    pkg = sys.modules[module]
    CHECK(os.path.realpath(pkg.__file__).startswith(os.path.realpath(common.home_dir())),
          "add-on imported from the installed extension", pkg.__file__)
    INFO["addon_file"] = pkg.__file__
    INFO["sys_executable"] = sys.executable
    ops = sys.modules[module + ".blender.operators"]
    launch = sys.modules[module + ".blender.tracker_launch"]

    bpy.data.objects.remove(bpy.data.objects["Cube"])  # the factory cube would sit in the avatar's neck
    objects = build_avatar()
    face = objects["face"]
    settings = bpy.context.scene.vstream
    settings.mesh, settings.port = face, ARGS.port
    settings.armature = objects["rig"]  # the head bone turns with the tracked head
    prefs = bpy.context.preferences.addons[module].preferences
    # What a new user finds: the test checks them (the bundled zip needs no setting but the source).
    INFO["defaults"] = {"launch_tracker": prefs.launch_tracker, "tracker_command": prefs.tracker_command,
                        "tracker_source": prefs.tracker_source, "tracker_options": prefs.tracker_options}
    INFO["panel_says"] = launch.describe(prefs)[0]
    common.view3d()[1].spaces.active.show_region_ui = True
    yield 0.5  # the sidebar opens before its tab is clicked
    common.show_vstream_tab()
    yield from screenshot("installed")
    if ARGS.tracker == "bundled":
        yield from start_without_a_camera(ops, launch)
    prefs.tracker_source = ARGS.video  # the clip stands in for the webcam
    prefs.launch_tracker = ARGS.tracker == "bundled"
    keys = face.data.shape_keys.key_blocks

    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'}, "Start from the panel runs the session on its timer",
          ops.state.error)
    session = ops.state.session
    process = launch.launched.process
    if ARGS.tracker == "bundled":
        CHECK(process is not None and process.poll() is None, "Start launched the bundled tracker", ops.state.error)
        INFO["tracker"] = process_facts(process.pid)
    started = time.monotonic()
    yield from common.wait(lambda: session.receiver.accepted_total > 0 or ops.state.error, 120,
                           "the first frame from the tracker")
    CHECK(session.receiver.accepted_total > 0, "packets arrive",
          (ops.state.error, process.output() if process else None))
    INFO["first_frame_s"] = round(time.monotonic() - started, 2)
    if process is not None:
        # Loaded by now: the first frame needed the model, dlib, OpenCV and numpy.
        INFO["tracker"] = process_facts(process.pid)

    # Shape keys move: several keys take several different values over a few seconds.
    seen = {}
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        for block in keys[1:]:
            seen.setdefault(block.name, set()).add(round(block.value, 3))
        yield 0.1
    moving = sorted(name for name, values in seen.items() if len(values) >= 3)
    INFO["moving_keys"] = moving
    CHECK(len(moving) >= 5, "shape keys move with the tracker's frames", moving)
    yield from screenshot("running")

    # Record a few seconds: the take is an Action with keyed shape keys.
    CHECK(common.press(bpy.ops.vstream.record) == {'FINISHED'} and session.recording, "Record on")
    yield from common.wait(lambda: len(session.recorder) >= 30, 30, "30 recorded frames")
    CHECK(common.press(bpy.ops.vstream.record) == {'FINISHED'} and not session.recording, "Record off")
    takes = [a for a in bpy.data.actions if a.name.startswith("vstream_take_001")]
    CHECK(takes, "Record made an Action", [a.name for a in bpy.data.actions])
    curves = [c for a in takes for c in common.action_fcurves(a) if c.data_path.startswith("key_blocks[")]
    keyed = [c for c in curves if len(c.keyframe_points) >= 10]
    INFO["take"] = {"actions": [a.name for a in takes], "shape_key_curves": len(curves),
                    "keys_per_curve": max(len(c.keyframe_points) for c in curves) if curves else 0}
    CHECK(len(keyed) >= 5, "the take keys the shape keys", INFO["take"])
    if process is not None:
        INFO["tracker_output"] = process.output()[-40:]

    pid = process.pid if process is not None else None
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'}, "Stop")
    yield 0.5
    CHECK(ops.state.session is None and common.port_is_free(ARGS.port), "Stop ends the session and frees the port")
    if pid is not None:
        CHECK(launch.launched.process is None and common.pid_gone(pid), "Stop ends the tracker (pid gone)", pid)
    yield from screenshot("stopped")

    if ARGS.tracker == "bundled":
        yield from remove_while_running(module, launch)
        yield from reinstall_and_start(face)


def quit_while_loading():
    """Generator (--tracker bundled-quit): install, set the source, Start, and quit Blender
    while the tracker loads its model; the test checks that pid (`quit_pid`) after Blender exits."""
    common.press_esc()
    yield 0.5
    module = STATE["module"] = common.install("extension", ARGS.zip)
    launch = sys.modules[module + ".blender.tracker_launch"]
    face = common.build_face_mesh(("jawOpen",))
    bpy.context.scene.vstream.mesh, bpy.context.scene.vstream.port = face, ARGS.port
    bpy.context.preferences.addons[module].preferences.tracker_source = ARGS.video
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'} and launch.launched.process is not None,
          "Start before quitting", sys.modules[module + ".blender.operators"].state.error)
    INFO["quit_pid"] = launch.launched.process.pid
    yield 1.0


def remove_while_running(module, launch):
    """Generator: Start, then remove the extension with Blender's operator while the tracker
    loads its model: the tracker ends, the extension's files and its wheels are gone.
    (This, then installing again and Start, used to segfault 4.3.2: reinstall_and_start.)"""
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'} and launch.launched.process is not None,
          "Start before removing the extension")
    pid = launch.launched.process.pid
    yield 1.0
    ext_dir = os.path.dirname(sys.modules[module].__file__)
    site = os.path.join(bpy.utils.user_resource('EXTENSIONS'), ".local", "lib",
                        "python%d.%d" % sys.version_info[:2], "site-packages")
    result = bpy.ops.extensions.package_uninstall(repo_directory=os.path.dirname(ext_dir), pkg_id="vstream")
    CHECK(result == {'FINISHED'}, "the extension removed with Blender's operator while its tracker runs", result)
    yield from common.wait(lambda: common.pid_gone(pid), 10, "the tracker to end after the removal")
    CHECK(common.pid_gone(pid), "removing the extension ends its tracker", pid)
    CHECK(module not in bpy.context.preferences.addons and not os.path.exists(ext_dir),
          "the extension is disabled and its folder gone", ext_dir)
    CHECK(not os.path.isdir(os.path.join(site, "cv2")), "Blender removed the tracker's wheels too",
          os.listdir(site) if os.path.isdir(site) else None)
    INFO["removed_pid"] = pid
    yield from screenshot("removed")


def reinstall_and_start(face):
    """Generator: after remove_while_running, install the zip again and press Start: the
    bundled tracker's frames arrive and move the face, Stop ends it. Blender 4.3.2 used to
    segfault here, in Start, when the session ran in a modal operator (the removed class's
    handler was still in the window)."""
    module = STATE["module"] = common.install("extension", ARGS.zip)
    ops = sys.modules[module + ".blender.operators"]
    launch = sys.modules[module + ".blender.tracker_launch"]
    settings = bpy.context.scene.vstream
    settings.mesh, settings.port = face, ARGS.port
    bpy.context.preferences.addons[module].preferences.tracker_source = ARGS.video
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'} and launch.launched.process is not None,
          "reinstalled: Start launches the tracker", ops.state.error)
    session, pid = ops.state.session, launch.launched.process.pid
    yield from common.wait(lambda: session.receiver.accepted_total > 0 or ops.state.error, 120,
                           "the first frame after reinstalling")
    CHECK(session.receiver.accepted_total > 0, "reinstalled: packets arrive", ops.state.error)
    seen = {}
    for _ in range(50):
        for block in face.data.shape_keys.key_blocks[1:]:
            seen.setdefault(block.name, set()).add(round(block.value, 3))
        yield 0.1
    moving = sorted(name for name, values in seen.items() if len(values) >= 3)
    CHECK(len(moving) >= 3, "reinstalled: shape keys move with the tracker's frames", moving)
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'}, "reinstalled: Stop")
    yield 0.5
    CHECK(common.port_is_free(ARGS.port) and common.pid_gone(pid), "reinstalled: Stop ends the session and tracker")


def start_without_a_camera(ops, launch):
    """Generator: Start as installed, on a machine with no webcam: the reason in the panel
    (its screenshot: no_camera.png), nothing left running."""
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'}, "Start with webcam 0 and no camera")
    process = launch.launched.process
    CHECK(process is not None, "no camera: the bundled tracker was launched", ops.state.error)
    yield from common.wait(lambda: launch.launched.process is None, 120, "the tracker to exit (no camera)")
    INFO["no_camera_error"] = ops.state.error
    CHECK("cannot open camera 0" in ops.state.error, "no camera: the reason is the panel's error", ops.state.error)
    CHECK(common.pid_gone(process.pid), "no camera: nothing left running", process.pid)
    yield from screenshot("no_camera")
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'} and ops.state.session is None, "Stop after no camera")


def cleanup():
    """After a failure: end the session (and any tracker) without baking, disable the extension."""
    module = STATE["module"]
    if module and module + ".blender.operators" in sys.modules:
        sys.modules[module + ".blender.operators"].stop_session(None, bake=False)
    common.disable(module)


# The bundled run quits the way a user does, with a tracker still loading (quit=True:
# Blender's exit, not the cleanup, must end it); cleanup runs after a failure.
common.drive_gui(quit_while_loading() if ARGS.tracker == "bundled-quit" else run(), CHECK, TIMEOUT,
                 cleanup=(cleanup,), report=lambda: {"info": INFO}, quit=ARGS.tracker.startswith("bundled"))
