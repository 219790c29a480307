"""Everything that touches Blender, and its one registration.

    state           the one live session and what the panel shows (imports no other part)
    props           every property group and the add-on preferences
    panels          every panel and list of the VStream tab
    operators       every operator, the session's lifetime and its per-tick work
    live_apply      frames onto the face meshes' shape keys and the neck/head bones
    bake            takes into Actions (Record, Import Take)
    mesh_mapping    a face mesh's mapping on the object, and the table that edits it
    tracker_launch  the tracker process Start launches
    addon_name      the add-on's module name (imports nothing)

The numbers live apply and the bake write come from ../core, which never
imports bpy.
"""

import bpy

from . import live_apply, mesh_mapping, operators, panels, props
from ..core import tracker_process

# Registered in this order, unregistered in reverse: a property group before the
# groups that point to it, a panel before its sub-panels (which show in this order).
CLASSES = (
    props.VStreamMeshSlot, props.VStreamLiveOptions, props.VStreamRecordingSettings, props.VStreamSettings,
    props.VStreamMappingRow, props.VStreamPreferences,
    operators.VSTREAM_OT_start, operators.VSTREAM_OT_stop, operators.VSTREAM_OT_record,
    operators.VSTREAM_OT_calibrate, operators.VSTREAM_OT_import_take, operators.VSTREAM_OT_launch_tracker,
    operators.VSTREAM_OT_mesh_add, operators.VSTREAM_OT_mesh_remove, operators.VSTREAM_OT_set_neutral_pose,
    operators.VSTREAM_OT_clear_neutral, operators.VSTREAM_OT_mapping_edit, operators.VSTREAM_OT_mapping_reset,
    operators.VSTREAM_OT_mapping_row_add, operators.VSTREAM_OT_mapping_row_remove,
    operators.VSTREAM_OT_mapping_save, operators.VSTREAM_OT_mapping_load,
    panels.VSTREAM_UL_meshes, panels.VSTREAM_UL_mapping,
    panels.VIEW3D_PT_vstream, panels.VIEW3D_PT_vstream_recording, panels.VIEW3D_PT_vstream_head,
    panels.VIEW3D_PT_vstream_mapping, panels.VIEW3D_PT_vstream_tracker,
)

# (bpy.app.handlers list, handler): a file load closes the session; undo, redo and
# file load replace the data live apply's compiled plans point into.
HANDLERS = (
    ("load_pre", operators.on_load_pre),
    ("undo_post", live_apply.on_data_replaced),
    ("redo_post", live_apply.on_data_replaced),
    ("load_post", live_apply.on_data_replaced),
)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    operators.register_keymaps()
    bpy.types.Scene.vstream = bpy.props.PointerProperty(type=props.VStreamSettings)
    bpy.types.Object.vstream_rows = bpy.props.CollectionProperty(type=props.VStreamMappingRow)
    bpy.types.Object.vstream_row_index = bpy.props.IntProperty(default=0)
    for list_name, handler in HANDLERS:
        handlers = getattr(bpy.app.handlers, list_name)
        if handler not in handlers:
            handlers.append(handler)


def unregister():
    operators.stop_session(None, bake=False)  # closes the port; a launched tracker ends with it
    tracker_process.stop_all()
    operators.unregister_keymaps()
    for list_name, handler in HANDLERS:
        handlers = getattr(bpy.app.handlers, list_name)
        # Match by name too: a reloaded module has a new function object.
        for found in list(handlers):
            if found is handler or (getattr(found, "__name__", "") == handler.__name__
                                    and getattr(found, "__module__", "") == handler.__module__):
                handlers.remove(found)
    live_apply.driver.reset()
    mesh_mapping.problems.clear()
    del bpy.types.Object.vstream_row_index
    del bpy.types.Object.vstream_rows
    del bpy.types.Scene.vstream
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
