"""The live session against everything that ends the add-on while it runs, in GUI Blenders.

Debian 13's Blender 4.3.2 used to segfault when the extension was removed while Start ran,
installed again and Start pressed (the modal operator's handler outlived its class). Here,
in 4.3.2 (extension) and 3.4 (legacy add-on), each under Xvfb with a real event loop:
Start, Esc over the sidebar; Start, Record with playback, Esc over the viewport; Start, Record, remove (extension) or disable (legacy) while recording, install
or enable again, Start, frames arrive, Stop; Reload Scripts while running; disable and
enable while running; a file load while running; quit while running. After each, the port
is free and the old module's timer is gone, and the next Start receives frames again;
Blender exits with 0 at the end (scripts/gui_session_lifetime.py).
"""

import os
import shutil

from blenders import IN_ROOT_WORK, run_in_blender43_gui, run_in_gui
from conftest import DATA, free_udp_port

CHECKS = (
    "first Start: Start opens a session", "first Start: jawOpen moves with the frames (ticks run)",
    "Esc over the sidebar stops the session and frees the port",
    "Esc over the viewport while Record plays bakes the take and stops playback",
    "removed while recording: the session ended and the port is free",
    "removed while recording: the old module's timer is not ticking",
    "after reinstall: jawOpen moves with the frames (ticks run)", "Stop after reinstall frees the port",
    "Reload Scripts while running: the session ended and the port is free",
    "after Reload Scripts: jawOpen moves with the frames (ticks run)",
    "disabled while running: the session ended and the port is free",
    "after enable: jawOpen moves with the frames (ticks run)",
    "file load while running: the session ended and the port is free",
    "after file load: jawOpen moves with the frames (ticks run)",
)


def check_result(result, proc):
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, "a panel, timer or handler raised:\n" + output[-4000:]
    for name in CHECKS:
        assert name in result["passed"], name
    assert result["info"]["quit_with_session"], result["info"]
    print(result["blender"], result["info"]["cycles"])


def test_blender43_extension_removed_while_running_then_reinstalled(zips, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(zips["extension"], work / os.path.basename(zips["extension"]))
    args = ["--kind", "extension", "--zip", "%s/%s" % (IN_ROOT_WORK, os.path.basename(zips["extension"])),
            "--port", str(free_udp_port())]
    result, proc, _ = run_in_blender43_gui("gui_session_lifetime.py", args, work, DATA, timeout=240)
    assert "removed with Blender's operator while recording" in result["passed"]
    check_result(result, proc)


def test_blender34_legacy_disabled_and_reloaded_while_running(zips, tmp_path):
    args = ["--kind", "legacy", "--zip", zips["legacy"], "--port", str(free_udp_port())]
    result, proc, _ = run_in_gui("gui_session_lifetime.py", args, tmp_path, timeout=240)
    assert "disabled while recording" in result["passed"]
    check_result(result, proc)
