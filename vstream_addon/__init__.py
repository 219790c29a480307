"""vstream: live face capture onto shape keys and a head bone.

    shared/   what the tracker process imports too (standard library only)
    core/     the add-on's working parts as plain values (no bpy)
    blender/  everything that touches Blender, registered by blender.register()

The Blender part is imported inside register(), so that the tracker can import
shared/ (and the tests core/) without bpy.
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
    from . import blender
    blender.register()


def unregister():
    from . import blender
    blender.unregister()
