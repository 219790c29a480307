"""The add-on's one live session per Blender process, and what the panel shows about it.

Kept here at module level, not on an operator, so Start, Stop, Record, the
panel, the file-load handler and unregister all reach the same one. It imports
nothing else of the add-on: any module can read and set it without an import
cycle.
"""

import bpy

session = None            # the core LiveSession while Start is on (one UDP port)
error = ""                # last problem, shown in the panel until the next success
last_take = ""            # summary of the last bake, shown in the panel
last_status = None        # what the panel showed last, to redraw only on change
window = None             # as_pointer() of the window Start was pressed in (None: no window)
record_frame = None       # scene frame when Record was pressed: where the take starts
started_playback = False  # Record started timeline playback, so stopping it stops playback


def redraw(context):
    """Ask every 3D View to draw again: what the panel shows changed."""
    try:
        wm = context.window_manager if context is not None else bpy.context.window_manager
    except AttributeError:
        return  # restricted context (e.g. while Blender shuts down)
    if wm is None:
        return
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == 'VIEW_3D':
                area.tag_redraw()
