"""Start launches the real tracker as a child process (Blender 5.0 and 4.5 bpy modules).

    python scenario_launch.py --zip Z --kind K --mode live|errors|kill \
        --tracker "PYTHON -m tracker_service" --video CLIP.mp4

No event loop runs in the module, so the script calls the add-on's tick as
the session's timer would. Modes:
  live    frames from the launched tracker move the shape keys; Stop, file load
          and disabling the add-on each end the child (its pid is gone)
  errors  a bad source, a missing command, a managed option and a busy port:
          the reason reaches state.error (the panel's error line), nothing runs
  kill    prints `TRACKER_PID n blender VERSION` once frames arrive, then waits
          to be killed with SIGKILL by the test, which checks the tracker goes too
Prints `RESULT {json}`; exits 0 only if every check passed (kill: never exits
by itself before the test kills it, unless a check fails).
"""

import argparse
import os
import socket
import sys
import tempfile
import time

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

ARGS = None
SHAPE_KEYS = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "browInnerUp")


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--zip", required=True)
    p.add_argument("--kind", choices=("legacy", "extension"), required=True)
    p.add_argument("--mode", choices=("live", "errors", "kill"), required=True)
    p.add_argument("--tracker", required=True, help="the tracker command, as typed in the preferences")
    p.add_argument("--video", required=True)
    return p.parse_args(common.script_args())


def start_error(check, ops, name):
    """Press Start expecting a refusal; return its message."""
    try:
        bpy.ops.vstream.start()
    except RuntimeError as e:
        return str(e)
    check(False, name, "Start did not fail")


def scenario(check, module):
    ops = sys.modules[module + ".blender.operators"]
    launch = sys.modules[module + ".blender.tracker_launch"]
    addon = bpy.context.preferences.addons[module]
    prefs = addon.preferences
    check(prefs is not None and hasattr(prefs, "tracker_command"),
          "preferences registered under the add-on's own module name", module)
    check(hasattr(bpy.types, "VIEW3D_PT_vstream_tracker"), "Tracker sub-panel registered")
    check(prefs.launch_tracker is False and prefs.tracker_source == "0" and prefs.tracker_command == "",
          "defaults: no launch, webcam 0, command from PATH")

    face = common.build_face_mesh(SHAPE_KEYS)
    settings = bpy.context.scene.vstream
    port = common.free_port()
    settings.mesh, settings.port = face, port
    prefs.tracker_command = ARGS.tracker
    prefs.tracker_source = ARGS.video
    prefs.tracker_options = "--no-preview --max-frames 1000"
    prefs.launch_tracker = True
    info = {"module": module}
    globals()["run_" + ARGS.mode](check, ops, launch, prefs, settings, face, port, info)
    return info


def start_and_wait_for_frames(check, ops, launch, face, port, info):
    check(bpy.ops.vstream.start() == {'FINISHED'}, "Start")
    process = launch.launched.process
    check(process is not None and process.poll() is None, "Start launched the tracker", ops.state.error)
    check("--port" in process.argv and process.argv[process.argv.index("--port") + 1] == str(port),
          "tracker sends to the panel's port", process.argv)
    check("--exit-with-stdin" in process.argv, "tracker told to exit with its stdin")
    check(not common.port_is_free(port), "the port was opened first")
    session = ops.state.session
    started = time.monotonic()
    common.tick_until(ops, lambda: session.receiver.accepted_total > 0 or process.poll() is not None,
                      "the first frame from the launched tracker", timeout=120, step=0.02)
    check(session.receiver.accepted_total > 0, "frames from the launched tracker arrive", process.output())
    info["first_frame_s"] = round(time.monotonic() - started, 2)
    keys = face.data.shape_keys.key_blocks
    seen = set()

    def moved():
        seen.add(tuple(round(keys[n].value, 4) for n in SHAPE_KEYS))
        return len(seen) >= 8
    common.tick_until(ops, moved, "the shape keys to move", timeout=60, step=0.02)
    check(len(seen) >= 8, "shape keys move with the launched tracker's frames")
    info["frames"] = session.receiver.accepted_total
    return process


