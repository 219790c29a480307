"""The tracker as a child process of Blender: command line, start, watch, stop.

Pure Python (no bpy), so it can be tested on its own. Nothing here blocks
Blender's UI while the tracker runs: its output is read on a background
thread into a bounded buffer, and `poll()` only looks.

The child never outlives Blender: it gets `--exit-with-stdin` and a pipe on
stdin that only this process holds. Stop closes the pipe and sends SIGTERM;
if Blender exits or is killed (even SIGKILL), the operating system closes the
pipe and the tracker stops itself. `stop_all()` runs at interpreter exit too.
"""

import atexit
import collections
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time

DEFAULT_EXECUTABLE = "vstream-tracker"
ERROR_PREFIX = "vstream-tracker: error: "
# Options the add-on sets itself; the same ones in the extra options would
# silently lose to (or fight with) them.
MANAGED_OPTIONS = ("--port", "--source", "--exit-with-stdin")
OUTPUT_LINES = 200       # lines of tracker output kept in memory
MAX_LINE = 4096          # longer lines are cut: a runaway line must not grow the buffer
STOP_GRACE = 2.0         # seconds between SIGTERM and SIGKILL
EXIT_SETTLE = 1.0        # seconds to wait for the last output after the process exited


class LaunchError(RuntimeError):
    """The tracker cannot be started; the message is shown to the user as is."""


def split_command(text):
    """A command or option string as a list of arguments (no shell involved).

    POSIX quoting everywhere but Windows, where backslashes are path
    separators and only double quotes group.
    """
    if os.name == "nt":
        parts = shlex.split(text, posix=False)
        return [p[1:-1] if len(p) >= 2 and p[0] == p[-1] == '"' else p for p in parts]
    return shlex.split(text)


def command_line(command, source, extra, port, which=shutil.which, bundled=None):
    """The argument list that runs the tracker, or LaunchError saying what to fix.

    command: the executable and its own arguments ("" runs `bundled`, the
    tracker a per-platform extension carries, else vstream-tracker found on
    PATH); source: camera index or file; extra: more tracker options; port:
    the UDP port the add-on listens on.
    """
    command = command.strip()
    try:
        # A path picked in the file browser may hold spaces: a file is one argument.
        argv = [command] if os.path.isfile(command) else split_command(command)
    except ValueError as e:
        raise LaunchError("Tracker command: %s (check the quotes)" % e)
    if not argv and bundled:
        argv = list(bundled)
    if not argv:
        found = which(DEFAULT_EXECUTABLE)
        if not found:
            raise LaunchError("No tracker command set and %s is not on PATH: set it in the add-on's "
                              "preferences (Edit > Preferences > Add-ons > VStream), e.g. "
                              "/path/to/vstream/.venv/bin/vstream-tracker" % DEFAULT_EXECUTABLE)
        argv = [found]
    try:
        options = split_command(extra.strip())
    except ValueError as e:
        raise LaunchError("Tracker options: %s (check the quotes)" % e)
    for option in options:
        name = option.split("=", 1)[0]
        if name in MANAGED_OPTIONS:
            raise LaunchError("Tracker options: remove %s; the add-on sets it (Port from the panel, "
                              "Source from the preferences)" % name)
    source = source.strip()
    if not source:
        raise LaunchError("Tracker source is empty: give a camera index (0, 1...) or a video file")
    # The add-on answers to the address the frames come from, so a tracker it launches needs no
    # known listen port: any free one, so that a second Blender's (or a tracker still closing
    # its socket) is no clash. One set in the extra options is kept.
    if not any(option.split("=", 1)[0] == "--listen-port" for option in options):
        options = options + ["--listen-port", "0"]
    return argv + options + ["--source", source, "--port", str(int(port)), "--exit-with-stdin"]


class TrackerProcess:
    """One running tracker: its process, its recent output, how it ended."""

    def __init__(self, argv, cwd=None):
        self.argv = list(argv)
        self.lines = collections.deque(maxlen=OUTPUT_LINES)
        self.line_count = 0  # every line read, including those the buffer dropped
        self._lock = threading.Lock()
        self._exited_at = None
        kwargs = {}
        if os.name == "nt":
            # A console program started from a GUI would open its own console window.
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"  # lines as they happen, not when a pipe buffer fills
        try:
            self.proc = subprocess.Popen(
                self.argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, bufsize=0, **kwargs)
        except OSError as e:
            raise LaunchError("Cannot run the tracker command %s: %s" % (
                self.argv[0], e.strerror or e))
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read, name="vstream-tracker-output", daemon=True)
        self._reader.start()
        _RUNNING.add(self)

    def _read(self):
        stream = self.proc.stdout
        try:
            while True:
                raw = stream.readline(MAX_LINE)
                if not raw:
                    break
                # tqdm-style progress uses \r; keep the newest part of such a line.
                text = raw.decode("utf-8", "replace").rstrip("\r\n").split("\r")[-1].rstrip()
                if text:
                    with self._lock:
                        self.lines.append(text)
                        self.line_count += 1
        except (OSError, ValueError):
            pass
        finally:
            try:
                stream.close()
            except OSError:
                pass

    def output(self):
        with self._lock:
            return list(self.lines)

    def last_line(self):
        with self._lock:
            return self.lines[-1] if self.lines else ""

    def poll(self, clock=time.monotonic):
        """None while running; the exit code once it ended and its output was read.

        Never blocks: after the exit it waits (over later calls) up to
        EXIT_SETTLE seconds for the reader to collect the last lines.
        """
        code = self.proc.poll()
        if code is None:
            return None
        if self._reader.is_alive():
            if self._exited_at is None:
                self._exited_at = clock()
            if clock() - self._exited_at < EXIT_SETTLE:
                return None
        _RUNNING.discard(self)
        return code

    def error_line(self):
        """The line that says why it stopped: the tracker's own error, else its last line."""
        lines = self.output()
        for line in reversed(lines):
            if line.startswith(ERROR_PREFIX):
                return line[len(ERROR_PREFIX):]
        return lines[-1] if lines else ""

    def stop(self, grace=STOP_GRACE):
        """End the tracker: close its stdin, SIGTERM, then kill after `grace` seconds."""
        _RUNNING.discard(self)
        proc = self.proc
        try:
            proc.stdin.close()  # --exit-with-stdin: a clean stop on every platform
        except OSError:
            pass
        if proc.poll() is None and os.name != "nt":
            # On Windows terminate() is a hard kill: let the closed stdin work first.
            try:
                proc.send_signal(signal.SIGTERM)
            except OSError:
                pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass  # the kernel owns it now; it cannot ignore SIGKILL
        self._reader.join(timeout=0.5)
        return proc.returncode


_RUNNING = set()


@atexit.register
def stop_all():
    """Stop every tracker this process started (interpreter exit, add-on unregister)."""
    for tracker in list(_RUNNING):
        tracker.stop()
