"""The tracker launched by Start: glue between the add-on's preferences and the child
process (core/tracker_process.TrackerProcess).

The operators call `launch_if_enabled` after Start opened the port, `check` on
every tick (an early exit becomes the panel's error) and `stop` from
stop_session (Stop, Esc, file load, unregister); the Tracker panel shows
`launched`. The preferences are handed in, so this module needs no other part
of the add-on than its name (addon_name.ADDON).
"""

import shutil
import sys

import bpy

from .addon_name import ADDON
from ..core import bundled_tracker, sources, tracker_process
from ..core.tracker_process import LaunchError


class _Launched:
    process = None   # TrackerProcess while one runs
    ended = ""       # how the last one ended, for the Tracker section
    shown_lines = 0  # output lines seen by the last check, to redraw on new output


launched = _Launched()


def _abspath(path):
    # Blender-relative paths ("//face.mp4") are relative to the .blend file.
    return bpy.path.abspath(path) if path.startswith("//") else path


def bundled(unpack=True):
    """(argv, "") of the tracker this extension carries, run with Blender's own Python;
    (None, why not) when it carries one that cannot run here; (None, "") when it carries none.
    unpack=False never writes (bundled_tracker.folders): for the panel's redraws."""
    tracker = bundled_tracker.tracker_dir()
    if tracker is None:
        return None, ""
    site = bundled_tracker.site_packages(bpy.utils.user_resource('EXTENSIONS'))
    # This extension's own folder in Blender's user folders (kept across updates).
    private = bpy.utils.extension_path_user(ADDON, path="python%d.%d" % sys.version_info[:2])
    paths, reason = bundled_tracker.folders(tracker, site, private, unpack=unpack)
    if reason:
        return None, reason
    return bundled_tracker.argv(paths), ""


def describe(prefs):
    """Which tracker Start runs, for the panel: (text, icon). The command set in the
    preferences wins; else the bundled tracker; else vstream-tracker on PATH."""
    command = prefs.tracker_command.strip()
    if command:
        return "Runs your tracker command: %s" % command, 'CONSOLE'
    argv, reason = bundled(unpack=False)
    if argv:
        return "Runs the bundled tracker with Blender's Python %d.%d" % sys.version_info[:2], 'CHECKMARK'
    found = shutil.which(tracker_process.DEFAULT_EXECUTABLE)
    if reason:
        return (reason + (" Meanwhile Start runs %s." % found if found else "")), 'ERROR'
    if found:
        return "Runs %s (found on PATH)" % found, 'CONSOLE'
    return "No tracker: set Tracker command in the add-on's preferences", 'ERROR'


def command_for(prefs, port):
    """The tracker's argument list from the preferences (LaunchError: what to fix)."""
    if prefs is None:
        raise LaunchError("VStream preferences are not available (is the add-on enabled?)")
    argv, reason = None, ""
    if not prefs.tracker_command.strip():
        argv, reason = bundled()
        if reason and not shutil.which(tracker_process.DEFAULT_EXECUTABLE):
            raise LaunchError(reason)
    return tracker_process.command_line(_abspath(prefs.tracker_command), _abspath(prefs.tracker_source),
                                        prefs.tracker_options, port, bundled=argv)


def speaks_to(session):
    """Whether a launched tracker can feed `session`: vstream-tracker sends vstream's own
    protocol, so it is launched for that source and no other."""
    return session.source is sources.DEFAULT


def launch(prefs, port):
    """Start the tracker sending to `port`, replacing any running one."""
    stop()
    launched.process = tracker_process.TrackerProcess(command_for(prefs, port))
    launched.ended = ""
    launched.shown_lines = 0
    print("vstream: launched tracker (pid %d): %s" % (launched.process.pid,
                                                    " ".join(launched.process.argv)))
    return launched.process


def launch_if_enabled(prefs, port):
    if prefs is None or not prefs.launch_tracker:
        return None
    return launch(prefs, port)


def stop():
    """End the launched tracker, if any (waits at most a few seconds)."""
    process, launched.process = launched.process, None
    if process is None:
        return None
    code = process.stop()
    launched.ended = "Stopped"
    return code


def check():
    """Look at the running tracker without blocking: (redraw?, error message or "")."""
    process = launched.process
    if process is None:
        return False, ""
    code = process.poll()
    if code is None:
        count = process.line_count
        changed, launched.shown_lines = count != launched.shown_lines, count
        return changed, ""
    launched.process = None
    if code == 0:
        launched.ended = "Finished: %s" % (shown(process.last_line()) or "exit 0")
        return True, ""
    how = ("ended by signal %d" % -code) if code < 0 else ("exited (code %d)" % code)
    launched.ended = "Tracker %s" % how  # the reason is in the panel's error line
    error = "Tracker %s: %s" % (how, process.error_line() or "no output")
    print("vstream: %s" % error)
    return True, error


def shown(line):
    """A tracker output line as the panel shows it."""
    # The sidebar is narrow: the program's name in front of every line says nothing here.
    prefix = tracker_process.DEFAULT_EXECUTABLE + ": "
    return line[len(prefix):] if line.startswith(prefix) else line
