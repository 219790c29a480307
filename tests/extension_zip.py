"""A per-platform extension zip seen as Blender and pip see it, without Blender.

- `supported(platform, python)`: the wheel tags a CPython of that version on that
  Blender platform accepts, generated as pip does for `pip download --platform
  --python-version --implementation cp` (packaging.tags: the interpreter's own
  tags, the stable-ABI ones of older CPythons, then py3-none-any);
- `pick(wheels, platform, python)`: the wheels of a manifest that install there,
  one per project, as pip would pick them (the best tag match);
- `unpack(zip, root, wheels)`: the zip laid out as Blender installs it: its files
  in root/vstream/ (the extension's id), the given wheels' contents together in
  root/site-packages/.
"""

import os
import tomllib
import zipfile

from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import parse_wheel_filename

EXTENSION_ID = "vstream"
# The systems each platform is checked for (pip's --platform): Linux with glibc 2.28, as
# Blender 4.2 needs too; macOS 14 on arm64 and 13 on Intel, the oldest that dlib-bin's and
# OpenCV's wheels install on (README says so).
TARGETS = {
    "windows-x64": ["win_amd64"],
    "linux-x64": ["manylinux_2_%d_x86_64" % minor for minor in range(28, 16, -1)] + ["manylinux2014_x86_64"],
    "macos-arm64": list(mac_platforms((14, 0), "arm64")),
    "macos-x64": list(mac_platforms((13, 0), "x86_64")),
}


def supported(platform, python):
    """The tags, best first, that pip accepts for CPython `python` ("3.11") on a Blender platform."""
    version = tuple(int(p) for p in python.split("."))
    platforms = TARGETS[platform]
    return list(cpython_tags(version, platforms=platforms)) + list(
        compatible_tags(version, "cp%d%d" % version, platforms=platforms))


def manifest(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        return tomllib.loads(zf.read("blender_manifest.toml").decode("utf-8"))


def pick(wheels, platform, python):
    """{project: wheel path in the zip} of the manifest's `wheels` that install there."""
    rank = {tag: i for i, tag in enumerate(supported(platform, python))}
    best = {}
    for wheel in wheels:
        name, _version, _build, tags = parse_wheel_filename(os.path.basename(wheel))
        score = min((rank[t] for t in tags if t in rank), default=None)
        if score is not None and (name not in best or score < best[name][0]):
            best[name] = (score, wheel)
    return {name: wheel for name, (_score, wheel) in best.items()}


def wheel_tags(wheel):
    return set(parse_wheel_filename(os.path.basename(wheel))[3])


def unpack(zip_path, root, wheels):
    """Lay the zip out as Blender installs it; return (extension folder, site-packages folder)."""
    ext_dir = os.path.join(root, EXTENSION_ID)
    site = os.path.join(root, "site-packages")
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(ext_dir)
    for wheel in wheels:
        with zipfile.ZipFile(os.path.join(ext_dir, wheel)) as wf:
            wf.extractall(site)
    return ext_dir, site


__all__ = ["Tag", "TARGETS", "manifest", "pick", "supported", "unpack", "wheel_tags"]
