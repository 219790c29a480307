"""Running the add-on's scenarios in real Blenders: the helpers every test in this folder uses.

Blenders tested: 5.0 and 4.5 LTS as Python modules (bpy 5.0.1 in .venv, bpy
4.5.3 in .venv-bpy45; both made by scripts/setup.sh), the 3.4 executable, and
Debian 13's GUI Blender 4.3.2 in its own root (.blender43/, made by
scripts/setup_blender43.sh: its sys.executable is the system's Python 3.13).
Each scenario runs in its own process with its own temporary HOME, because
installing an add-on writes user preferences and the bpy module can hang at
exit while classes are still registered (the scripts disable the add-on
before they exit; a hang fails the test at its timeout). Scenarios print
`RESULT {json}` and exit 0 only if every check inside passed; the checks
themselves live in tests/blender/scripts/.
"""

import json
import os
import queue
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, process_gone, wait_for

SCRIPTS = os.path.join(ROOT, "tests", "blender", "scripts")

# Blender as a Python module: the ids tests are parametrized with.
BPY_MODULES = ("bpy5.0", "bpy4.5")
BLENDER34 = "blender3.4"
BLENDER43 = "blender4.3"
VERSION_PREFIX = {"bpy5.0": "5.0.", "bpy4.5": "4.5.", BLENDER34: "3.4.", BLENDER43: "4.3."}
# Debian 13's root with Blender 4.3.2, and where a run's files appear inside it.
BLENDER43_ROOT = os.environ.get("VSTREAM_BLENDER43_ROOT") or os.path.join(ROOT, ".blender43")
IN_ROOT_WORK = "/mnt/vstream-work"   # the run's folder (read-write): scripts, zips, HOME, --out
IN_ROOT_DATA = "/mnt/vstream-data"   # ../shared/data, read-only (never copied)


def blender_executable():
    path = os.environ.get("VSTREAM_BLENDER") or shutil.which("blender")
    if not path:
        pytest.fail("Blender executable not found (install it with scripts/setup.sh, "
                    "or set VSTREAM_BLENDER): the Blender 3.4 tests cannot run")
    return path


def bpy_python(target):
    """The Python interpreter whose bpy module is the Blender `target` names."""
    if target == "bpy5.0":
        return sys.executable  # the test runner's own .venv (requirements.txt)
    if target == "bpy4.5":
        path = os.environ.get("VSTREAM_BPY45_PYTHON") or os.path.join(ROOT, ".venv-bpy45", "bin", "python")
        if not os.path.isfile(path):
            pytest.fail("Blender 4.5 module not found at %s: run `bash scripts/setup.sh --tests` (scripts/test.sh "
                        "does; it makes .venv-bpy45 from requirements-bpy45.txt) or set VSTREAM_BPY45_PYTHON" % path)
        return path
    raise ValueError(target)


def scenario_command(target, script, args, timeout):
    """Command line running a tests/blender/scripts script in the Blender `target` names."""
    script = os.path.join(SCRIPTS, script)
    if target == BLENDER34:
        return ["timeout", str(timeout), blender_executable(), "-b", "--factory-startup",
                "--python-exit-code", "1", "--python", script, "--", *args]
    return ["timeout", str(timeout), bpy_python(target), script, *args]


def run_in_blender(target, script, args, home, timeout=240):
    """Run a scenario script in one Blender; return (its RESULT dict, the finished process)."""
    result, proc = run_scenario_process(scenario_command(target, script, args, timeout), home, timeout + 30)
    assert result["blender"].startswith(VERSION_PREFIX[target]), (target, result["blender"])
    return result, proc


def run_in_gui(script, args, tmp_path, timeout=280):
    """Run a GUI scenario script in Blender 3.4 under Xvfb, with --out (for its
    screenshots and logs) and HOME in `tmp_path`; return (RESULT dict, the
    finished process, the --out folder)."""
    xvfb = shutil.which("xvfb-run")
    if not xvfb:
        pytest.fail("xvfb-run not found (apt-get install xvfb xauth; scripts/setup.sh installs it)")
    out, home = tmp_path / "out", tmp_path / "home"
    out.mkdir()
    home.mkdir()
    cmd = [xvfb, "-a", "-s", "-screen 0 1280x720x24",
           "timeout", str(timeout), blender_executable(), "--factory-startup", "--enable-event-simulate",
           "--python", os.path.join(SCRIPTS, script), "--", "--out", str(out), *args]
    result, proc = run_scenario_process(cmd, home, timeout + 40)
    assert result["blender"].startswith(VERSION_PREFIX[BLENDER34]), result["blender"]
    return result, proc, out


def blender43_root():
    """The Debian 13 root holding Blender 4.3.2, or a failure saying how to make it."""
    if not os.path.isfile(os.path.join(BLENDER43_ROOT, ".vstream-ready")):
        pytest.fail("Debian 13 root with Blender 4.3 not found at %s: run `bash scripts/setup.sh --tests` "
                    "(as root; it calls scripts/setup_blender43.sh) or set VSTREAM_BLENDER43_ROOT" % BLENDER43_ROOT)
    return BLENDER43_ROOT


