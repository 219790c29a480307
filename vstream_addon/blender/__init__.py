"""Everything that touches Blender: properties, panels, operators, live apply, the bake."""
