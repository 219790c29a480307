"""Scene settings, the VStream sidebar panel, and register/unregister of everything."""

import bpy

from ..core import quaternions as apply
from ..shared import arkit, protocol
from . import props as live_ui, mesh_mapping as mapping_ui, operators, recording_settings, sidebar, tracker_launch
from .operators import state
from .sidebar import SidebarPanel, label_wrapped


def _is_armature(_self, obj):
    return obj.type == 'ARMATURE'


def _armature_changed(self, _context):
    # A bone name left over from another armature would silently drive nothing,
    # so pick this armature's head bone when the name does not fit.
    if self.armature is not None and self.head_bone not in self.armature.data.bones:
        self.head_bone = _guess_head_bone(self.armature)


def _guess_head_bone(armature_obj):
    bones = armature_obj.data.bones
    for bone in bones:
        if bone.name.lower() == "head":
            return bone.name
    for bone in bones:
        if "head" in bone.name.lower() and "end" not in bone.name.lower():
            return bone.name
    return ""


class VStreamSettings(bpy.types.PropertyGroup):
    mesh: bpy.props.PointerProperty(
        name="Face Mesh", type=bpy.types.Object, poll=live_ui.is_mesh,
        description="Mesh whose ARKit-named shape keys are driven (names match in any case)")
    # More meshes of a face split over several objects (teeth, brows...);
    # live.target_meshes lists `mesh` first, then these.
    meshes: bpy.props.CollectionProperty(type=live_ui.VStreamMeshSlot)
    mesh_index: bpy.props.IntProperty(default=0)
    live: bpy.props.PointerProperty(type=live_ui.VStreamLiveOptions)
    armature: bpy.props.PointerProperty(
        name="Armature", type=bpy.types.Object, poll=_is_armature, update=_armature_changed,
        description="Armature holding the head bone")
    head_bone: bpy.props.StringProperty(
        name="Head Bone", description="Bone that turns with the head")
    port: bpy.props.IntProperty(
        name="Port", default=protocol.DEFAULT_PORT, min=1024, max=65535,
        description="Local UDP port the tracker sends to (vstream-tracker --port)")
    listen_all: bpy.props.BoolProperty(
        name="Listen on all interfaces (LAN)", default=False,
        description="Accept frames from other computers (tracker on another machine). "
                    "Off: only this computer (127.0.0.1) can send")
    recording: bpy.props.PointerProperty(type=recording_settings.VStreamRecordingSettings)


class VIEW3D_PT_vstream(SidebarPanel, bpy.types.Panel):
    bl_label = "VStream Face Capture"
    bl_idname = sidebar.PARENT

    def draw(self, context):
        layout = self.layout
        settings = context.scene.vstream
        session = state.session

        # Labels above the fields: the sidebar is too narrow for split labels.
        col = layout.column(align=True)
        col.label(text="Face mesh (ARKit shape keys):")
        col.prop(settings, "mesh", text="")
        if settings.mesh is not None:
            found = len(apply.matched_names(settings.mesh))
            row = col.row()
            row.alert = found == 0
            row.label(text="%d/%d ARKit shape keys" % (found, arkit.NUM_CHANNELS), icon='SHAPEKEY_DATA')
        col.label(text="More face meshes:")
        live_ui.draw_meshes(col, settings)
        col = layout.column(align=True)
        col.label(text="Armature and head bone:")
        col.prop(settings, "armature", text="")
        if settings.armature is not None:
            col.prop_search(settings, "head_bone", settings.armature.data, "bones", text="", icon='BONE_DATA')

        layout.separator()
        row = layout.row(align=True)
        row.enabled = session is None
        row.prop(settings, "port")
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
        col.label(text="Port %d: %s" % (session.port, status["rate"]), icon='URL')
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


# The recording options' group before the settings that point to it, its
# sub-panel after its parent panel.
CLASSES = (recording_settings.VStreamRecordingSettings, VStreamSettings, VIEW3D_PT_vstream,
           recording_settings.VIEW3D_PT_vstream_recording)


def register():
    live_ui.register_types()  # VStreamSettings points at them
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.vstream = bpy.props.PointerProperty(type=VStreamSettings)
    operators.register()
    live_ui.register()      # sub-panels after their parent panel
    mapping_ui.register()
    tracker_launch.register()


def unregister():
    tracker_launch.unregister()
    mapping_ui.unregister()
    live_ui.unregister()
    operators.unregister()
    del bpy.types.Scene.vstream
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
    live_ui.unregister_types()
