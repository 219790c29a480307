"""Blender launches the tracker: real tracker processes, real Blender.

- `vstream-tracker --exit-with-stdin` (this worktree's code, run as
  `python -m tracker_service`) stops when its stdin closes.
- vstream_addon/tracker_process.py on its own: command line, bounded output,
  the error line, SIGTERM then SIGKILL.
- Blender 5.0 and 4.5 LTS (bpy modules, every scenario in both: the three
  take about 10 s per Blender): Start launches the tracker on a real clip and
  its frames move the shape keys; Stop, file load and unregister end it; bad
  sources and settings show their reason in the panel's error; Blender killed
  with SIGKILL takes the tracker with it.
- Blender 3.4 GUI under Xvfb: the panel's Start launches it through the modal
  operator (tests/blender_scripts/gui_launch_tracker.py).
"""

import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, data, free_udp_port
from test_addon_bpy import (BPY_MODULES, SCRIPTS, VERSION_PREFIX, bpy_python, clean_env,  # noqa: F401
                            run_in_blender, run_in_gui, zips)  # zips: fixture

sys.path.insert(0, ROOT)
from vstream_addon.core import tracker_process  # noqa: E402  (pure Python, no bpy)
from vstream_addon.core.tracker_process import LaunchError, TrackerProcess, command_line  # noqa: E402

# This worktree's tracker (the venv's console script may run another checkout's code).
TRACKER_ARGV = [sys.executable, "-m", "tracker_service"]
TRACKER_COMMAND = " ".join(shlex.quote(a) for a in TRACKER_ARGV)


def clip():
    return data("video", "webcam_cap12.mp4")


