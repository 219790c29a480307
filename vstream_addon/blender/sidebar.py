"""What every VStream sidebar panel shares: where it lives, and labels that wrap.

Blender's labels are cut off at the sidebar's edge, so long messages (errors,
the last take, the tracker's output) are wrapped to the region's width here.
"""

PARENT = "VIEW3D_PT_vstream"


class SidebarPanel:
    """Mixin: a panel in the 3D View's sidebar, VStream tab."""
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "VStream"


class SubPanel(SidebarPanel):
    """Mixin: a collapsible section under the main VStream panel."""
    bl_parent_id = PARENT


def chars_that_fit(context):
    region = context.region
    scale = context.preferences.system.ui_scale
    if region is None or region.width <= 1:
        return 40
    return max(16, int((region.width - 50 * scale) / (7 * scale)))


def wrap(text, width):
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = (line + " " + word).strip()
    if line:
        lines.append(line)
    return lines


def label_wrapped(layout, context, text, icon='NONE'):
    """`text` as labels that fit the sidebar; the icon on the first line only."""
    for i, line in enumerate(wrap(text, chars_that_fit(context))):
        layout.label(text=line, icon=icon if i == 0 else ('BLANK1' if icon != 'NONE' else 'NONE'))
