"""Every property the add-on stores: the scene settings (scene.vstream and the groups
under it), the mapping table's rows (obj.vstream_rows) and the add-on preferences.

    scene.vstream               VStreamSettings: face meshes, armature, source, port, LAN
      .meshes[]                 VStreamMeshSlot: more meshes of a split face
      .live                     VStreamLiveOptions: neck, Move Head, neutral, smoothing
      .recording                VStreamRecordingSettings: options of Record and Import Take
    obj.vstream_rows[]          VStreamMappingRow: the Shape Key Mapping table
    preferences                 VStreamPreferences: how Start launches the tracker
"""


import bpy

from . import mesh_mapping, tracker_launch
from .addon_name import ADDON
from ..core import bundled_tracker, neutral, quaternions, sources


def is_mesh(_self, obj):
    """Poll of the properties that point at a face mesh."""
    return obj.type == 'MESH'


def _is_armature(_self, obj):
    return obj.type == 'ARMATURE'


def _armature_changed(self, _context):
    # A bone name left over from another armature would silently drive nothing,
    # so pick this armature's head bone when the name does not fit.
    if self.armature is not None and self.head_bone not in self.armature.data.bones:
        self.head_bone = _guess_head_bone(self.armature)


SOURCE_ITEMS = [(s.key, s.name, "%s, UDP %d by default. Sender: %s" % (s.name, s.default_port, s.sender))
                for s in sources.SOURCES]


def _source_changed(self, _context):
    # Each protocol has its own usual port; a port the user typed stays (sources.port_for).
    self.port = sources.port_for(sources.by_key(self.source), self.port)


def _guess_head_bone(armature_obj):
    bones = armature_obj.data.bones
    for bone in bones:
        if bone.name.lower() == "head":
            return bone.name
    for bone in bones:
        if "head" in bone.name.lower() and "end" not in bone.name.lower():
            return bone.name
    return ""


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
        items=((neutral.CALIBRATE_AUTO, "Auto", "The sender's frames say whether it calibrates itself "
                "(vstream's tracker does); otherwise Calibrate captures the neutral here"),
               (neutral.CALIBRATE_SENDER, "Sender", "Calibrate only asks the sender to recalibrate"),
               (neutral.CALIBRATE_ADDON, "Blender", "Calibrate captures the current face as neutral here, "
                "for senders that stream raw weights")),
        default=neutral.CALIBRATE_AUTO,
        description="Who measures the neutral face when you press Calibrate")
    neutral_weights: bpy.props.StringProperty(
        name="Neutral Weights", options={'HIDDEN'},
        description="The add-on's neutral face, 52 weights as JSON (empty: none)")
    neutral_rotation: bpy.props.FloatVectorProperty(
        name="Neutral Head Rotation", size=4, default=quaternions.IDENTITY, subtype='QUATERNION',
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


class VStreamSettings(bpy.types.PropertyGroup):
    mesh: bpy.props.PointerProperty(
        name="Face Mesh", type=bpy.types.Object, poll=is_mesh,
        description="Mesh whose ARKit-named shape keys are driven (names match in any case)")
    # More meshes of a face split over several objects (teeth, brows...);
    # live_apply.target_meshes lists `mesh` first, then these.
    meshes: bpy.props.CollectionProperty(type=VStreamMeshSlot)
    mesh_index: bpy.props.IntProperty(default=0)
    live: bpy.props.PointerProperty(type=VStreamLiveOptions)
    armature: bpy.props.PointerProperty(
        name="Armature", type=bpy.types.Object, poll=_is_armature, update=_armature_changed,
        description="Armature holding the head bone")
    head_bone: bpy.props.StringProperty(
        name="Head Bone", description="Bone that turns with the head")
    source: bpy.props.EnumProperty(
        name="Source", items=SOURCE_ITEMS, default=sources.DEFAULT.key, update=_source_changed,
        description="The program sending the face: one at a time, each in its own protocol")
    port: bpy.props.IntProperty(
        name="Port", default=sources.DEFAULT.default_port, min=1024, max=65535,
        description="Local UDP port the source sends to (picking a source sets its usual port)")
    listen_all: bpy.props.BoolProperty(
        name="Listen on all interfaces (LAN)", default=False,
        description="Accept frames from other computers (tracker on another machine). "
                    "Off: only this computer (127.0.0.1) can send")
    recording: bpy.props.PointerProperty(type=VStreamRecordingSettings)


_row_changed = mesh_mapping.row_changed


class VStreamMappingRow(bpy.types.PropertyGroup):
    channel: bpy.props.EnumProperty(name="Channel", items=mesh_mapping.CHANNEL_ITEMS, update=_row_changed,
                                    description="Tracked channel (ARKit) or VRM expression that drives the key")
    shape_key: bpy.props.StringProperty(name="Shape Key", update=_row_changed,
                                        description="Shape key this channel drives (empty: automatic)")
    gain: bpy.props.FloatProperty(name="Gain", default=1.0, soft_min=-2.0, soft_max=4.0, update=_row_changed,
                                  description="Multiplies the channel's 0..1 weight")
    offset: bpy.props.FloatProperty(name="Offset", default=0.0, soft_min=-1.0, soft_max=1.0, update=_row_changed,
                                    description="Added after the gain")
    clamp_min: bpy.props.FloatProperty(name="Min", default=0.0, soft_min=-1.0, soft_max=1.0, update=_row_changed,
                                       description="Lowest value the key gets")
    clamp_max: bpy.props.FloatProperty(name="Max", default=1.0, soft_min=0.0, soft_max=2.0, update=_row_changed,
                                       description="Highest value the key gets")
    invert: bpy.props.BoolProperty(name="Invert", default=False, update=_row_changed,
                                   description="Use 1 - weight (a key that closes as the channel opens)")
    mute: bpy.props.BoolProperty(name="Mute", default=False, update=_row_changed,
                                 description="Do not drive this key at all (keep it for hand animation)")


class VStreamPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON

    # On by default in an extension that carries the tracker: install, press Start.
    launch_tracker: bpy.props.BoolProperty(
        name="Launch tracker on Start", default=bundled_tracker.tracker_dir() is not None,
        description="Start runs the tracker as a child process sending to the panel's port; "
                    "Stop, opening another file and quitting Blender end it")
    tracker_command: bpy.props.StringProperty(
        name="Tracker command", subtype='FILE_PATH', default="",
        description="The vstream-tracker program, e.g. /path/to/vstream/.venv/bin/vstream-tracker "
                    "(arguments allowed, no shell). Empty: the tracker this extension carries, "
                    "else vstream-tracker found on PATH")
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
            text, icon = tracker_launch.describe(self)
            col.label(text="Empty: " + text[0].lower() + text[1:], icon=icon)
        col.prop(self, "tracker_source")
        col.prop(self, "tracker_options")
        col.label(text="The tracker sends to the port set in the VStream panel; its errors show "
                       "there.", icon='INFO')


def preferences(context=None):
    """This add-on's preferences, or None while it is not enabled."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON)
    return addon.preferences if addon is not None else None
