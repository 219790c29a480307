"""Every panel and list of the VStream tab in the 3D View's sidebar.

    VStream Face Capture        meshes, armature, port, Start/Stop/Record, status
      Recording                 Start with Playback, Push to NLA, Reduce Keys
      Head & Smoothing          neck, Move Head, neutral, smoothing
      Shape Key Mapping         the mapping table of the active face mesh
      Tracker                   the tracker Start launches

Blender's labels are cut off at the sidebar's edge, so long messages (errors,
the last take, the tracker's output) are wrapped to the region's width here.
"""

import importlib.util

import bpy

from . import live_apply, mesh_mapping, props, state, tracker_launch
from .addon_name import ADDON
from ..shared import arkit

PARENT = "VIEW3D_PT_vstream"
# Reduce Keys needs numpy, which a Blender built on a system Python may lack.
HAVE_NUMPY = importlib.util.find_spec("numpy") is not None


class SidebarPanel:
    """Mixin: a panel in the 3D View's sidebar, VStream tab."""
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "VStream"


class SubPanel(SidebarPanel):
    """Mixin: a collapsible section under the main VStream panel."""
    bl_parent_id = PARENT


def chars_that_fit(context):
    region = context.region
    scale = context.preferences.system.ui_scale
    if region is None or region.width <= 1:
        return 40
    return max(16, int((region.width - 50 * scale) / (7 * scale)))


def wrap(text, width):
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = (line + " " + word).strip()
    if line:
        lines.append(line)
    return lines


def label_wrapped(layout, context, text, icon='NONE'):
    """`text` as labels that fit the sidebar; the icon on the first line only."""
    for i, line in enumerate(wrap(text, chars_that_fit(context))):
        layout.label(text=line, icon=icon if i == 0 else ('BLANK1' if icon != 'NONE' else 'NONE'))


# -- the main panel ------------------------------------------------------------------

class VSTREAM_UL_meshes(bpy.types.UIList):
    def draw_item(self, _context, layout, _data, item, _icon, _active_data, _active_prop, _index=0, _flt_flag=0):
        layout.prop(item, "object", text="", emboss=True)


def draw_meshes(layout, settings):
    """The extra face meshes list, under the main Face Mesh field."""
    row = layout.row()
    row.template_list("VSTREAM_UL_meshes", "", settings, "meshes", settings, "mesh_index", rows=2)
    col = row.column(align=True)
    col.operator("vstream.mesh_add", icon='ADD', text="")
    col.operator("vstream.mesh_remove", icon='REMOVE', text="")


