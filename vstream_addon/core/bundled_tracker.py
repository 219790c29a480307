"""The tracker a per-platform extension carries, run with Blender's own Python.

No bpy here (tracker_launch passes in what Blender knows), so it can be tested on its own.

A per-platform extension zip (build_addon.py) holds, beside the add-on:
- tracker/: the tracker_service package with its models, and its own copy of
  vstream_addon/__init__.py + shared/, which the tracker imports by that name
  (inside Blender the add-on itself is named bl_ext.<repository>.vstream);
- wheels/: dlib, OpenCV and tqdm for that platform and Python 3.11 and 3.13,
  listed in the manifest, which Blender unpacks into its extensions' shared
  site-packages (EXTENSIONS/.local/lib/pythonX.Y/site-packages) when the
  extension is enabled. numpy is Blender's own.

The tracker runs as `sys.executable -I -u -c BOOTSTRAP FOLDERS ...`: -I
isolates it from the user's environment (no PYTHONPATH, no user site-packages,
not the current folder), so it imports only the extension's folders, put
first, then the interpreter's own library (where Blender's numpy is); -u
because -I also ignores PYTHONUNBUFFERED, and the add-on reads the output as
it comes.
"""

import glob
import importlib.machinery
import os
import sys
import zipfile

FOLDER = "tracker"
# The add-on's own folder: the extension's, when it was installed from a zip.
ADDON_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEELS = os.path.join(ADDON_ROOT, "wheels")

# sys.argv is ["-c", FOLDERS, tracker options...], FOLDERS joined by os.pathsep: they go in
# front of sys.path and out of argv, then the package runs as `python -m tracker_service` would.
BOOTSTRAP = ("import os, runpy, sys; sys.path[:0] = sys.argv.pop(1).split(os.pathsep); "
             "runpy.run_module('tracker_service', run_name='__main__', alter_sys=True)")

PIP_ROUTE = ("install the tracker with pip (README: \"The tracker on its own\") and set Tracker command "
             "in the add-on's preferences to its vstream-tracker")


def tracker_dir(addon_root=ADDON_ROOT):
    """The carried tracker's folder, or None when this copy of the add-on carries none
    (the plain zips, or the add-on run from the repository)."""
    path = os.path.join(addon_root, FOLDER)
    return path if os.path.isfile(os.path.join(path, "tracker_service", "__main__.py")) else None


def site_packages(extensions_dir, version=sys.version_info):
    """The folder where Blender unpacks the wheels of enabled extensions (the same path
    addon_utils builds; Blender puts it on its own sys.path too)."""
    return os.path.join(extensions_dir, ".local", "lib", "python%d.%d" % tuple(version[:2]), "site-packages")


def _has_dlib(folder, suffixes):
    """Whether dlib's compiled module for this Python is in `folder` (a name this Python imports:
    "_dlib_pybind11" + one of its suffixes exactly; the plain ".so" would match any)."""
    return any(os.path.isfile(os.path.join(folder, "_dlib_pybind11" + suffix)) for suffix in suffixes)


def folders(tracker, site, private, unpack=True, wheels_dir=WHEELS, version=sys.version_info, suffixes=None):
    """(the folders the tracker imports from, "") or (None, why it cannot run: one sentence with
    the way out).

    dlib is the one binary part without a stable-ABI wheel: it needs the build for
    exactly this Python (cp311, cp313), and the zip carries one for each. Blenders
    that choose among an extension's wheels by platform only (not by Python
    version) may unpack the other one; the right one is then unpacked from the
    extension's own wheels/ into `private` (a folder in Blender's user folders for
    this extension), which goes in front of Blender's; unpack=False only says whether
    it could be (the panel asks on every redraw).
    """
    suffixes = importlib.machinery.EXTENSION_SUFFIXES if suffixes is None else suffixes
    python = "%d.%d" % tuple(version[:2])
    if not os.path.isdir(os.path.join(site, "cv2")):
        return None, ("Blender has not installed the bundled tracker's wheels into %s: disable and enable "
                      "the add-on (or restart Blender), or %s." % (site, PIP_ROUTE))
    if _has_dlib(site, suffixes):
        return [tracker, site], ""
    carried = glob.glob(os.path.join(wheels_dir, "dlib_bin-*-cp%d%d-*.whl" % tuple(version[:2])))
    if not carried:
        return None, ("The bundled tracker has no dlib for this Blender's Python %s on this system: %s."
                      % (python, PIP_ROUTE))
    if unpack and not _has_dlib(private, suffixes):
        with zipfile.ZipFile(carried[0]) as wheel:
            wheel.extractall(private)
    return [tracker, private, site], ""


def argv(paths, python=sys.executable):
    """The command that runs the carried tracker importing from `paths` (tracker options follow it)."""
    return [python, "-I", "-u", "-c", BOOTSTRAP, os.pathsep.join(paths)]
