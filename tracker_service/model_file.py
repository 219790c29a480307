"""Where dlib's 68-point landmark model file is: standard library only.

Two places, in this order:
- beside this package, in models/ (the per-platform Blender extensions carry
  the file there: build_addon.py puts it in, since the model is no wheel on
  the package index);
- inside the face-recognition-models package (the pip route, and the
  repository's own environment, from which build_addon.py takes it).
build_addon.py imports this module too, so both sides agree on the name and
the places without importing dlib or OpenCV.
"""

import importlib.util
import os

NAME = "shape_predictor_68_face_landmarks.dat"
BUNDLED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", NAME)


def installed():
    """The file inside an installed face-recognition-models package, or None.

    Found without importing the package, whose __init__ pulls in pkg_resources.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "models", NAME)
    return path if os.path.exists(path) else None


def path():
    """The model file the tracker loads (RuntimeError saying what to install if there is none)."""
    if os.path.exists(BUNDLED):
        return BUNDLED
    found = installed()
    if found is None:
        raise RuntimeError("the 68-point model %s was found neither in %s nor in an installed "
                           "face-recognition-models: run scripts/setup.sh" % (NAME, os.path.dirname(BUNDLED)))
    return found
