"""The per-platform extension's own tracker in Blender 5.0 and 4.5 (bpy modules, Python 3.11):
the linux-x64 zip installed with Blender's operator, Start with nothing set but the source runs
the bundled tracker on Blender's interpreter (tests/blender/scripts/scenario_bundled.py).
The same zip in Debian's GUI Blender 4.3.2 (Python 3.13) is another test (the chroot's)."""

import os
import sys

import pytest

from blenders import BPY_MODULES, SCRIPTS, bpy_python, kill_blender_and_wait_for_tracker, run_in_blender
from conftest import data

# Another tracker command (this worktree's tracker), to check that one set in the preferences wins.
TRACKER_COMMAND = "%s -m tracker_service" % sys.executable


@pytest.mark.parametrize("target", BPY_MODULES)
def test_bpy_start_runs_the_bundled_tracker(target, platform_zips, tmp_path):
    result, _ = run_in_blender(target, "scenario_bundled.py",
                               ["--zip", platform_zips["linux-x64"], "--video", data("video", "webcam_cap12.mp4"),
                                "--tracker", TRACKER_COMMAND], tmp_path, timeout=400)
    for name in ("Blender unpacked the dlib wheel of its own Python (and only that one)",
                 "no numpy wheel: numpy is Blender's own",
                 "defaults: launch on Start, no command, webcam 0, no options",
                 "the panel says the bundled tracker runs",
                 "Start runs the bundled tracker with Blender's own interpreter, isolated",
                 "Stop while it starts: its pid is gone", "bundled tracker: shape keys move",
                 "dlib and OpenCV come from the extension's wheels",
                 "the 68-point model comes from the extension's folder", "numpy is the interpreter's own",
                 "it stopped cleanly (exit 0)", "missing camera: the reason is the panel's error",
                 "missing camera: nothing left running", "a tracker command set in the preferences wins",
                 "removing the extension ends its tracker", "Blender removed the tracker's wheels too"):
        assert name in result["passed"], name
    print(result["parts"])
    print("first frame after Start: %.2f s" % result["first_frame_s"])


def test_bpy_blender_killed_while_the_bundled_tracker_starts_takes_it_along(platform_zips, tmp_path):
    """Blender gone (SIGKILL) while the tracker still imports and loads its model: the pipe on its
    stdin closes and it ends within seconds (cli.watch_stdin), however far it got."""
    cmd = [bpy_python("bpy5.0"), os.path.join(SCRIPTS, "scenario_bundled.py"), "--zip", platform_zips["linux-x64"],
           "--video", data("video", "webcam_cap12.mp4"), "--tracker", TRACKER_COMMAND, "--mode", "kill"]
    _blender, after = kill_blender_and_wait_for_tracker(cmd, tmp_path, gone_within=20)
    print("tracker gone %.2f s after Blender was killed" % after)
