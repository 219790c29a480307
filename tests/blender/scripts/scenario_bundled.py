"""The per-platform extension's own tracker, launched by Start (Blender 5.0 and 4.5 bpy modules).

    python scenario_bundled.py --zip vstream-<ver>-linux-x64.zip --video CLIP.mp4 --tracker "PYTHON -m tracker_service"
        [--mode full|kill]

Installs the zip with Blender's own operator, as a user would, and checks:
Blender unpacked the wheels for its Python into its extensions' site-packages;
with nothing set but the source (a video file standing in for webcam 0),
Start runs the bundled tracker with Blender's interpreter, whose start-up line
shows dlib, OpenCV and the model coming from the extension's folders, and its
frames move the shape keys; a command set in the preferences still wins; a
second Start while the tracker loads its model, a missing camera, and the
extension removed while the tracker runs each end with no process left.
No event loop runs in the module: the script calls the add-on's tick as the
session's timer would. Prints `RESULT {json}`. --mode kill: Start, then
at once (the tracker still importing and loading its model) print
`TRACKER_PID n blender VERSION` and wait to be killed with SIGKILL by the test.
"""

import argparse
import glob
import os
import re
import sys
import time

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

ARGS = None
SHAPE_KEYS = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "browInnerUp")
PARTS = re.compile(r"dlib (\S+) \((.*?)\), OpenCV (\S+) \((.*?)\), numpy (\S+) \((.*?)\), model (.*)$")


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--zip", required=True)
    p.add_argument("--video", required=True)
    p.add_argument("--tracker", required=True, help="another tracker command, to check a set one wins")
    p.add_argument("--mode", choices=("full", "kill"), default="full")
    return p.parse_args(common.script_args())


def inside(path, folder):
    return os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep)


def wait_for_frames(check, ops, process, face, what):
    session = ops.state.session
    common.tick_until(ops, lambda: session.receiver.accepted_total > 0 or process.poll() is not None,
                      "the first frame (%s)" % what, timeout=120, step=0.02)
    check(session.receiver.accepted_total > 0, "%s: frames arrive" % what, process.output()[-8:])
    keys = face.data.shape_keys.key_blocks
    seen = set()

    def moved():
        seen.add(tuple(round(keys[n].value, 4) for n in SHAPE_KEYS))
        return len(seen) >= 8
    common.tick_until(ops, moved, "the shape keys to move (%s)" % what, timeout=60, step=0.02)
    check(len(seen) >= 8, "%s: shape keys move" % what)