class VIEW3D_PT_vstream(SidebarPanel, bpy.types.Panel):
    bl_label = "VStream Face Capture"
    bl_idname = PARENT

    def draw(self, context):
        layout = self.layout
        settings = context.scene.vstream
        session = state.session

        # Labels above the fields: the sidebar is too narrow for split labels.
        col = layout.column(align=True)
        col.label(text="Face mesh (ARKit shape keys):")
        col.prop(settings, "mesh", text="")
        if settings.mesh is not None:
            found = len(mesh_mapping.matched_names(settings.mesh))
            row = col.row()
            row.alert = found == 0
            row.label(text="%d/%d ARKit shape keys" % (found, arkit.NUM_CHANNELS), icon='SHAPEKEY_DATA')
        col.label(text="More face meshes:")
        draw_meshes(col, settings)
        col = layout.column(align=True)
        col.label(text="Armature and head bone:")
        col.prop(settings, "armature", text="")
        if settings.armature is not None:
            col.prop_search(settings, "head_bone", settings.armature.data, "bones", text="", icon='BONE_DATA')

        layout.separator()
        col = layout.column(align=True)
        col.enabled = session is None
        col.prop(settings, "source", text="")
        col.prop(settings, "port")
        row = layout.row()
        row.enabled = session is None
        # The full property name does not fit the sidebar; the tooltip has it.
        row.prop(settings, "listen_all", text="Listen on LAN")
        if settings.listen_all:
            # Frames are not authenticated: anyone on the network can pose the avatar.
            col = layout.column(align=True)
            col.alert = True
            label_wrapped(col, context, "Listening on all interfaces: anyone on the network can send "
                          "frames to this port", 'ERROR')
        col = layout.column(align=True)
        col.scale_y = 1.4
        if session is None:
            col.operator("vstream.start", text="Start", icon='PLAY')
        else:
            col.operator("vstream.stop", text="Stop", icon='PAUSE')
            recording = session.recording
            col.operator("vstream.record", text="Stop Recording" if recording else "Record",
                         icon='REC', depress=recording)
        if session is not None:
            layout.operator("vstream.calibrate", icon='OUTLINER_OB_ARMATURE')
            self._draw_status(layout, session)
        layout.operator("vstream.import_take", text="Import Take...", icon='IMPORT')

        if state.last_take:
            label_wrapped(layout.column(align=True), context, state.last_take, 'ACTION')
        if state.error:
            box = layout.box()
            box.alert = True
            label_wrapped(box.column(align=True), context, state.error, 'ERROR')

    @staticmethod
    def _draw_status(layout, session):
        status = dict(session.status())
        box = layout.box()
        col = box.column(align=True)
        # Two lines: the sidebar is too narrow for the source, the port and the rate on one.
        col.label(text="%s, port %d" % (session.source.name, session.port), icon='URL')
        col.label(text=status["rate"].capitalize())
        col.label(text=status["age"].capitalize())
        if status["face"] is False:
            col.label(text="No face in view", icon='HIDE_ON')
        if status["rejected_total"]:
            col.label(text="Rejected: %d (%s)" % (status["rejected_total"], status["rejected"]),
                      icon='ERROR')
        else:
            col.label(text="Rejected: 0")
        if status["recorded"] is not None:
            col.label(text="Recording: %d frames" % status["recorded"], icon='REC')


# -- sub-panels ----------------------------------------------------------------------

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


class VIEW3D_PT_vstream_head(SubPanel, bpy.types.Panel):
    bl_label = "Head & Smoothing"
    bl_idname = "VIEW3D_PT_vstream_head"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.vstream
        options = settings.live
        col = layout.column(align=True)
        if settings.armature is not None:
            col.label(text="Neck bone (optional):")
            col.prop_search(options, "neck_bone", settings.armature.data, "bones", text="", icon='BONE_DATA')
            sub = col.row()
            sub.enabled = bool(options.neck_bone)
            sub.prop(options, "neck_split", slider=True)
        col.prop(options, "head_location")
        if options.head_location:
            col.prop(options, "location_scale")
            neck, head = live_apply.head_bones(settings, options)
            moved = neck or head
            if moved is not None and moved.bone.use_connect:
                box = col.box()
                box.alert = True
                box.label(text="%s is connected to its parent:" % moved.name, icon='ERROR')
                box.label(text="Blender ignores its location", icon='BLANK1')

        col = layout.column(align=True)
        col.label(text="Neutral:")
        col.prop(options, "calibrate_mode", text="")
        row = col.row(align=True)
        row.operator("vstream.set_neutral_pose", icon='ARMATURE_DATA')
        row.operator("vstream.clear_neutral", text="", icon='X')
        if options.neutral_weights:
            col.label(text="Neutral face kept in Blender", icon='CHECKMARK')

        col = layout.column(align=True)
        col.prop(options, "smooth")
        sub = col.column(align=True)
        sub.enabled = options.smooth
        sub.prop(options, "smooth_min_cutoff")
        sub.prop(options, "smooth_beta")


class VSTREAM_UL_mapping(bpy.types.UIList):
    def draw_item(self, _context, layout, data, item, _icon, _active_data, _active_prop, _index=0, _flt_flag=0):
        keys = data.data.shape_keys if data.type == 'MESH' else None
        # The sidebar is narrow: channel, key and mute here; the rest under the list.
        row = layout.row(align=True)
        split = row.split(factor=0.5, align=True)
        split.label(text=item.channel)
        _key_field(split, item, keys)
        row.prop(item, "mute", text="", icon='HIDE_ON' if item.mute else 'HIDE_OFF', emboss=False)


