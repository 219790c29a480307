"""Reliability of the installed add-on, each part in its own process:
tests/blender/scripts/scenario_reliability.py does the work and reports named
checks; these tests demand the ones that matter. Every part runs in the
Blender 5.0 and 4.5 LTS modules; lifecycle, the 10-minute take and take
import in the 3.4 executable too.
"""

import os
import re

import pytest

from blenders import BLENDER34, BPY_MODULES, run_in_blender, run_in_gui

# What Blender or Python print when something went wrong behind the caller's back
# (handlers, timers, unregister). Busy-port reports are expected and go to stdout.
ERROR_LOOKING = re.compile(r"traceback|exception|error|warning|fail", re.I)
# Blender 3.4 reports path remapping on Save As ("... | Failed 0").
EXPECTED = re.compile(r"^((Error: )?Port \d+ is already in use by another program|RESULT "
                      r"|Info: Total files \d+ \| Changed \d+ \| Failed 0$)")


def run_part(target, part, zips, home, timeout=600, extra=()):
    """Run one part in one Blender; return (RESULT dict, stdout, stderr)."""
    result, proc = run_in_blender(target, "scenario_reliability.py",
                                  ["--zip", zips["legacy"], "--part", part, *extra], home, timeout)
    return result, proc.stdout, proc.stderr


@pytest.mark.parametrize("target", BPY_MODULES)
def test_fuzzed_datagrams_over_udp_are_all_counted(target, zips, tmp_path):
    """100,000 random and mutated datagrams: no exception, every one accepted or rejected for its reason."""
    result, _, _ = run_part(target, "fuzz", zips, tmp_path)
    for name in ("kernel dropped nothing", "accepted + rejected == sent",
                 "every datagram counted under the right reason",
                 "fuzz covers size", "fuzz covers magic", "fuzz covers version",
                 "fuzz covers non-finite", "fuzz covers accepted",
                 "shape keys stay in 0..1", "head rotation finite", "port free after fuzz"):
        assert name in result["passed"], name
    assert result["sent"] == 100000
    assert sum(result["counted"].values()) == 100000


@pytest.mark.parametrize("target", BPY_MODULES + (BLENDER34,))
def test_lifecycle_busy_port_restarts_file_changes_and_disable(target, zips, tmp_path):
    """Busy port, 100 Start/Stop cycles, new/open/revert file and disable while running, listen address."""
    result, stdout, stderr = run_part(target, "lifecycle", zips, tmp_path)
    for name in ("binds 127.0.0.1 by default", "binds 0.0.0.0 when Listen on all interfaces is on",
                 "LAN listening is off by default",
                 "busy port gives the clear message", "nothing half-started",
                 "failed start leaves no socket open", "busy port on the LAN option too",
                 "100 start/stop cycles leak no socket", "port re-bindable after 100 cycles",
                 "disabling the add-on closes the socket", "disabling leaves no socket open",
                 "disabling ends the session", "Esc bound to Stop in the add-on key maps",
                 "disabling removes the Esc key map items"):
        assert name in result["passed"], name
    for what in ("read_homefile", "open_mainfile", "revert_mainfile"):
        for check in ("%s stops the session", "%s closes the socket", "%s leaves no socket open"):
            assert check % what in result["passed"], check % what
    noisy = [line for line in (stderr + stdout).splitlines() 
             if ERROR_LOOKING.search(line) and not EXPECTED.match(line)]
    assert not noisy, "\n".join(noisy)


@pytest.mark.parametrize("target", BPY_MODULES + (BLENDER34,))
def test_ten_minute_take_at_60fps_keys_every_frame(target, zips, tmp_path):
    """36,000 frames of 52 channels + head through UDP, Record, and the real bake: nothing lost.
    Blender 3.4 here runs on a system Python without numpy: the plain-Python bake path."""
    result, _, _ = run_part(target, "long_take", zips, tmp_path)
    for name in ("all 36000 frames recorded", "every frame keyed, none merged", "one curve per ARKit channel",
                 "52 curves x 36000 keys on frames 1..36000 with the sent values",
                 "head: 4 curves x 36000 keys", "playback matches a sent frame"):
        assert name in result["passed"], name


@pytest.mark.parametrize("target", BPY_MODULES + (BLENDER34,))
def test_import_take_from_the_tracker_and_corrupt_takes(target, zips, tmp_path):
    """A take written by vstream-tracker --out bakes through the Record path; bad files name their line."""
    from conftest import data, run_tracker
    take_path = tmp_path / "T.jsonl"
    proc = run_tracker("--source", data("video", "single_face.mp4"), "--out", take_path)
    assert proc.returncode == 0, proc.stderr
    lines = take_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 20

    corrupt = []

    def bad(name, body, line):
        path = tmp_path / name
        path.write_text("\n".join(body) + "\n", encoding="utf-8")
        corrupt.append("%s:%d" % (path, line))

    bad("truncated.jsonl", lines[:4] + [lines[4][:40]] + lines[5:10], 5)
    bad("nan.jsonl", lines[:7] + [lines[7].replace('"t":', '"t":NaN,"x":', 1)] + lines[8:], 8)
    bad("not_a_take.jsonl", ['{"hello": 1}'] + lines[1:], 1)
    bad("list_header.jsonl", ["[1, 2]"] + lines[1:], 1)
    bad("bad_quat.jsonl", lines[:3] + [lines[3].replace('"quat":[', '"quat":[1,', 1)] + lines[4:], 4)
    result, _, stderr = run_part(target, "import_take", zips, tmp_path / "home",
                                 extra=["--take", str(take_path), "--corrupt", *corrupt])
    for name in ("import take", "take imported as a take's Actions", "Action remembers the take file",
                 "every record received, every face frame keyed or merged", "face Action assigned",
                 "panel reports the imported take", "importing again makes take 002",
                 "jawOpen keyed at the records' times", "jawOpen keys hold the take's weights",
                 "browInnerUp keys hold the take's weights"):
        assert name in result["passed"], name
    for entry in corrupt:
        base = os.path.basename(entry.rsplit(":", 1)[0])
        assert "bad take reports its line (%s)" % base in result["passed"], base
        assert "bad take creates no Action (%s)" % base in result["passed"], base
    assert "Traceback" not in stderr, stderr


def test_gui_panel_shows_the_lan_warning_and_import_button(zips, tmp_path):
    """GUI Blender 3.4 under Xvfb: the panel draws (idle, LAN warning, listening on the LAN) without errors."""
    from conftest import free_udp_port
    result, proc, out = run_in_gui("gui_panel_lan.py", ["--zip", zips["legacy"], "--port", str(free_udp_port())],
                                   tmp_path, timeout=150)
    for name in ("panel drawn (idle)", "panel drawn with the LAN warning", "listening on all interfaces",
                 "panel drawn while listening on the LAN", "every draw returned",
                 "the typed port stays when the source changes", "VMC frames arrive in GUI Blender",
                 "panel drawn while receiving VMC"):
        assert name in result["passed"], name
    assert "Traceback" not in proc.stderr, proc.stderr
    assert (out / "panel_lan.png").exists() and (out / "panel_vmc.png").exists()
