"""The mapping table: per channel, which shape key it drives and how (sub-panel of VStream).

Storage stays the JSON preset text in the object property mapping.PROP_MAPPING
(`vstream_mapping`), which live apply, bake and import already read. The
table is an editing view of it: `obj.vstream_rows` (one row per ARKit channel,
plus VRM and extra rows) is filled from the current resolution by "Edit
Mapping", and every edit writes the JSON again. Only rows that differ from
what automatic detection would do are stored, so a character whose keys are
ARKit- or VRM-named keeps an empty mapping and maps with zero clicks.

A row with no shape key is back to automatic; Mute stops a key being driven.
"""

import bpy
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..core import quaternions as apply, mapping
from ..shared import arkit
from . import live_apply as live
from .operators import state
from .sidebar import SubPanel

CHANNEL_ITEMS = ([(n, n, "ARKit channel %d" % i) for i, n in enumerate(arkit.ARKIT_NAMES)]
                 + [(n, n, "VRM expression, computed from the ARKit channels") for n in mapping.VRM_NAMES])

_syncing = set()   # objects whose rows are being rebuilt: row updates must not write JSON yet
problems = {}      # object name -> [problem text] from the last write, for the panel


def _row_changed(self, _context):
    obj = self.id_data
    if obj.name not in _syncing:
        write_rows(obj)


