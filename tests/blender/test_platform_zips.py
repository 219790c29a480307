"""The per-platform extensions checked where they cannot run (issue 16, part 4): for each of
the four zips, without Windows or a Mac,

- every wheel in it is for that platform, and for each Python the extensions are for
  (build_addon.PYTHONS: 3.11 for Blender 4.2 to 5.0, 3.13 for 5.1 and later) exactly one
  wheel of each project installs, with the tags pip would pick it by
  (`pip download --only-binary=:all: --platform --python-version`, tests/extension_zip.py);
- Blender's own wheel logic agrees (bl_pkg's cli shipped in the bpy module: the platforms
  it installs each wheel on, and the Python versions it derives from the wheels, which decide
  whether Blender installs the extension at all);
- every import in the tracker is satisfied by the standard library, numpy (Blender's), the
  zip's own tracker/ folder and the wheels picked for that platform and Python;
- the files not from this repository are the ones wheels.lock pins.
Blender's `extension validate` of every zip is tests/blender/test_build.py's and the chroot's.
"""

import ast
import hashlib
import importlib.util
import io
import os
import sys
import zipfile

import pytest

from conftest import ROOT, build_addon
from extension_zip import manifest, pick, supported, wheel_tags

PLATFORMS = build_addon.PLATFORMS
TRACKER_PROJECTS = {"dlib-bin", "opencv-python-headless", "tqdm", "python-osc"}
MODEL = "tracker/tracker_service/models/shape_predictor_68_face_landmarks.dat"


def blender_ext():
    """bl_pkg/cli/blender_ext.py from the test environment's bpy 5.0 (a stand-alone script)."""
    spec = importlib.util.find_spec("bpy")
    base = os.path.dirname(spec.origin)
    for dirpath, _dirs, files in os.walk(base):
        if "blender_ext.py" in files and dirpath.endswith(os.path.join("bl_pkg", "cli")):
            module_spec = importlib.util.spec_from_file_location("blender_ext", os.path.join(dirpath, "blender_ext.py"))
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return module
    pytest.fail("bl_pkg/cli/blender_ext.py not found under %s" % base)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_wheel_is_for_the_platform_and_each_python_gets_one_of_each(platform, platform_zips):
    wheels = manifest(platform_zips[platform])["wheels"]
    assert manifest(platform_zips[platform])["platforms"] == [platform]
    every_python = set().union(*(set(supported(platform, python)) for python in build_addon.PYTHONS))
    for wheel in wheels:
        assert wheel_tags(wheel) & every_python, "%s installs on no listed Python on %s" % (wheel, platform)
    for python in build_addon.PYTHONS:
        picked = pick(wheels, platform, python)
        assert set(picked) == TRACKER_PROJECTS, (python, picked)
        dlib_tags = wheel_tags(picked["dlib-bin"])
        assert {t.interpreter for t in dlib_tags} == {"cp" + python.replace(".", "")}, picked["dlib-bin"]
        # One wheel of each project per Python: two would leave the choice to Blender's dedup.
        for project, wheel in picked.items():
            rivals = [w for w in wheels if w != wheel and os.path.basename(w).split("-")[0] ==
                      os.path.basename(wheel).split("-")[0] and wheel_tags(w) & set(supported(platform, python))]
            assert not rivals, (python, wheel, rivals)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_blenders_wheel_logic_installs_the_zip_on_each_python(platform, platform_zips):
    ext = blender_ext()
    wheels = manifest(platform_zips[platform])["wheels"]
    for wheel in wheels:
        assert ext.blender_platform_compatible_with_wheel_platform_from_filepath(platform, wheel), wheel
        for other in set(PLATFORMS) - {platform}:
            if "-none-any" not in wheel:
                assert not ext.blender_platform_compatible_with_wheel_platform_from_filepath(other, wheel), \
                    (other, wheel)
    # Blender refuses an extension whose wheels name Python versions without its own.
    versions = ext.python_versions_from_wheels(wheels)
    assert {(3, 11), (3, 13)} <= versions, versions


def imports_of(source, filename):
    """Top-level module names a Python file imports (absolute imports only)."""
    names = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def top_level_names(zf, wheel):
    """The importable top-level names a wheel in the zip provides (packages and modules)."""
    with zipfile.ZipFile(io.BytesIO(zf.read(wheel.lstrip("./")))) as wf:
        names = set()
        for name in wf.namelist():
            first = name.split("/")[0]
            if first.endswith((".dist-info", ".data", ".libs")):
                continue
            names.add(first.split(".")[0] if "/" not in name else first)
    return names


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_trackers_imports_are_all_in_the_zip_the_standard_library_and_numpy(platform, platform_zips):
    with zipfile.ZipFile(platform_zips[platform]) as zf:
        sources = {n: zf.read(n) for n in zf.namelist() if n.startswith("tracker/") and n.endswith(".py")}
        local = {n.split("/")[1] for n in sources}
        assert local == {"tracker_service", "vstream_addon"}, local
        imported = set()
        for name, source in sources.items():
            imported |= imports_of(source, name)
        for python in build_addon.PYTHONS:
            provided = set()
            for wheel in pick(manifest(platform_zips[platform])["wheels"], platform, python).values():
                provided |= top_level_names(zf, wheel)
            missing = {m for m in imported
                       if m not in sys.stdlib_module_names and m not in local and m not in provided and m != "numpy"}
            assert not missing, (platform, python, missing)
    assert {"cv2", "dlib", "tqdm", "numpy", "vstream_addon"} <= imported  # the check saw the real imports


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_zip_carries_exactly_the_pinned_files(platform, platform_zips):
    wheels = manifest(platform_zips[platform])["wheels"]
    with zipfile.ZipFile(platform_zips[platform]) as zf:
        in_zip = {n[len("wheels/"):] for n in zf.namelist() if n.startswith("wheels/")}
        assert {w[len("./wheels/"):] for w in wheels} == in_zip
        for name in in_zip:
            pinned = build_addon.TRACKER_WHEELS.get(name) or build_addon.WHEELS[name]
            assert hashlib.sha256(zf.read("wheels/" + name)).hexdigest() == pinned, name
        assert hashlib.sha256(zf.read(MODEL)).hexdigest() == build_addon.MODEL_SHA256
        # The tracker's copy of the add-on's shared modules is the repository's, byte for byte.
        for name in zf.namelist():
            if name.startswith("tracker/vstream_addon/"):
                with open(os.path.join(ROOT, *name.split("/")[1:]), "rb") as f:
                    assert f.read() == zf.read(name), name
        assert not any(n.startswith("tracker/") and "numpy" in n for n in zf.namelist())
