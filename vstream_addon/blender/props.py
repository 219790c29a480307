"""Settings and panel parts of live apply: extra face meshes, neck/head, neutral, smoothing.

The PropertyGroups here hang off the scene settings (blender_ui.VStreamSettings):
`settings.meshes` (more face meshes after `settings.mesh`) and `settings.live`
(LiveOptions). register_types() must run before VStreamSettings is registered;
register() adds the operators, lists, sub-panel and handlers.
"""

import bpy
from bpy.app.handlers import persistent

from . import live_apply as live
from ..core import neutral
from .operators import state
from .sidebar import SubPanel


def is_mesh(_self, obj):
    """Poll of the properties that point at a face mesh (here and in blender_ui)."""
    return obj.type == 'MESH'


class VStreamMeshSlot(bpy.types.PropertyGroup):
    object: bpy.props.PointerProperty(
        name="Mesh", type=bpy.types.Object, poll=is_mesh,
        description="Another mesh of the face (teeth, brows, eyelashes...) whose shape keys are driven too")


class VStreamLiveOptions(bpy.types.PropertyGroup):
    neck_bone: bpy.props.StringProperty(
        name="Neck Bone", description="Optional bone that takes part of the head's turn (empty: head only)")
    neck_split: bpy.props.FloatProperty(
        name="Neck Share", default=0.4, min=0.0, max=1.0, subtype='FACTOR',
        description="Fraction of the head rotation put on the neck bone; the head bone turns the rest")
    head_location: bpy.props.BoolProperty(
        name="Move Head", default=False,
        description="Also move the neck (or head) bone with the tracked head position. "
                    "Blender ignores location on a bone connected to its parent")
    location_scale: bpy.props.FloatProperty(
        name="Move Scale", default=1.0, min=0.0, soft_max=10.0,
        description="Scene units per tracked metre")
    calibrate_mode: bpy.props.EnumProperty(
        name="Neutral By",
        items=((live.CALIBRATE_AUTO, "Auto", "The sender's frames say whether it calibrates itself "
                "(vstream's tracker does); otherwise Calibrate captures the neutral here"),
               (live.CALIBRATE_SENDER, "Sender", "Calibrate only asks the sender to recalibrate"),
               (live.CALIBRATE_ADDON, "Blender", "Calibrate captures the current face as neutral here, "
                "for senders that stream raw weights")),
        default=live.CALIBRATE_AUTO,
        description="Who measures the neutral face when you press Calibrate")
    neutral_weights: bpy.props.StringProperty(
        name="Neutral Weights", options={'HIDDEN'},
        description="The add-on's neutral face, 52 weights as JSON (empty: none)")
    neutral_rotation: bpy.props.FloatVectorProperty(
        name="Neutral Head Rotation", size=4, default=neutral.IDENTITY, subtype='QUATERNION',
        description="Incoming head rotation treated as the rest pose")
    neutral_position: bpy.props.FloatVectorProperty(
        name="Neutral Head Position", size=3, default=(0.0, 0.0, 0.0), subtype='TRANSLATION',
        description="Incoming head position treated as the rest position (metres)")
    smooth: bpy.props.BoolProperty(
        name="Smooth", default=False,
        description="One Euro smoothing in Blender, for senders that do not smooth "
                    "(vstream's tracker already does)")
    smooth_min_cutoff: bpy.props.FloatProperty(
        name="Min Cutoff", default=1.0, min=0.01, soft_max=20.0, unit='NONE',
        description="Cutoff in Hz when still: lower holds a resting face steadier but lags more")
    smooth_beta: bpy.props.FloatProperty(
        name="Speed Response", default=0.5, min=0.0, soft_max=10.0,
        description="How fast the cutoff rises with speed (One Euro beta): higher follows quick moves with less lag")


def has_neutral(options):
    return bool(options.neutral_weights) or tuple(options.neutral_rotation) != neutral.IDENTITY \
        or any(options.neutral_position)


