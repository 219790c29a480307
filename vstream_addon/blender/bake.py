"""Write baked keys into an Action on any Blender from 3.4 to 5.x.

Blender 4.4 introduced slotted (layered) Actions and 5.0 removed the legacy
`Action.fcurves`. Which path to take is decided by what the Action offers,
not by version numbers, so in-between and future versions pick correctly.
"""

from array import array

import bpy

try:
    import numpy as np
except ImportError:  # see recorder.py: a system-Python Blender may lack numpy
    np = None

_ASSIGNED_BY_US = "vstream_take"  # custom property every baked Action carries


def escape(name):
    """Quote a name for use inside a data path: key_blocks["<name>"]."""
    return bpy.utils.escape_identifier(name)


def _linear_value():
    items = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items
    return items["LINEAR"].value


_linear_cache = {}


def _linear_list(n):
    # A plain list of ints: foreach_set reads an enum from it about 4x faster
    # than from a numpy int array (measured in 5.0). One list per length,
    # since every curve of a take has the same number of keys unless reduced.
    found = _linear_cache.get(n)
    if found is None:
        if len(_linear_cache) > 8:
            _linear_cache.clear()
        found = _linear_cache[n] = [_linear_value()] * n
    return found


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
        """One F-Curve with a LINEAR key per (frame, value), written in one batch.

        `frames` and `values` are 1-D sequences or numpy arrays. They are
        interleaved into one float32 buffer (what keyframe `co` stores; a
        numpy array, or array.array without numpy), so foreach_set copies a
        buffer instead of converting Python floats.
        """
        if len(frames) != len(values):
            raise ValueError("frames and values differ in length")
        n = len(frames)
        if np is not None:
            co = np.empty(2 * n, dtype=np.float32)
        else:
            co = array("f", bytes(8 * n))
            frames, values = array("f", frames), array("f", values)
        co[0::2] = frames
        co[1::2] = values
        fcurve = self._new_fcurve(data_path, index, group)
        points = fcurve.keyframe_points
        points.add(n)
        # `co_ui` moves a key's handles with it, and keyframe_points.add()
        # leaves them at (0, 0): writing through co_ui puts them on the key
        # (zero length) in the same pass. Handles at (0, 0) would stretch the
        # Graph Editor's View All to frame 0, and computing auto handles costs
        # more than the rest of the write (measured in 5.0). LINEAR keys never
        # use handles; any edit that does (setting Bezier, moving keys)
        # recalculates them.
        points.foreach_set("co_ui", co)
        points.foreach_set("interpolation", _linear_list(n))
        return fcurve

    def push_to_nla(self, target_id, track_name, frame_start):
        """Put the Action on a new NLA track of the ID, leaving its active action empty.

        A vstream take that was the active action is taken off (it keeps its
        fake user), so it does not play over the tracks; an Action of the
        user's own stays. The strip extrapolates Nothing. Returns the track.
        """
        anim = target_id.animation_data or target_id.animation_data_create()
        current = anim.action
        if current is not None and _ASSIGNED_BY_US in current:
            anim.action = None
        track = anim.nla_tracks.new()
        track.name = track_name
        strip = track.strips.new(track_name, int(round(frame_start)), self.action)
        # A take acts on its own frames only. Blender's default (Hold) would
        # let the newest track, which is on top, cover every earlier take.
        strip.extrapolation = 'NOTHING'
        if self.slot is not None and hasattr(strip, "action_slot"):
            strip.action_slot = self.slot
        return track

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
