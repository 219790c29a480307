"""Recording options (scene.vstream.recording) and their sub-panel.

Kept apart from blender_ui.py so the options for takes live in one place:
the PropertyGroup, the panel that draws it, and `bake_options`, which turns
it into Recorder.bake arguments for Record and Import Take alike.
"""

import importlib.util

import bpy

from .sidebar import SubPanel

# Reduce Keys needs numpy, which a Blender built on a system Python may lack.
HAVE_NUMPY = importlib.util.find_spec("numpy") is not None


class VStreamRecordingSettings(bpy.types.PropertyGroup):
    start_playback: bpy.props.BoolProperty(
        name="Start with Playback", default=False,
        description="Record also starts timeline playback, and stopping the recording stops it, "
                    "so the take lines up with the animation you perform to")
    push_to_nla: bpy.props.BoolProperty(
        name="Push to NLA", default=False,
        description="Put each take's Actions on new NLA tracks named after the take and leave the "
                    "active action empty, ready for the next take")
    reduce_keys: bpy.props.BoolProperty(
        name="Reduce Keys", default=False,
        description="Remove keys that straight-line interpolation between the remaining keys "
                    "reproduces within the tolerance")
    reduce_tolerance: bpy.props.FloatProperty(
        name="Tolerance", default=0.005, min=0.0, soft_max=0.05, precision=4, step=0.01,
        description="Largest change Reduce Keys may make to any recorded value, in the curve's own "
                    "unit: shape-key value (0 to 1), bone quaternion component or location (scene units)")


def bake_options(recording):
    """Recorder.bake keyword arguments from the recording settings."""
    return {
        "reduce_tolerance": recording.reduce_tolerance if recording.reduce_keys else None,
        "push_to_nla": recording.push_to_nla,
    }


class VIEW3D_PT_vstream_recording(SubPanel, bpy.types.Panel):
    bl_label = "Recording"
    bl_idname = "VIEW3D_PT_vstream_recording"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        layout = self.layout
        recording = context.scene.vstream.recording
        col = layout.column()
        col.prop(recording, "start_playback")
        col.prop(recording, "push_to_nla")
        col.prop(recording, "reduce_keys")
        row = col.row()
        row.enabled = recording.reduce_keys
        row.prop(recording, "reduce_tolerance")
        if recording.reduce_keys and not HAVE_NUMPY:
            col.label(text="Needs numpy: this Blender has none", icon='ERROR')
        layout.label(text="Takes start at the current frame", icon='TIME')
