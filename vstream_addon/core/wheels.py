"""The pure-Python wheels the add-on's zips carry (python-osc, for VMC), imported without pip.

Both zips hold the same wheel files in `wheels/` beside the add-on's
__init__.py (build_addon.py fetches them, pinned by version and sha256). The
extension zip (Blender 4.2+) also lists them in its manifest, and Blender
installs them into the extensions' shared site-packages, keeping the newest
version of each package when several extensions bring one. The legacy zip
(Blender 3.4 to 4.1) has no such mechanism: `require` then puts the wheel
itself on sys.path (a pure-Python wheel is a zip that Python imports from
directly), so python-osc keeps its own name and absolute imports, unchanged.

A copy that is already importable (Blender's installed wheel, another
extension's newer python-osc, a Python with it installed) is used as it is:
the add-on works with a range of versions, not only the one it carries, and
never loads a second copy of a package under the same name.
"""

import glob
import importlib
import os
import sys

WHEELS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "wheels")


def bundled():
    """Paths of the wheels the installed add-on carries (none when run from the repository)."""
    return sorted(glob.glob(os.path.join(WHEELS, "*.whl")))


def require(module, project, purpose):
    """Import `module` (e.g. "pythonosc"), from the bundled wheels if nothing else has it.

    ImportError naming `project` and what it is needed for when neither works.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        pass
    added = [path for path in bundled() if path not in sys.path]
    # Appended, not prepended: nothing that was importable before is shadowed.
    sys.path.extend(added)
    if added:
        importlib.invalidate_caches()
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError("%s needs %s, which this Python does not have and this copy of the add-on "
                          "does not carry (no wheel in %s): install the add-on from its zip, which "
                          "carries it (%s)" % (purpose.capitalize(), project, WHEELS, e)) from e
