"""vstream: live face capture onto shape keys and a head bone.

The Blender parts are imported inside register() so that the pure-Python
modules (protocol, arkit, take) can be imported by the tracker without bpy.
"""

bl_info = {
    "name": "VStream face capture",
    "author": "vstream",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "3D View > Sidebar > VStream",
    "description": "Live webcam face capture onto shape keys and a head bone, with recording",
    "category": "Animation",
}


def register():
    from .blender import panels as blender_ui
    blender_ui.register()


def unregister():
    from .blender import panels as blender_ui
    blender_ui.unregister()