def process_gone(pid):
    """True once `pid` no longer runs. A zombie counts as gone: its parent was
    killed and a container's init may never reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# -- the tracker's --exit-with-stdin -------------------------------------------------

def test_tracker_help_lists_exit_with_stdin():
    proc = subprocess.run(TRACKER_ARGV + ["--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--exit-with-stdin" in proc.stdout


def test_tracker_stops_cleanly_when_stdin_closes(tmp_path):
    out = tmp_path / "take.jsonl"
    proc = subprocess.Popen(
        TRACKER_ARGV + ["--source", clip(), "--port", str(free_udp_port()), "--out", str(out),
                        "--no-preview", "--exit-with-stdin"],
        cwd=ROOT, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Real time: the clip lasts 53 s; stop once some frames are written.
        assert wait_for(lambda: out.exists() and out.stat().st_size > 20000 or proc.poll() is not None, 120)
        assert proc.poll() is None, proc.stderr.read()
        proc.stdin.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err
    assert "standard input closed, stopping" in err
    assert "frames," in err  # the summary: the loop ended normally, files closed
    lines = out.read_text().splitlines()
    assert len(lines) > 2 and lines[-1].endswith("}"), "take ends with a whole record"


def test_a_tracker_stuck_outside_its_frame_loop_still_exits_when_stdin_closes():
    # Stands in for a tracker blocked opening a camera: nothing checks the stop flag.
    script = ("import time\n"
              "from tracker_service.cli import watch_stdin\n"
              "watch_stdin(grace=0.5)\n"
              "print('stuck', flush=True)\n"
              "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "stuck\n"
        proc.stdin.close()
        code = proc.wait(timeout=60)  # far less than the 120 s it would sleep
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0
    assert "standard input closed, stopping" in proc.stderr.read()


def test_tracker_without_the_option_ignores_stdin():
    proc = subprocess.Popen(TRACKER_ARGV + ["--source", clip(), "--no-preview", "--port",
                                            str(free_udp_port()), "--max-frames", "40"],
                            cwd=ROOT, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 0, err
    assert "40 frames" in err and "standard input" not in err


# -- tracker_process without Blender ---------------------------------------------------

def test_command_line_from_preferences(tmp_path):
    assert command_line("/opt/vs/bin/vstream-tracker", "0", "", 11580) == [
        "/opt/vs/bin/vstream-tracker", "--source", "0", "--port", "11580", "--exit-with-stdin"]
    assert command_line("python -m tracker_service", " my clip.mp4 ", "--no-preview --out 'a b.jsonl'",
                        12000) == ["python", "-m", "tracker_service", "--no-preview", "--out", "a b.jsonl",
                                   "--source", "my clip.mp4", "--port", "12000", "--exit-with-stdin"]
    spaced = tmp_path / "my tools" / "vstream-tracker"
    spaced.parent.mkdir()
    spaced.write_text("")
    assert command_line(str(spaced), "0", "", 1)[0] == str(spaced), "a picked file is one argument"
    assert command_line("", "0", "", 1, which=lambda name: "/usr/bin/" + name)[0] == "/usr/bin/vstream-tracker"


@pytest.mark.parametrize("command, source, extra, want", [
    ("", "0", "", "not on PATH"),
    ("x", "0", "--port 1", "remove --port"),
    ("x", "0", "--source=3", "remove --source"),
    ("x", "0", "--exit-with-stdin", "remove --exit-with-stdin"),
    ("'x", "0", "", "Tracker command: No closing quotation"),
    ("x", "0", "--out 'a", "Tracker options: No closing quotation"),
    ("x", "  ", "", "source is empty"),
])
def test_command_line_errors(command, source, extra, want):
    with pytest.raises(LaunchError) as e:
        command_line(command, source, extra, 11580, which=lambda name: None)
    assert want in str(e.value)


def test_missing_program_is_a_launch_error(tmp_path):
    with pytest.raises(LaunchError, match="Cannot run the tracker command .*no-such"):
        TrackerProcess([str(tmp_path / "no-such")])


def test_output_is_bounded_and_the_error_line_is_found():
    script = ("import sys\n"
              "for i in range(5000): print('line', i)\n"
              "print('x' * 100000)\n"
              "print('vstream-tracker: error: cannot open camera 3 (gone)', file=sys.stderr)\n"
              "print('trailing noise')\n"
              "sys.exit(1)\n")
    proc = TrackerProcess([sys.executable, "-c", script])
    assert wait_for(lambda: proc.poll() is not None, 60)
    assert proc.poll() == 1
    lines = proc.output()
    assert len(lines) == tracker_process.OUTPUT_LINES
    assert max(len(line) for line in lines) <= tracker_process.MAX_LINE
    assert proc.line_count > 5000
    assert proc.error_line() == "cannot open camera 3 (gone)"
    assert proc.last_line() == "trailing noise"
    assert proc not in tracker_process._RUNNING


def test_stop_kills_a_child_that_ignores_sigterm_and_stdin():
    script = ("import signal, sys, time\n"
              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "print('ready', flush=True)\n"
              "time.sleep(120)\n")
    proc = TrackerProcess([sys.executable, "-c", script])
    assert wait_for(lambda: proc.last_line() == "ready", 30)
    code = proc.stop(grace=0.5)
    assert code == -signal.SIGKILL
    assert process_gone(proc.pid)


def test_stop_all_ends_every_running_child():
    procs = [TrackerProcess([sys.executable, "-c", "import time; time.sleep(120)"]) for _ in range(2)]
    tracker_process.stop_all()
    assert all(p.proc.returncode is not None and process_gone(p.pid) for p in procs)


# -- Blender 5.0 and 4.5 modules -------------------------------------------------------

def scenario_args(zips, kind, mode):
    return ["--zip", zips[kind], "--kind", kind, "--mode", mode, "--tracker", TRACKER_COMMAND, "--video", clip()]


@pytest.mark.parametrize("target", BPY_MODULES)
def test_bpy_start_launches_tracker_and_stop_ends_it(target, zips, tmp_path):  # noqa: F811
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
def test_bpy_tracker_errors_reach_the_panel(target, zips, tmp_path):  # noqa: F811
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
def test_bpy_killed_blender_takes_the_tracker_with_it(target, zips, tmp_path):  # noqa: F811
    # The Blender process itself, not run_in_blender's `timeout` wrapper: SIGKILL
    # to the wrapper would leave Blender (and so the tracker) running.
    cmd = [bpy_python(target), os.path.join(SCRIPTS, "scenario_launch.py"), *scenario_args(zips, "legacy", "kill")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=clean_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    pid, blender, seen = None, None, []
    try:
        deadline = time.monotonic() + 240
        while pid is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            seen.append(line)
            if line.startswith("TRACKER_PID "):
                words = line.split(maxsplit=3)  # TRACKER_PID n blender VERSION
                pid, blender = int(words[1]), words[3].strip()
        assert pid is not None, "no TRACKER_PID line:\n" + "".join(seen[-60:])
        assert blender.startswith(VERSION_PREFIX[target]), (target, blender)
        assert not process_gone(pid), "tracker not running before the kill"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        killed = time.monotonic()
        # Generous, yet well short of the 53 s clip the tracker is playing in real
        # time: only its parent's death can end it this soon.
        assert wait_for(lambda: process_gone(pid), 30), "tracker %d still runs after Blender was killed" % pid
        print("tracker gone %.2f s after Blender was killed" % (time.monotonic() - killed))
    finally:
        if proc.poll() is None:
            proc.kill()
        if pid is not None and not process_gone(pid):
            os.kill(pid, signal.SIGKILL)


# -- Blender 3.4 GUI -------------------------------------------------------------------

def test_gui_start_in_panel_launches_the_tracker(zips, tmp_path):  # noqa: F811
    result, proc, out = run_in_gui("gui_launch_tracker.py", [
        "--zip", zips["legacy"], "--port", str(free_udp_port()), "--tracker", TRACKER_COMMAND, "--video", clip()],
        tmp_path)
    assert "Traceback" not in proc.stdout + proc.stderr, "a panel or handler raised:\n" + proc.stderr[-4000:]
    for name in ("Start from the panel runs the modal operator", "Start launched the tracker",
                 "jawOpen moves over time (modal ticks applied the launched tracker's frames)",
                 "Stop ends the tracker (pid gone)", "early exit: the tracker's error in the panel"):
        assert name in result["passed"], name
    # The script quit Blender with a tracker running the 53 s clip: it must not outlive Blender.
    quit_pid = result["info"]["quit_pid"]
    assert wait_for(lambda: process_gone(quit_pid), 30), "tracker %d outlived Blender" % quit_pid
    print("screenshots:", out, result["info"])