# -- operators -------------------------------------------------------------------------

class VSTREAM_OT_mesh_add(bpy.types.Operator):
    """Add a slot for another face mesh (the active mesh if it is not driven yet)"""
    bl_idname = "vstream.mesh_add"
    bl_label = "Add Face Mesh"
    bl_options = {'UNDO'}

    def execute(self, context):
        settings = context.scene.vstream
        slot = settings.meshes.add()
        obj = context.object
        if obj is not None and obj.type == 'MESH' and obj not in live.target_meshes(settings):
            slot.object = obj
        settings.mesh_index = len(settings.meshes) - 1
        return {'FINISHED'}


class VSTREAM_OT_mesh_remove(bpy.types.Operator):
    """Stop driving the selected extra face mesh"""
    bl_idname = "vstream.mesh_remove"
    bl_label = "Remove Face Mesh"
    bl_options = {'UNDO'}

    @classmethod
    def poll(cls, context):
        settings = getattr(context.scene, "vstream", None)
        return settings is not None and 0 <= settings.mesh_index < len(settings.meshes)

    def execute(self, context):
        settings = context.scene.vstream
        settings.meshes.remove(settings.mesh_index)
        settings.mesh_index = min(settings.mesh_index, len(settings.meshes) - 1)
        return {'FINISHED'}


class VSTREAM_OT_set_neutral_pose(bpy.types.Operator):
    """Take the current incoming head rotation and position as the avatar's rest pose"""
    bl_idname = "vstream.set_neutral_pose"
    bl_label = "Set Neutral Pose"
    bl_options = {'UNDO'}

    @classmethod
    def poll(cls, context):
        return state.session is not None and live.driver.session is state.session \
            and live.driver.last_face is not None

    def execute(self, context):
        if not live.driver.capture_head_neutral(context.scene.vstream.live):
            self.report({'WARNING'}, "No face received yet")
            return {'CANCELLED'}
        return {'FINISHED'}


class VSTREAM_OT_clear_neutral(bpy.types.Operator):
    """Forget the neutral face and head pose kept in Blender"""
    bl_idname = "vstream.clear_neutral"
    bl_label = "Clear Neutral"
    bl_options = {'UNDO'}

    @classmethod
    def poll(cls, context):
        settings = getattr(context.scene, "vstream", None)
        return settings is not None and has_neutral(settings.live)

    def execute(self, context):
        live.clear_neutral(context.scene.vstream.live)
        return {'FINISHED'}


# -- panel parts --------------------------------------------------------------------------

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
            neck, head = live.head_bones(settings, options)
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


TYPES = (VStreamMeshSlot, VStreamLiveOptions)
CLASSES = (VSTREAM_OT_mesh_add, VSTREAM_OT_mesh_remove, VSTREAM_OT_set_neutral_pose,
           VSTREAM_OT_clear_neutral, VSTREAM_UL_meshes, VIEW3D_PT_vstream_head)


@persistent
def _forget_plans(*_args):
    # Undo, redo and file load replace Blender data: compiled plans name key
    # blocks by position in data that may no longer be the same.
    live.driver.forget_plans()


_HANDLER_LISTS = ("undo_post", "redo_post", "load_post")


register_types, unregister_types = bpy.utils.register_classes_factory(TYPES)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register():
    _register_classes()
    for name in _HANDLER_LISTS:
        handlers = getattr(bpy.app.handlers, name)
        if _forget_plans not in handlers:
            handlers.append(_forget_plans)


def unregister():
    for name in _HANDLER_LISTS:
        handlers = getattr(bpy.app.handlers, name)
        for handler in list(handlers):
            if handler is _forget_plans or (getattr(handler, "__name__", "") == "_forget_plans"
                                            and getattr(handler, "__module__", "") == __name__):
                handlers.remove(handler)
    _unregister_classes()
    live.driver.reset()
