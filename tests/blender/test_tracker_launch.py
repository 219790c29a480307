"""Blender launches the tracker: real tracker processes, real Blender (the tracker's
--exit-with-stdin is tests/tracker/test_exit_with_stdin.py, the process class on its
own tests/core/test_tracker_process.py).

- Blender 5.0 and 4.5 LTS (bpy modules, every scenario in both: the three
  take about 10 s per Blender): Start launches the tracker on a real clip and
  its frames move the shape keys; Stop, file load and unregister end it; bad
  sources and settings show their reason in the panel's error; Blender killed
  with SIGKILL takes the tracker with it.
- Blender 3.4 GUI under Xvfb: the panel's Start launches it and the session's
  timer ticks (tests/blender/scripts/gui_launch_tracker.py).
"""

import os
import shlex
import sys

import pytest

from blenders import (BPY_MODULES, SCRIPTS, VERSION_PREFIX, bpy_python, kill_blender_and_wait_for_tracker,
                      run_in_blender, run_in_gui)
from conftest import data, free_udp_port, process_gone, wait_for

# This worktree's tracker (the venv's console script may run another checkout's code).
TRACKER_ARGV = [sys.executable, "-m", "tracker_service"]
TRACKER_COMMAND = " ".join(shlex.quote(a) for a in TRACKER_ARGV)


def clip():
    return data("video", "webcam_cap12.mp4")


# -- Blender 5.0 and 4.5 modules -------------------------------------------------------

def scenario_args(zips, kind, mode):
    return ["--zip", zips[kind], "--kind", kind, "--mode", mode, "--tracker", TRACKER_COMMAND, "--video", clip()]


@pytest.mark.parametrize("target", BPY_MODULES)
def test_bpy_start_launches_tracker_and_stop_ends_it(target, zips, tmp_path):
    result, _ = run_in_blender(target, "scenario_launch.py", scenario_args(zips, "extension", "live"), tmp_path,
                               timeout=300)
    for name in ("add-on imported from the installed zip, not the repository",
                 "preferences registered under the add-on's own module name",
                 "Start launched the tracker", "tracker sends to the panel's port",
                 "shape keys move with the launched tracker's frames", "Stop: the tracker's pid is gone",
                 "the tracker stopped cleanly (exit 0)", "loading a file ends the tracker",
                 "disabling the add-on ends the tracker"):
        assert name in result["passed"], name
    print("first frame after Start: %.2f s; Stop took %.3f s" % (result["first_frame_s"], result["stop_s"]))


@pytest.mark.parametrize("target", BPY_MODULES)
def test_bpy_tracker_errors_reach_the_panel(target, zips, tmp_path):
    result, _ = run_in_blender(target, "scenario_launch.py", scenario_args(zips, "legacy", "errors"), tmp_path,
                               timeout=300)
    for name in ("missing file: the tracker's error line is the panel's error",
                 "missing camera: the reason is the panel's error", "missing file: nothing left running",
                 "listen port in use: the reason is the panel's error",
                 "Launch Tracker retries without a new Start", "missing command: nothing half-started",
                 "--port in the extra options: clear error", "busy port: no tracker launched",
                 "launch off: Start only opens the port"):
        assert name in result["passed"], name
    print(result["missing_file_error"])


@pytest.mark.parametrize("target", BPY_MODULES)
def test_bpy_killed_blender_takes_the_tracker_with_it(target, zips, tmp_path):
    cmd = [bpy_python(target), os.path.join(SCRIPTS, "scenario_launch.py"), *scenario_args(zips, "legacy", "kill")]
    # Generous, yet well short of the 53 s clip the tracker is playing in real
    # time: only its parent's death can end it this soon.
    blender, after = kill_blender_and_wait_for_tracker(cmd, tmp_path, gone_within=30)
    assert blender.startswith(VERSION_PREFIX[target]), (target, blender)
    print("tracker gone %.2f s after Blender was killed" % after)


# -- Blender 3.4 GUI -------------------------------------------------------------------

def test_gui_start_in_panel_launches_the_tracker(zips, tmp_path):
    result, proc, out = run_in_gui("gui_launch_tracker.py", [
        "--zip", zips["legacy"], "--port", str(free_udp_port()), "--tracker", TRACKER_COMMAND, "--video", clip()],
        tmp_path)
    assert "Traceback" not in proc.stdout + proc.stderr, "a panel or handler raised:\n" + proc.stderr[-4000:]
    for name in ("Start from the panel runs the session on its timer", "Start launched the tracker",
                 "jawOpen moves over time (timer ticks applied the launched tracker's frames)",
                 "Stop ends the tracker (pid gone)", "early exit: the tracker's error in the panel"):
        assert name in result["passed"], name
    # The script quit Blender with a tracker running the 53 s clip: it must not outlive Blender.
    quit_pid = result["info"]["quit_pid"]
    assert wait_for(lambda: process_gone(quit_pid), 30), "tracker %d outlived Blender" % quit_pid
    print("screenshots:", out, result["info"])
