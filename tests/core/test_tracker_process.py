"""core/tracker_process.py on its own: the command line from the preferences, bounded
output, the error line, SIGTERM then SIGKILL."""

import signal
import sys

import pytest

from conftest import process_gone, wait_for
from vstream_addon.core import tracker_process
from vstream_addon.core.tracker_process import LaunchError, TrackerProcess, command_line


def test_command_line_from_preferences(tmp_path):
    assert command_line("/opt/vs/bin/vstream-tracker", "0", "", 11580) == [
        "/opt/vs/bin/vstream-tracker", "--listen-port", "0", "--source", "0", "--port", "11580", "--exit-with-stdin"]
    assert command_line("python -m tracker_service", " my clip.mp4 ", "--no-preview --out 'a b.jsonl'",
                        12000) == ["python", "-m", "tracker_service", "--no-preview", "--out", "a b.jsonl",
                                   "--listen-port", "0",
                                   "--source", "my clip.mp4", "--port", "12000", "--exit-with-stdin"]
    assert command_line("x", "0", "--listen-port=12001", 1).count("--listen-port=12001") == 1
    assert command_line("x", "1", "--listen-port 12001", 1) == [
        "x", "--listen-port", "12001", "--source", "1", "--port", "1", "--exit-with-stdin"], "a set one is kept"
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


