"""`vstream-tracker --exit-with-stdin` (this worktree's code, run as `python -m tracker_service`)
stops when its stdin closes: how the tracker Blender launches never outlives Blender."""

import subprocess
import sys

from conftest import ROOT, data, free_udp_port, wait_for

# This worktree's tracker (the venv's console script may run another checkout's code).
TRACKER_ARGV = [sys.executable, "-m", "tracker_service"]


def clip():
    return data("video", "webcam_cap12.mp4")


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


