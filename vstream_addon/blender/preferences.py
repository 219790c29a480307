"""Add-on preferences: how Start launches the tracker.

bl_idname must be the add-on's module name, which is `vstream_addon` for
the legacy zip and `bl_ext.<repository>.vstream` for the 4.2+ extension:
ADDON, the package above this one, is right in both.
"""

import shutil

import bpy

from ..core import tracker_process

# The add-on's package: this module lives in its `blender` subpackage.
ADDON = __package__.rpartition(".")[0]


class VStreamPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON

    launch_tracker: bpy.props.BoolProperty(
        name="Launch tracker on Start", default=False,
        description="Start runs the tracker as a child process sending to the panel's port; "
                    "Stop, opening another file and quitting Blender end it")
    tracker_command: bpy.props.StringProperty(
        name="Tracker command", subtype='FILE_PATH', default="",
        description="The vstream-tracker program, e.g. /path/to/vstream/.venv/bin/vstream-tracker "
                    "(arguments allowed, no shell). Empty: vstream-tracker found on PATH")
    tracker_source: bpy.props.StringProperty(
        name="Source", subtype='FILE_PATH', default="0",
        description="Webcam index (0, 1...) or a video or image file")
    tracker_options: bpy.props.StringProperty(
        name="Extra options", default="",
        description="More vstream-tracker options, e.g. --no-preview --out /tmp/take.jsonl. "
                    "--port and --source are set by the add-on")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "launch_tracker")
        col = layout.column()
        col.prop(self, "tracker_command")
        if not self.tracker_command.strip():
            found = shutil.which(tracker_process.DEFAULT_EXECUTABLE)
            col.label(text=("Empty: uses %s" % found) if found else
                      "Empty and vstream-tracker is not on PATH: give the full path, "
                      "e.g. .../vstream/.venv/bin/vstream-tracker",
                      icon='INFO' if found else 'ERROR')
        col.prop(self, "tracker_source")
        col.prop(self, "tracker_options")
        col.label(text="The tracker sends to the port set in the VStream panel; its errors show "
                       "there.", icon='INFO')


def get(context=None):
    """This add-on's preferences, or None while it is not enabled."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON)
    return addon.preferences if addon is not None else None


CLASSES = (VStreamPreferences,)
