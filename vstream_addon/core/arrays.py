"""numpy where this Blender's Python has it, else None: the switch between the bake's
numpy paths and its plain-Python ones.

Blender from blender.org always bundles numpy; a distribution's Blender running on
a system Python may not (Debian's 3.4 does not). Baking then takes the plain-Python
paths, which give the same keys, slower, and Reduce Keys is skipped. Every module
reads `arrays.np` when it runs, not at import, so one assignment switches a whole
bake to the plain paths (the tests compare both).
"""

try:
    import numpy as np
except ImportError:
    np = None