def _key_field(layout, row, keys, text=""):
    sub = layout.row(align=True)
    # A key the mesh does not have (from a preset) is kept but shown in red.
    sub.alert = bool(row.shape_key) and (keys is None or row.shape_key not in keys.key_blocks)
    if keys is not None:
        sub.prop_search(row, "shape_key", keys, "key_blocks", text=text)
    else:
        sub.prop(row, "shape_key", text=text)


class VIEW3D_PT_vstream_mapping(SubPanel, bpy.types.Panel):
    bl_label = "Shape Key Mapping"
    bl_idname = "VIEW3D_PT_vstream_mapping"

    def draw(self, context):
        layout = self.layout
        obj = mesh_mapping.mapping_object(context)
        if obj is None:
            layout.label(text="Pick a face mesh first", icon='INFO')
            return
        layout.label(text="Mapping of %s:" % obj.name, icon='SHAPEKEY_DATA')
        error = mesh_mapping.mapping_error(obj)
        if error:
            box = layout.box()
            box.alert = True
            box.label(text="Stored mapping ignored:", icon='ERROR')
            box.label(text=error[:120], icon='BLANK1')
        rows = obj.vstream_rows
        if len(rows) == 0:
            found = len(mesh_mapping.matched_names(obj))
            layout.label(text="Automatic: %d keys matched by name" % found)
            layout.operator("vstream.mapping_edit", icon='PRESET')
        else:
            row = layout.row()
            row.template_list("VSTREAM_UL_mapping", "", obj, "vstream_rows", obj, "vstream_row_index", rows=6)
            col = row.column(align=True)
            col.operator("vstream.mapping_row_add", icon='ADD', text="")
            col.operator("vstream.mapping_row_remove", icon='REMOVE', text="")
            if 0 <= obj.vstream_row_index < len(rows):
                row = rows[obj.vstream_row_index]
                col = layout.column(align=True)
                col.prop(row, "channel")
                _key_field(col, row, obj.data.shape_keys, text="Key")
                col.prop(row, "invert")
                col.prop(row, "gain")
                col.prop(row, "offset")
                sub = col.row(align=True)
                sub.prop(row, "clamp_min")
                sub.prop(row, "clamp_max")
            for text in mesh_mapping.problems.get(obj.name, ()):
                layout.label(text=text, icon='ERROR')
            row = layout.row(align=True)
            row.operator("vstream.mapping_edit", text="Refresh", icon='FILE_REFRESH')
            row.operator("vstream.mapping_reset", text="Reset", icon='LOOP_BACK')
        row = layout.row(align=True)
        row.operator("vstream.mapping_load", text="Load...", icon='IMPORT')
        row.operator("vstream.mapping_save", text="Save...", icon='EXPORT')


class VIEW3D_PT_vstream_tracker(SubPanel, bpy.types.Panel):
    bl_label = "Tracker"
    bl_idname = "VIEW3D_PT_vstream_tracker"

    def draw(self, context):
        layout = self.layout
        prefs = props.preferences(context)
        if prefs is None:
            return
        launched = tracker_launch.launched
        process = launched.process
        session = state.session
        col = layout.column()
        col.enabled = session is None
        col.prop(prefs, "launch_tracker", text="Launch Tracker on Start")
        row = layout.row()
        row.enabled = process is None
        row.prop(prefs, "tracker_source", text="Source")
        col = layout.column(align=True)
        text, icon = tracker_launch.describe(prefs)
        label_wrapped(col, context, text, icon)
        if process is not None:
            col.label(text="Running (pid %d)" % process.pid, icon='PLAY')
            label_wrapped(col, context, tracker_launch.shown(process.last_line()))
        elif launched.ended:
            label_wrapped(col, context, launched.ended, 'INFO')
        if session is not None and not tracker_launch.speaks_to(session):
            col.label(text="Start launches the tracker for Source vstream only", icon='INFO')
        elif session is not None and process is None and prefs.launch_tracker:
            layout.operator("vstream.launch_tracker", icon='PLAY')
        layout.operator("preferences.addon_show", text="Tracker Settings",
                        icon='PREFERENCES').module = ADDON