def bind_udp(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    return sock


def run_live(check, ops, launch, prefs, settings, face, port, info):
    process = start_and_wait_for_frames(check, ops, launch, face, port, info)
    pid = process.pid
    t = time.monotonic()
    check(bpy.ops.vstream.stop() == {'FINISHED'}, "Stop")
    info["stop_s"] = round(time.monotonic() - t, 3)
    check(launch.launched.process is None and ops.state.session is None, "Stop ends session and tracker")
    check(common.pid_gone(pid), "Stop: the tracker's pid is gone", pid)
    check(process.proc.returncode == 0, "the tracker stopped cleanly (exit 0)", process.output()[-5:])
    check(any("frames" in line for line in process.output()), "its summary line was read",
          process.output()[-5:])
    check(common.port_is_free(port), "Stop closes the socket")

    # Loading another file ends it (load_pre), as does disabling the add-on.
    check(bpy.ops.vstream.start() == {'FINISHED'}, "Start before loading a file")
    pid = launch.launched.process.pid
    path = os.path.join(tempfile.mkdtemp(), "saved.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.open_mainfile(filepath=path)
    check(ops.state.session is None and common.pid_gone(pid), "loading a file ends the tracker", pid)

    check(bpy.ops.vstream.start() == {'FINISHED'}, "Start before disabling the add-on")
    pid = launch.launched.process.pid
    common.disable(info["module"])
    check(common.pid_gone(pid), "disabling the add-on ends the tracker", pid)
    check(common.port_is_free(port), "disabling the add-on closes the socket")


def wait_for_exit_error(check, ops, launch, what, timeout=120):
    process = launch.launched.process
    check(process is not None, "%s: Start launched it" % what)
    common.tick_until(ops, lambda: launch.launched.process is None, "the tracker to exit (%s)" % what,
                      timeout=timeout, step=0.02)
    check(common.pid_gone(process.pid), "%s: nothing left running" % what, process.pid)
    check(process.proc.returncode == 1, "%s: tracker exit code 1" % what, process.output())
    return ops.state.error


def run_errors(check, ops, launch, prefs, settings, face, port, info):
    # A video file that does not exist: the tracker's own line, in the panel.
    prefs.tracker_source = os.path.join(tempfile.mkdtemp(), "missing.mp4")
    check(bpy.ops.vstream.start() == {'FINISHED'}, "Start with a missing file")
    error = wait_for_exit_error(check, ops, launch, "missing file")
    check(error.startswith("Tracker exited (code 1): no such file: ") and "missing.mp4" in error,
          "missing file: the tracker's error line is the panel's error", error)
    info["missing_file_error"] = error
    check(bpy.ops.vstream.stop() == {'FINISHED'}, "Stop after the tracker failed")

    # A camera that is not there.
    prefs.tracker_source = "57"
    check(bpy.ops.vstream.start() == {'FINISHED'}, "Start with a missing camera")
    error = wait_for_exit_error(check, ops, launch, "missing camera")
    check("cannot open camera 57" in error, "missing camera: the reason is the panel's error", error)
    info["camera_error"] = error

    # Launch Tracker in the panel retries in the open session.
    prefs.tracker_source = ARGS.video
    check(bpy.ops.vstream.launch_tracker() == {'FINISHED'} and ops.state.error == "",
          "Launch Tracker retries without a new Start")
    pid = launch.launched.process.pid
    check(bpy.ops.vstream.stop() == {'FINISHED'} and common.pid_gone(pid), "Stop ends the retried tracker")

    # The tracker's listen port taken: it exits at once with its own message.
    blocker = bind_udp(common.free_port())
    prefs.tracker_options = "--no-preview --listen-port %d" % blocker.getsockname()[1]
    check(bpy.ops.vstream.start() == {'FINISHED'}, "Start with the tracker's listen port taken")
    error = wait_for_exit_error(check, ops, launch, "listen port in use")
    check("already in use" in error, "listen port in use: the reason is the panel's error", error)
    blocker.close()
    check(bpy.ops.vstream.stop() == {'FINISHED'}, "Stop")
    prefs.tracker_options = "--no-preview"

    # Problems found before anything runs: Start refuses and leaves the port closed.
    for command, options, want, name in (
            (os.path.join(tempfile.mkdtemp(), "no-such-tracker"), "", "Cannot run the tracker command",
             "missing command"),
            (ARGS.tracker, "--port 9999", "remove --port", "--port in the extra options"),
            (ARGS.tracker, "--out 'unclosed", "check the quotes", "unbalanced quotes")):
        prefs.tracker_command, prefs.tracker_options = command, options
        message = start_error(check, ops, name)
        check(want in message, "%s: clear error" % name, message)
        check(want in ops.state.error, "%s: shown in the panel" % name, ops.state.error)
        check(ops.state.session is None and launch.launched.process is None
              and common.port_is_free(port), "%s: nothing half-started" % name)
    prefs.tracker_command, prefs.tracker_options = ARGS.tracker, "--no-preview"

    # Blender's own port busy: the clear port message, and no tracker launched.
    blocker = bind_udp(port)
    message = start_error(check, ops, "busy port")
    check("Port %d is already in use" % port in message, "busy port: clear error", message)
    check(launch.launched.process is None, "busy port: no tracker launched")
    blocker.close()

    # Launching off: Start only listens, as before.
    prefs.launch_tracker = False
    check(bpy.ops.vstream.start() == {'FINISHED'} and launch.launched.process is None,
          "launch off: Start only opens the port")
    check(bpy.ops.vstream.stop() == {'FINISHED'}, "Stop")


def run_kill(check, ops, launch, prefs, settings, face, port, info):
    # The whole clip (53 s in real time): a tracker that ignored its parent's
    # death would still be playing it when the test gives up waiting.
    prefs.tracker_options = "--no-preview"
    process = start_and_wait_for_frames(check, ops, launch, face, port, info)
    common.announce_and_tick_until_killed(ops, process.pid)


if __name__ == "__main__":
    ARGS = parse_args()
    common.run_installed(ARGS.kind, ARGS.zip, scenario)