def scenario(check, module):
    ops = sys.modules[module + ".blender.operators"]
    launch = sys.modules[module + ".blender.tracker_launch"]
    bundled = sys.modules[module + ".core.bundled_tracker"]
    prefs = bpy.context.preferences.addons[module].preferences
    info = {"module": module}

    ext_dir = os.path.dirname(sys.modules[module].__file__)
    tracker = bundled.tracker_dir()
    check(tracker is not None and inside(tracker, ext_dir), "the installed extension carries the tracker", tracker)
    site = bundled.site_packages(bpy.utils.user_resource('EXTENSIONS'))
    tag = "cpython-%d%d" % sys.version_info[:2]
    dlib_so = glob.glob(os.path.join(site, "_dlib_pybind11*"))
    check(len(dlib_so) == 1 and tag in os.path.basename(dlib_so[0]),
          "Blender unpacked the dlib wheel of its own Python (and only that one)", dlib_so)
    check(os.path.isdir(os.path.join(site, "cv2")) and os.path.isdir(os.path.join(site, "tqdm")),
          "Blender unpacked OpenCV and tqdm", sorted(os.listdir(site)))
    check(not os.path.exists(os.path.join(site, "numpy")), "no numpy wheel: numpy is Blender's own")
    private = os.path.join(bpy.utils.user_resource('EXTENSIONS'), ".user", "user_default", "vstream")
    paths, reason = bundled.folders(tracker, site, private, unpack=False)
    check(paths == [tracker, site] and reason == "", "the bundled tracker is available, as Blender installed it",
          (paths, reason))
    info["site_packages"] = sorted(os.listdir(site))

    check(prefs.launch_tracker is True and prefs.tracker_command == "" and prefs.tracker_source == "0"
          and prefs.tracker_options == "", "defaults: launch on Start, no command, webcam 0, no options",
          (prefs.launch_tracker, prefs.tracker_command, prefs.tracker_source, prefs.tracker_options))
    text, icon = launch.describe(prefs)
    check("bundled tracker" in text and icon == 'CHECKMARK', "the panel says the bundled tracker runs", text)
    info["panel_line"] = text

    face = common.build_face_mesh(SHAPE_KEYS)
    settings = bpy.context.scene.vstream
    settings.mesh, settings.port = face, common.free_port()
    prefs.tracker_source = ARGS.video  # the one setting: a video file in place of the webcam
    if ARGS.mode == "kill":
        run_kill(check, ops, launch)

    # A second Start while the first tracker still loads its model: the first one goes.
    check(bpy.ops.vstream.start() == {'FINISHED'}, "Start")
    first = launch.launched.process
    check(first is not None and first.argv[:3] == [sys.executable, "-I", "-u"],
          "Start runs the bundled tracker with Blender's own interpreter, isolated", first and first.argv)
    check(bpy.ops.vstream.stop() == {'FINISHED'}, "Stop while the tracker starts")
    check(common.pid_gone(first.pid), "Stop while it starts: its pid is gone", first.pid)
    started = time.monotonic()
    check(bpy.ops.vstream.start() == {'FINISHED'}, "Start again at once")
    process = launch.launched.process
    check(process is not None and process.pid != first.pid, "a new tracker runs")
    wait_for_frames(check, ops, process, face, "bundled tracker")
    info["first_frame_s"] = round(time.monotonic() - started, 2)

    parts = [m for m in map(PARTS.search, process.output()) if m]
    check(len(parts) == 1, "the tracker's start-up line says where its parts come from", process.output()[:5])
    dlib_v, dlib_at, cv_v, cv_at, np_v, np_at, model = parts[0].groups()
    info["parts"] = parts[0].group(0)
    check(inside(dlib_at, site) and inside(cv_at, site), "dlib and OpenCV come from the extension's wheels",
          (dlib_at, cv_at, site))
    check(inside(model, tracker), "the 68-point model comes from the extension's folder", model)
    check(not inside(np_at, site), "numpy is the interpreter's own", np_at)
    check(cv_v.startswith("4.11") and dlib_v.startswith(("20.", "19.")), "versions of the locked wheels",
          (dlib_v, cv_v))
    pid = process.pid
    check(bpy.ops.vstream.stop() == {'FINISHED'} and common.pid_gone(pid), "Stop ends the bundled tracker")
    check(process.proc.returncode == 0, "it stopped cleanly (exit 0)", process.output()[-5:])

    # A camera that is not there: the tracker's reason in the panel, nothing left running.
    prefs.tracker_source = "57"
    check(bpy.ops.vstream.start() == {'FINISHED'}, "Start with a missing camera")
    missing = launch.launched.process
    common.tick_until(ops, lambda: launch.launched.process is None, "the tracker to exit (missing camera)",
                      timeout=120, step=0.02)
    check("cannot open camera 57" in ops.state.error, "missing camera: the reason is the panel's error",
          ops.state.error)
    check(common.pid_gone(missing.pid), "missing camera: nothing left running")
    check(bpy.ops.vstream.stop() == {'FINISHED'}, "Stop after the camera error")
    prefs.tracker_source = ARGS.video

    # A command set in the preferences wins over the bundled tracker.
    prefs.tracker_command = ARGS.tracker
    text, _icon = launch.describe(prefs)
    argv = launch.command_for(prefs, settings.port)
    check("your tracker command" in text and argv[:2] != [sys.executable, "-I"] and "-m" in argv,
          "a tracker command set in the preferences wins", (text, argv[:4]))
    prefs.tracker_command = ""

    # The extension removed while its tracker runs: Blender disables it first, which ends the tracker.
    check(bpy.ops.vstream.start() == {'FINISHED'}, "Start before removing the extension")
    pid = launch.launched.process.pid
    result = bpy.ops.extensions.package_uninstall(repo_directory=os.path.dirname(ext_dir), pkg_id="vstream")
    check(result == {'FINISHED'}, "the extension removed with Blender's operator", result)
    check(common.pid_gone(pid), "removing the extension ends its tracker", pid)
    check(not os.path.exists(ext_dir), "the extension's folder is gone", ext_dir)
    check(not glob.glob(os.path.join(site, "_dlib_pybind11*")), "Blender removed the tracker's wheels too",
          os.listdir(site) if os.path.isdir(site) else None)
    return info


def run_kill(check, ops, launch):
    check(bpy.ops.vstream.start() == {'FINISHED'}, "Start")
    process = launch.launched.process
    check(process is not None and process.argv[:3] == [sys.executable, "-I", "-u"], "the bundled tracker runs")
    check(not any(PARTS.search(line) for line in process.output()), "killed before the tracker got going")
    common.announce_and_tick_until_killed(ops, process.pid)


if __name__ == "__main__":
    ARGS = parse_args()
    common.run_installed("extension", ARGS.zip, scenario)
