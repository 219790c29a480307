"""Running the add-on's scenarios in real Blenders: the helpers every test in this folder uses.

Blenders tested: 5.0 and 4.5 LTS as Python modules (bpy 5.0.1 in .venv, bpy
4.5.3 in .venv-bpy45; both made by scripts/setup.sh) and the 3.4 executable.
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
VERSION_PREFIX = {"bpy5.0": "5.0.", "bpy4.5": "4.5.", BLENDER34: "3.4."}


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

