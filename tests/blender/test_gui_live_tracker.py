"""GUI Blender 3.4 under Xvfb: the live session (ticked on its timer) receiving the real tracker.

The tracker (`vstream-tracker`) plays a recorded webcam clip in real time,
sends frames to the add-on over UDP and writes the take file; the Blender
side checks the avatar moves, Record bakes Actions that agree with the take,
Stop/Esc/file load close the socket, and the viewport screenshot is not
blank. Screenshots are left in the test's temporary folder (printed on failure).
"""

import os
import shutil
import subprocess
import sys

import pytest

from blenders import run_in_gui
from conftest import ROOT, build_addon, free_udp_ports

VIDEO = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "video", "webcam_cap12.mp4"))


def tracker_command():
    exe = os.path.join(os.path.dirname(sys.executable), "vstream-tracker")
    if not os.path.exists(exe):
        exe = shutil.which("vstream-tracker")
    if not exe:
        pytest.fail("vstream-tracker is not installed in this environment (run scripts/setup.sh)")
    help_run = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert help_run.returncode == 0, "vstream-tracker --help failed:\n" + help_run.stderr
    return exe


def test_gui_live_session_with_real_tracker(tmp_path):
    if not os.path.exists(VIDEO):
        pytest.fail("test clip missing: %s (shared/ data must sit beside the repository)" % VIDEO)
    tracker = tracker_command()
    zips = build_addon.build(str(tmp_path / "dist"))
    port, listen_port = free_udp_ports(2)
    result, _, out = run_in_gui("gui_live_tracker.py", [
        "--zip", zips["legacy"], "--port", str(port),
        "--tracker", tracker, "--source", VIDEO, "--port", "{port}",
        "--listen-port", str(listen_port), "--out", "{take}", "--no-preview", "--max-frames", "300",
    ], tmp_path)
    for name in ("Start runs the session on its timer", "jawOpen moves over time (timer ticks applied frames)",
                 "head bone turns over time", "weights agree with the take",
                 "head quaternion agrees with the take", "every face frame keyed or counted merged",
                 "Stop closes the socket", "Esc closes the socket", "busy port: clear error",
                 "loading a file closes the socket", "screenshot is not blank"):
        assert name in result["passed"], name
    print("screenshots:", out / "viewport.png", out / "busy_port.png", result["info"])