def in_root_command(argv, work, data_dir, timeout):
    """A command line that runs `argv` inside the Blender 4.3 root with `work` (read-write) at
    IN_ROOT_WORK and `data_dir` (read-only) at IN_ROOT_DATA, killed by `timeout`.

    The mounts live in a mount namespace of their own (unshare): they are never seen outside
    it and vanish with its last process, however the run ends, so nothing is left mounted.
    The environment inside is empty but for HOME and PATH: nothing of the test's
    virtualenvs or the repository is on any path there.
    """
    root = blender43_root()
    for sub in (IN_ROOT_WORK, IN_ROOT_DATA):
        os.makedirs(root + sub, exist_ok=True)
    mounts = ('set -e; mount --rbind /dev "$R/dev"; mount -t proc proc "$R/proc"; '
              'mount --bind "$W" "$R%s"; mount --bind "$D" "$R%s"; mount -o remount,bind,ro "$R%s"; '
              'exec chroot "$R" "$@"' % (IN_ROOT_WORK, IN_ROOT_DATA, IN_ROOT_DATA))
    inner = ["env", "-i", "HOME=%s/home" % IN_ROOT_WORK, "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
             "timeout", str(timeout), *argv]
    return ["unshare", "--mount", "--propagation", "private", "env", "R=" + root, "W=" + str(work),
            "D=" + str(data_dir), "sh", "-c", mounts, "sh", *inner]


def run_in_blender43_gui(script, args, work, data_dir, timeout=300):
    """Run a GUI scenario script in Debian 13's Blender 4.3.2 under Xvfb, inside its own root.

    `work` (a folder outside the repository) must already hold what the scenario needs;
    the scenarios folder is copied into it, HOME is `work`/home and --out `work`/out.
    `args` name files by their path inside the root (IN_ROOT_WORK/..., IN_ROOT_DATA/...).
    Return (RESULT dict, the finished process, the --out folder on this side).
    """
    for sub in ("home", "out"):
        os.makedirs(os.path.join(work, sub), exist_ok=True)
    shutil.copytree(SCRIPTS, os.path.join(work, "scripts"), dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    # 4.3's screen.screenshot reads black from Mesa's llvmpipe here, so the screen is taken
    # from the X server itself: Xvfb keeps its framebuffer in --out as an XWD file
    # (Xvfb_screen0), which the scenario copies to NAME.xwd; they become PNGs below.
    out = IN_ROOT_WORK + "/out"
    argv = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24 -fbdir " + out,  # tall enough for the whole panel
            "blender", "--factory-startup", "--enable-event-simulate",
            "--python", "%s/scripts/%s" % (IN_ROOT_WORK, script), "--", "--out", out, *args]
    cmd = in_root_command(argv, work, data_dir, timeout)
    try:
        result, proc = run_scenario_process(cmd, work, timeout + 60)
    finally:
        xwd_to_png(os.path.join(work, "out"))
    assert result["blender"].startswith(VERSION_PREFIX[BLENDER43]), result["blender"]
    return result, proc, os.path.join(work, "out")


def xwd_to_png(folder):
    """Every NAME.xwd in `folder` (Xvfb's 24-bit framebuffer dumps) written as NAME.png."""
    import cv2
    import numpy as np
    for name in os.listdir(folder):
        if not name.endswith(".xwd"):
            continue
        with open(os.path.join(folder, name), "rb") as f:
            raw = f.read()
        header = struct.unpack(">25I", raw[:100])
        size, width, height = header[0], header[4], header[5]
        bytes_per_line, colormap_entries = header[12], header[19]
        start = size + 12 * colormap_entries
        pixels = np.frombuffer(raw, np.uint8, bytes_per_line * height, start).reshape(height, bytes_per_line)
        bgrx = pixels[:, :width * 4].reshape(height, width, 4)  # 32 bits per pixel, least significant byte first
        cv2.imwrite(os.path.join(folder, name[:-4] + ".png"), bgrx[:, :, :3])


def clean_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_")}
    env["HOME"] = str(home)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_scenario(cmd, home, timeout=240):
    return run_scenario_process(cmd, home, timeout)[0]


def run_scenario_process(cmd, home, timeout=240):
    """Run a Blender scenario script; return (its RESULT dict, the finished process)."""
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=clean_env(home), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail("scenario timed out after %ds: %s\n%s" % (timeout, " ".join(cmd), e.stdout))
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    detail = "exit %d\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
        proc.returncode, proc.stdout[-6000:], proc.stderr[-6000:])
    if cmd[0] == "timeout" and proc.returncode == 124:
        pytest.fail("scenario killed by `timeout %s`%s: %s\n%s" % (
            cmd[1], " after its RESULT line (hung at exit)" if result is not None else "", " ".join(cmd), detail))
    assert result is not None, "no RESULT line\n" + detail
    assert "error" not in result, result["error"] + "\n" + detail
    assert proc.returncode == 0, detail
    return result, proc


def kill_blender_and_wait_for_tracker(cmd, home, gone_within=30):
    """Run a scenario whose kill mode prints `TRACKER_PID n blender VERSION` once its tracker runs,
    SIGKILL that Blender, and assert the tracker ends within `gone_within` seconds.

    `cmd` runs the Blender process itself, not run_in_blender's `timeout` wrapper: SIGKILL to the
    wrapper would leave Blender (and so the tracker) running. Returns (Blender's version string,
    seconds from the kill to the tracker gone)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=clean_env(home),
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
        assert not process_gone(pid), "tracker not running before the kill"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        killed = time.monotonic()
        assert wait_for(lambda: process_gone(pid), gone_within), \
            "tracker %d still runs after Blender was killed" % pid
        return blender, time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
        if pid is not None and not process_gone(pid):
            os.kill(pid, signal.SIGKILL)