class VStreamMappingRow(bpy.types.PropertyGroup):
    channel: bpy.props.EnumProperty(name="Channel", items=CHANNEL_ITEMS, update=_row_changed,
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


def row_entry(row):
    """The MappingEntry a row stands for, or None when it has no shape key (MappingError if invalid)."""
    if not row.shape_key:
        return None
    return mapping.MappingEntry(shape_key=row.shape_key, channel=row.channel, gain=row.gain,
                                offset=row.offset, min=row.clamp_min, max=row.clamp_max,
                                invert=row.invert, mute=row.mute)


def _is_automatic(entry):
    return entry.is_identity and mapping.channel_name(entry.shape_key) == entry.channel


def write_rows(obj):
    """Store the rows that differ from automatic detection as the object's mapping JSON."""
    entries, found, seen = [], [], set()
    for i, row in enumerate(obj.vstream_rows):
        try:
            entry = row_entry(row)
        except mapping.MappingError as e:
            found.append("Row %d (%s): %s" % (i + 1, row.channel, e))
            continue
        if entry is None:
            continue
        if entry.shape_key in seen:
            found.append("Shape key %r is in two rows: the first one wins" % entry.shape_key)
            continue
        seen.add(entry.shape_key)
        if not _is_automatic(entry):
            entries.append(entry)
    store_entries(obj, entries)
    problems[obj.name] = found
    return entries


def store_entries(obj, entries):
    """Save a mesh's mapping entries on it; none removes the stored mapping (all automatic)."""
    if entries:
        obj[mapping.PROP_MAPPING] = mapping.entries_to_json(entries)
    elif mapping.PROP_MAPPING in obj:
        del obj[mapping.PROP_MAPPING]


def _driven_names(obj):
    return [block.name for block in apply._key_blocks(obj)]


def fill_rows(obj):
    """Rebuild the table from the stored entries and automatic detection.

    One row per ARKit channel (empty when nothing drives it), then VRM keys,
    then stored entries for keys the mesh does not have (kept, not lost).
    Raises mapping.MappingError if the stored JSON is not valid.
    """
    entries = apply.mesh_entries(obj)
    names = _driven_names(obj)
    bindings = mapping.resolve(names, entries)
    by_channel = {}
    for b in bindings:
        by_channel.setdefault(b.channel, []).append(b)
    rows = []
    for channel in arkit.ARKIT_NAMES:
        rows += [(channel, b) for b in by_channel.pop(channel, [])] or [(channel, None)]
    for channel in mapping.VRM_NAMES:
        rows += [(channel, b) for b in by_channel.pop(channel, [])]
    present = set(names)
    rows += [(e.channel, mapping.Binding(e.shape_key, e.channel, mapping.SOURCE_EXPLICIT, e))
             for e in entries if e.shape_key not in present]
    _syncing.add(obj.name)
    try:
        obj.vstream_rows.clear()
        for channel, b in rows:
            row = obj.vstream_rows.add()
            row.name = channel
            row.channel = channel
            if b is None:
                continue
            row.shape_key = b.shape_key
            e = b.entry
            if e is not None:
                row.gain, row.offset, row.clamp_min, row.clamp_max = e.gain, e.offset, e.min, e.max
                row.invert, row.mute = e.invert, e.mute
    finally:
        _syncing.discard(obj.name)
    problems[obj.name] = []
    obj.vstream_row_index = min(obj.vstream_row_index, len(obj.vstream_rows) - 1)


def resolved_entries(obj):
    """Every driven key of the mesh as an explicit entry (what a saved preset holds)."""
    bindings = mapping.resolve(_driven_names(obj), apply.mesh_entries(obj))
    return [b.entry if b.entry is not None else mapping.MappingEntry(b.shape_key, b.channel)
            for b in bindings]


def mapping_object(context):
    """The mesh the table edits: the active object if it is a driven face mesh, else the Face Mesh."""
    settings = getattr(context.scene, "vstream", None)
    if settings is None:
        return None
    meshes = live.target_meshes(settings)
    obj = context.object
    if obj is not None and obj in meshes:
        return obj
    return meshes[0] if meshes else None


# -- operators --------------------------------------------------------------------------

class _MappingOperator:
    @classmethod
    def poll(cls, context):
        return mapping_object(context) is not None


class VSTREAM_OT_mapping_edit(_MappingOperator, bpy.types.Operator):
    """Fill the mapping table from the stored entries and the shape keys found by name"""
    bl_idname = "vstream.mapping_edit"
    bl_label = "Edit Mapping"
    bl_options = {'UNDO'}

    def execute(self, context):
        obj = mapping_object(context)
        try:
            fill_rows(obj)
        except mapping.MappingError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        return {'FINISHED'}


class VSTREAM_OT_mapping_reset(_MappingOperator, bpy.types.Operator):
    """Forget every mapping edit of this mesh: back to automatic detection by name"""
    bl_idname = "vstream.mapping_reset"
    bl_label = "Reset Mapping"
    bl_options = {'UNDO'}

    def invoke(self, context, event):
        return context.window_manager.invoke_confirm(self, event)

    def execute(self, context):
        obj = mapping_object(context)
        store_entries(obj, [])
        fill_rows(obj)
        return {'FINISHED'}


class VSTREAM_OT_mapping_row_add(_MappingOperator, bpy.types.Operator):
    """Add a row for the selected row's channel, to drive one more shape key with it"""
    bl_idname = "vstream.mapping_row_add"
    bl_label = "Add Mapping Row"
    bl_options = {'UNDO'}

    def execute(self, context):
        obj = mapping_object(context)
        rows = obj.vstream_rows
        index = obj.vstream_row_index
        channel = rows[index].channel if 0 <= index < len(rows) else arkit.ARKIT_NAMES[0]
        _syncing.add(obj.name)
        try:
            row = rows.add()
            row.name = row.channel = channel
        finally:
            _syncing.discard(obj.name)
        rows.move(len(rows) - 1, index + 1)
        obj.vstream_row_index = index + 1
        return {'FINISHED'}


class VSTREAM_OT_mapping_row_remove(_MappingOperator, bpy.types.Operator):
    """Remove the selected row: its shape key goes back to automatic detection"""
    bl_idname = "vstream.mapping_row_remove"
    bl_label = "Remove Mapping Row"
    bl_options = {'UNDO'}

    @classmethod
    def poll(cls, context):
        obj = mapping_object(context)
        return obj is not None and 0 <= obj.vstream_row_index < len(obj.vstream_rows)

    def execute(self, context):
        obj = mapping_object(context)
        obj.vstream_rows.remove(obj.vstream_row_index)
        obj.vstream_row_index = min(obj.vstream_row_index, len(obj.vstream_rows) - 1)
        write_rows(obj)
        return {'FINISHED'}


class VSTREAM_OT_mapping_save(_MappingOperator, bpy.types.Operator, ExportHelper):
    """Save this mesh's whole mapping (every driven key) as a JSON preset file"""
    bl_idname = "vstream.mapping_save"
    bl_label = "Save Mapping Preset"

    filename_ext = ".json"
    filter_glob: bpy.props.StringProperty(default="*.json", options={'HIDDEN'})

    def execute(self, context):
        obj = mapping_object(context)
        path = bpy.path.abspath(self.filepath)
        try:
            entries = resolved_entries(obj)
            mapping.save_preset(path, entries)
        except (mapping.MappingError, OSError) as e:
            self.report({'ERROR'}, "Save mapping: %s" % e)
            return {'CANCELLED'}
        self.report({'INFO'}, "Saved %d mapping entries to %s" % (len(entries), path))
        return {'FINISHED'}


class VSTREAM_OT_mapping_load(_MappingOperator, bpy.types.Operator, ImportHelper):
    """Replace this mesh's mapping with a JSON preset file"""
    bl_idname = "vstream.mapping_load"
    bl_label = "Load Mapping Preset"
    bl_options = {'UNDO'}

    filename_ext = ".json"
    filter_glob: bpy.props.StringProperty(default="*.json", options={'HIDDEN'})

    def execute(self, context):
        obj = mapping_object(context)
        path = bpy.path.abspath(self.filepath)
        try:
            entries = mapping.load_preset(path)
        except mapping.MappingError as e:
            state.error = "Load mapping: %s" % e
            self.report({'ERROR'}, state.error)
            return {'CANCELLED'}
        present = set(_driven_names(obj))
        missing = sorted(e.shape_key for e in entries if e.shape_key not in present)
        store_entries(obj, entries)
        fill_rows(obj)
        text = "Loaded %d mapping entries onto %s" % (len(entries), obj.name)
        if missing:
            text += "; %d name keys %s lacks (kept): %s" % (len(missing), obj.name, ", ".join(missing[:5]))
        self.report({'WARNING'} if missing else {'INFO'}, text)
        return {'FINISHED'}


# -- panel -----------------------------------------------------------------------------

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
        obj = mapping_object(context)
        if obj is None:
            layout.label(text="Pick a face mesh first", icon='INFO')
            return
        layout.label(text="Mapping of %s:" % obj.name, icon='SHAPEKEY_DATA')
        error = apply.mapping_error(obj)
        if error:
            box = layout.box()
            box.alert = True
            box.label(text="Stored mapping ignored:", icon='ERROR')
            box.label(text=error[:120], icon='BLANK1')
        rows = obj.vstream_rows
        if len(rows) == 0:
            found = len(apply.matched_names(obj))
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
            for text in problems.get(obj.name, ()):
                layout.label(text=text, icon='ERROR')
            row = layout.row(align=True)
            row.operator("vstream.mapping_edit", text="Refresh", icon='FILE_REFRESH')
            row.operator("vstream.mapping_reset", text="Reset", icon='LOOP_BACK')
        row = layout.row(align=True)
        row.operator("vstream.mapping_load", text="Load...", icon='IMPORT')
        row.operator("vstream.mapping_save", text="Save...", icon='EXPORT')


CLASSES = (VSTREAM_OT_mapping_edit, VSTREAM_OT_mapping_reset, VSTREAM_OT_mapping_row_add,
           VSTREAM_OT_mapping_row_remove, VSTREAM_OT_mapping_save,
           VSTREAM_OT_mapping_load, VSTREAM_UL_mapping, VIEW3D_PT_vstream_mapping)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register():
    bpy.utils.register_class(VStreamMappingRow)
    bpy.types.Object.vstream_rows = bpy.props.CollectionProperty(type=VStreamMappingRow)
    bpy.types.Object.vstream_row_index = bpy.props.IntProperty(default=0)
    _register_classes()


def unregister():
    _unregister_classes()
    del bpy.types.Object.vstream_row_index
    del bpy.types.Object.vstream_rows
    bpy.utils.unregister_class(VStreamMappingRow)
    problems.clear()
