"""The tracker launched by Start: glue between the operators, the preferences
and the child process, plus the panel's Tracker section.

operators.py calls three functions: `launch_if_enabled` after Start opened
the port, `check` on every tick (an early exit becomes the panel's error)
and `stop` from stop_session (Stop, Esc, file load, unregister). The process
itself is tracker_process.TrackerProcess.
"""

import bpy

from . import preferences
from ..core import tracker_process
from ..core.tracker_process import LaunchError  # noqa: F401  (operators catch it from here)
from .sidebar import SubPanel, label_wrapped


class _Launched:
    process = None   # TrackerProcess while one runs
    ended = ""       # how the last one ended, for the Tracker section
    shown_lines = 0  # output lines seen by the last check, to redraw on new output


launched = _Launched()


def _abspath(path):
    # Blender-relative paths ("//face.mp4") are relative to the .blend file.
    return bpy.path.abspath(path) if path.startswith("//") else path


def command_for(context, port):
    """The tracker's argument list from the preferences (LaunchError: what to fix)."""
    prefs = preferences.get(context)
    if prefs is None:
        raise LaunchError("VStream preferences are not available (is the add-on enabled?)")
    return tracker_process.command_line(_abspath(prefs.tracker_command), _abspath(prefs.tracker_source),
                                        prefs.tracker_options, port)


def launch(context, port):
    """Start the tracker sending to `port`, replacing any running one."""
    stop()
    launched.process = tracker_process.TrackerProcess(command_for(context, port))
    launched.ended = ""
    launched.shown_lines = 0
    print("vstream: launched tracker (pid %d): %s" % (launched.process.pid,
                                                    " ".join(launched.process.argv)))
    return launched.process


def launch_if_enabled(context, port):
    prefs = preferences.get(context)
    if prefs is None or not prefs.launch_tracker:
        return None
    return launch(context, port)


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
        launched.ended = "Finished: %s" % (_shown(process.last_line()) or "exit 0")
        return True, ""
    how = ("ended by signal %d" % -code) if code < 0 else ("exited (code %d)" % code)
    launched.ended = "Tracker %s" % how  # the reason is in the panel's error line
    error = "Tracker %s: %s" % (how, process.error_line() or "no output")
    print("vstream: %s" % error)
    return True, error


def _shown(line):
    # The sidebar is narrow: the program's name in front of every line says nothing here.
    prefix = tracker_process.DEFAULT_EXECUTABLE + ": "
    return line[len(prefix):] if line.startswith(prefix) else line


class VSTREAM_OT_launch_tracker(bpy.types.Operator):
    """Launch the tracker again with the current preferences, sending to the open port"""
    bl_idname = "vstream.launch_tracker"
    bl_label = "Launch Tracker"

    @classmethod
    def poll(cls, context):
        from . import operators
        return operators.state.session is not None and launched.process is None

    def execute(self, context):
        from . import operators
        try:
            launch(context, operators.state.session.port)
        except LaunchError as e:
            operators.state.error = str(e)
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        operators.state.error = ""
        return {'FINISHED'}


class VIEW3D_PT_vstream_tracker(SubPanel, bpy.types.Panel):
    bl_label = "Tracker"
    bl_idname = "VIEW3D_PT_vstream_tracker"

    def draw(self, context):
        from . import operators
        layout = self.layout
        prefs = preferences.get(context)
        if prefs is None:
            return
        process = launched.process
        session = operators.state.session
        col = layout.column()
        col.enabled = session is None
        col.prop(prefs, "launch_tracker", text="Launch Tracker on Start")
        row = layout.row()
        row.enabled = process is None
        row.prop(prefs, "tracker_source", text="Source")
        col = layout.column(align=True)
        if process is not None:
            col.label(text="Running (pid %d)" % process.pid, icon='PLAY')
            label_wrapped(col, context, _shown(process.last_line()))
        elif launched.ended:
            label_wrapped(col, context, launched.ended, 'INFO')
        if session is not None and process is None and prefs.launch_tracker:
            layout.operator("vstream.launch_tracker", icon='PLAY')
        layout.operator("preferences.addon_show", text="Tracker Settings",
                        icon='PREFERENCES').module = preferences.ADDON


CLASSES = (VSTREAM_OT_launch_tracker, VIEW3D_PT_vstream_tracker)


def register():
    for cls in preferences.CLASSES + CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    stop()
    tracker_process.stop_all()
    for cls in reversed(preferences.CLASSES + CLASSES):
        bpy.utils.unregister_class(cls)
