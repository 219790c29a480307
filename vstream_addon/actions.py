"""Write baked keys into an Action on any Blender from 3.4 to 5.x.

Blender 4.4 introduced slotted (layered) Actions and 5.0 removed the legacy
`Action.fcurves`. Which path to take is decided by what the Action offers,
not by version numbers, so in-between and future versions pick correctly.
"""

import bpy

_ASSIGNED_BY_US = "vstream_take"  # custom property every baked Action carries


def escape(name):
    """Quote a name for use inside a data path: key_blocks["<name>"]."""
    return bpy.utils.escape_identifier(name)


def _linear_value():
    items = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items
    return items["LINEAR"].value


def id_type(target_id):
    """'KEY', 'OBJECT', ... for an ID; ID.id_type only exists since Blender 4.x."""
    value = getattr(target_id, "id_type", None)
    if value:
        return value
    return {"Key": 'KEY', "Object": 'OBJECT'}[target_id.bl_rna.identifier]


def is_slotted(action):
    return hasattr(action, "slots") and hasattr(action, "layers")


class ActionWriter:
    """A new Action (fake user) meant for one ID, filled curve by curve."""

    def __init__(self, name, target_id):
        self.action = bpy.data.actions.new(name)
        self.action.use_fake_user = True
        self.slot = None
        self._channelbag = None
        if is_slotted(self.action):
            self.slot = self.action.slots.new(id_type=id_type(target_id), name=target_id.name)
            layer = self.action.layers.new("Layer")
            strip = layer.strips.new(type='KEYFRAME')
            self._channelbag = strip.channelbag(self.slot, ensure=True)
        elif "id_root" in self.action.bl_rna.properties:
            self.action.id_root = id_type(target_id)

    def _new_fcurve(self, data_path, index, group):
        if self._channelbag is None:
            return self.action.fcurves.new(data_path, index=index, action_group=group)
        fcurves = self._channelbag.fcurves
        if "group_name" in fcurves.bl_rna.functions["new"].parameters:
            return fcurves.new(data_path, index=index, group_name=group)
        # 4.4 and 4.5: channelbags exist but fcurves.new() takes no group yet.
        fcurve = fcurves.new(data_path, index=index)
        groups = self._channelbag.groups
        fcurve.group = groups.get(group) or groups.new(group)
        return fcurve

    def add_curve(self, data_path, index, group, frames, values):
        """One F-Curve with a LINEAR key per (frame, value), written in one batch."""
        if len(frames) != len(values):
            raise ValueError("frames and values differ in length")
        fcurve = self._new_fcurve(data_path, index, group)
        points = fcurve.keyframe_points
        n = len(frames)
        points.add(n)
        flat = [0.0] * (2 * n)
        flat[0::2] = [float(f) for f in frames]
        flat[1::2] = [float(v) for v in values]
        points.foreach_set("co", flat)
        points.foreach_set("interpolation", [_linear_value()] * n)
        fcurve.update()
        return fcurve

    def assign(self, target_id):
        """Make this Action the ID's active one; False if that would displace the user's own.

        An Action already assigned that is not a vstream take is left in
        place: replacing it could orphan it (and lose it on save).
        """
        anim = target_id.animation_data or target_id.animation_data_create()
        current = anim.action
        if current is not None and current != self.action and _ASSIGNED_BY_US not in current:
            return False
        anim.action = self.action
        if self.slot is not None and hasattr(anim, "action_slot"):
            anim.action_slot = self.slot
        return True
