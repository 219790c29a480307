#!/usr/bin/env python3
"""Build the Blender add-on zips into dist/.

    python build_addon.py [--out DIR] [--platform P ... | --no-platforms]

Writes installable zips from vstream_addon/:
  dist/vstream_addon-legacy-<ver>.zip   Blender 3.4 to 4.1 (also installs as a
                                         legacy add-on on 4.2+): folder
                                         vstream_addon/ inside, version in bl_info.
  dist/vstream-extension-<ver>.zip      Blender 4.2+ extension: blender_manifest.toml
                                         and the package's files at the zip root.

Both hold every .py file below vstream_addon/, subfolders included, and the
wheels in vstream_addon/wheels/ (WHEELS: python-osc, which the VMC source
parses OSC with), checked against their pinned sha256: the extension lists
them in its manifest and Blender installs them; the legacy add-on puts them
on sys.path itself (vstream_addon/core/wheels.py). No pip at run time.

And four per-platform Blender 4.2+ extensions that carry the tracker too:
  dist/vstream-<ver>-<platform>.zip     windows-x64, linux-x64, macos-arm64, macos-x64:
                                         the extension's files, plus tracker/ (the
                                         tracker_service package, its expression
                                         model and dlib's 68-point model, and a copy
                                         of vstream_addon/__init__.py + shared/ that
                                         the tracker imports) and, in wheels/, the
                                         binary wheels the tracker needs for that
                                         platform and Python 3.11 and 3.13, listed in
                                         the manifest so that Blender installs them.

Every file that is not this repository's code is pinned by sha256 in one
list, wheels.lock. The tracker's wheels are downloaded once, with pip run by
this same Python, into .cache/wheels (only when missing; nothing is fetched
at install or run time); dlib's model comes from the face-recognition-models
package installed in this Python (scripts/setup.sh installs it).

The version has one source: bl_info["version"] in vstream_addon/__init__.py.
vstream_addon/blender_manifest.toml is generated from it here (and rewritten
on every build); edit MANIFEST_TEMPLATE below, not that file. Standard
library only, apart from pip as a subprocess for the tracker's wheels:
nothing is installed at build or run time.
"""

import argparse
import ast
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

# Standard library only, both: where the carried tracker goes and where it finds its model.
from tracker_service import model_file
from vstream_addon.core import bundled_tracker

ROOT = os.path.dirname(os.path.abspath(__file__))
ADDON_DIR = os.path.join(ROOT, "vstream_addon")
MANIFEST_NAME = "blender_manifest.toml"
LEGACY_FOLDER = "vstream_addon"
EXTENSION_ID = "vstream"
WHEELS_DIR = os.path.join(ADDON_DIR, "wheels")

LOCK_FILE = os.path.join(ROOT, "wheels.lock")
CACHE_DIR = os.path.join(ROOT, ".cache", "wheels")
TRACKER_DIR = os.path.join(ROOT, "tracker_service")
TRACKER_FOLDER = bundled_tracker.FOLDER  # in a platform zip: what the launched tracker imports
# Blender's platform names (the manifest's `platforms`), one zip each.
PLATFORMS = ("windows-x64", "linux-x64", "macos-arm64", "macos-x64")
# The Pythons of the Blenders the extensions are for: 4.2 to 5.0 ship 3.11, 5.1 and later 3.13.
PYTHONS = ("3.11", "3.13")


def read_lock(path=LOCK_FILE):
    """{group: {file name: sha256}} from wheels.lock (groups: addon, tracker, model)."""
    groups = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            if len(line) != 3 or len(line[2]) != 64:
                raise SystemExit("build_addon: %s:%d: expected 'group file sha256'" % (path, number))
            groups.setdefault(line[0], {})[line[1]] = line[2]
    return groups


LOCK = read_lock()
# The pure-Python wheels both zips carry: file name in vstream_addon/wheels/ -> sha256.
# python-osc's version is the one requirements.txt pins for the tracker and the tests.
WHEELS = LOCK["addon"]
TRACKER_WHEELS = LOCK["tracker"]
MODEL_SHA256 = LOCK["model"][model_file.NAME]


def wheel_tags(name):
    """(python tags, abi tags, platform tags) of a wheel file name, each a tuple."""
    parts = name[:-len(".whl")].split("-")
    return tuple(tuple(part.split(".")) for part in parts[-3:])


def wheel_platforms(name):
    """The Blender platforms a wheel installs on, from its platform tags (all four for "any").

    Blender matches the same way (bl_pkg's wheel filter): the architecture counts,
    the glibc or macOS version in the tag does not.
    """
    found = set()
    for tag in wheel_tags(name)[2]:
        arch = tag.rsplit("_", 1)[-1]
        if tag == "any":
            found.update(PLATFORMS)
        elif tag == "win_amd64":
            found.add("windows-x64")
        elif tag.startswith(("manylinux", "linux_")) and tag.endswith("_x86_64"):
            found.add("linux-x64")
        elif tag.startswith("macosx_") and arch in ("arm64", "universal2"):
            found.add("macos-arm64")
        if tag.startswith("macosx_") and (tag.endswith("_x86_64") or arch == "universal2"):
            found.add("macos-x64")
    return found


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip_download(name, dest):
    """Download exactly the wheel file `name` from the package index into `dest` (pip, no dependencies)."""
    parts = name[:-len(".whl")].split("-")
    pythons, _abis, platforms = wheel_tags(name)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               "--no-deps", "--only-binary=:all:", "--dest", dest, "%s==%s" % (parts[0], parts[1])]
    if platforms != ("any",):
        python = pythons[0][2:]  # cp311 -> 3.11; cp37 with abi3 -> 3.7 (any later one takes it)
        command += ["--implementation", "cp", "--python-version", python[0] + "." + python[1:]]
        for tag in platforms:
            command += ["--platform", tag]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit("build_addon: pip could not download %s:\n%s" % (name, proc.stderr[-2000:]))


def cached_wheel(name, cache_dir=CACHE_DIR):
    """Path of a tracker wheel in the cache, downloaded first if missing; checked against wheels.lock."""
    path = os.path.join(cache_dir, name)
    if not os.path.isfile(path):
        os.makedirs(cache_dir, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
            _pip_download(name, tmp)
            got = os.path.join(tmp, name)
            if not os.path.isfile(got):
                raise SystemExit("build_addon: pip chose %s instead of the pinned %s" % (os.listdir(tmp), name))
            os.replace(got, path)
    if _sha256(path) != TRACKER_WHEELS[name]:
        raise SystemExit("build_addon: %s does not match its sha256 in wheels.lock (delete it to download "
                         "it again)" % path)
    return path


def model_source():
    """dlib's 68-point model from the installed face-recognition-models, checked against wheels.lock."""
    path = model_file.installed()
    if path is None:
        raise SystemExit("build_addon: face-recognition-models is not installed in %s (it carries dlib's "
                         "68-point model): run scripts/setup.sh, then build with .venv/bin/python" % sys.executable)
    if _sha256(path) != MODEL_SHA256:
        raise SystemExit("build_addon: %s does not match its sha256 in wheels.lock" % path)
    return path


MANIFEST_TEMPLATE = '''\
# Generated by build_addon.py from bl_info in __init__.py: edit there, not here.
schema_version = "1.0.0"

id = "{id}"
version = "{version}"
name = "{name}"
tagline = "Live webcam face capture onto shape keys and a head bone"
maintainer = "{author}"
type = "add-on"

tags = ["Animation", "Rigging"]

blender_version_min = "4.2.0"

license = ["SPDX:MIT"]

wheels = [{wheels}]
{platforms}
[permissions]
network = "Receive face-tracking data on a local UDP port"
files = "Import take files, save and load mapping presets"
{camera}'''


def read_bl_info(init_path=os.path.join(ADDON_DIR, "__init__.py")):
    """bl_info parsed without importing the package (it imports bpy at register)."""
    with open(init_path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), init_path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "bl_info" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit("build_addon: no bl_info in %s" % init_path)


def version_string(bl_info):
    return ".".join(str(int(v)) for v in bl_info["version"])


def manifest_text(bl_info, platform=None):
    """The manifest of the plain extension, or with `platform` of that platform's extension."""
    wheels = sorted(WHEELS)
    platforms = camera = ""
    if platform is not None:
        wheels = sorted(platform_wheels(platform) + wheels)
        platforms = 'platforms = ["%s"]\n' % platform
        camera = 'camera = "The bundled tracker reads the webcam in its own process"\n'
    return MANIFEST_TEMPLATE.format(
        id=EXTENSION_ID, version=version_string(bl_info),
        name=bl_info["name"], author=bl_info["author"],
        wheels=", ".join('"./wheels/%s"' % name for name in wheels),
        platforms=platforms, camera=camera)


def platform_wheels(platform):
    """The tracker wheels of `platform` (file names): pure ones and that platform's binaries."""
    return sorted(name for name in TRACKER_WHEELS if platform in wheel_platforms(name))


def wheel_files():
    """[("wheels/<name>", bytes)] of WHEELS, each checked against its pinned sha256."""
    entries = []
    for name, digest in sorted(WHEELS.items()):
        path = os.path.join(WHEELS_DIR, name)
        if not os.path.isfile(path):
            raise SystemExit("build_addon: wheel missing: %s" % path)
        with open(path, "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != digest:
            raise SystemExit("build_addon: %s does not match its pinned sha256" % path)
        entries.append(("wheels/" + name, data))
    return entries


def addon_sources():
    """The add-on's Python files as paths relative to vstream_addon/ ("core/values.py"), sorted.

    Every folder below it is walked, so a subpackage can never be left out of
    the zips; caches and the manifest are not sources. A folder holding Python
    files must be a package (have an __init__.py): Blender imports the add-on
    as one package.
    """
    names = []
    for dirpath, dirnames, filenames in os.walk(ADDON_DIR):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        sources = [n for n in filenames if n.endswith(".py")]
        if sources and "__init__.py" not in sources:
            raise SystemExit("build_addon: %s has Python files but no __init__.py" % dirpath)
        rel = os.path.relpath(dirpath, ADDON_DIR)
        names += [n if rel == "." else "/".join(rel.split(os.sep) + [n]) for n in sources]
    if "__init__.py" not in names:
        raise SystemExit("build_addon: %s has no __init__.py" % ADDON_DIR)
    return sorted(names)


def _write_zip(path, entries, mode="w", stored=False):
    """entries: [(name in zip, bytes)]. Fixed timestamps keep builds reproducible."""
    with zipfile.ZipFile(path, mode, compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


def tracker_sources():
    """[(path in a platform zip, bytes)] of tracker/: the tracker package and what it imports of the add-on.

    The tracker imports vstream_addon.shared.*; inside Blender the add-on's
    package is named after the extension (bl_ext.user_default.vstream), so
    tracker/ gets its own vstream_addon/ (__init__.py, which only defines
    bl_info and register functions, and shared/, standard library only), copied
    from the same files at build time: one definition stays in the repository.
    """
    entries = []
    for base, folder in ((TRACKER_DIR, "tracker_service"), (ADDON_DIR, "vstream_addon")):
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
            rel = os.path.relpath(dirpath, base)
            parts = [] if rel == "." else rel.split(os.sep)
            if folder == "vstream_addon" and parts[:1] not in ([], ["shared"]):
                continue
            for name in sorted(filenames):
                if name.endswith(".py") or (parts == ["models"] and name.endswith(".npz")):
                    if folder == "vstream_addon" and not parts and name != "__init__.py":
                        continue
                    with open(os.path.join(dirpath, name), "rb") as f:
                        entries.append(("/".join([TRACKER_FOLDER, folder] + parts + [name]), f.read()))
    return entries


def _write_platform_zips(out_dir, version, bl_info, sources, platforms):
    """One zip per platform. What they share (the add-on, the tracker, the 100 MB model) is
    compressed once into a common zip that each platform's zip starts as a copy of; the
    manifest and that platform's wheels are then appended. The wheels are stored: they are
    zip files already."""
    if not platforms:
        return {}
    for platform in platforms:
        if platform not in PLATFORMS:
            raise SystemExit("build_addon: unknown platform %r (known: %s)" % (platform, ", ".join(PLATFORMS)))
    wheels = {name: cached_wheel(name) for platform in platforms for name in platform_wheels(platform)}
    with open(model_source(), "rb") as f:
        model = f.read()
    common = [(name, data) for name, data in sources if not name.startswith("wheels/")]
    common += tracker_sources()
    # Where model_file.path() looks first.
    in_package = os.path.relpath(model_file.BUNDLED, os.path.dirname(model_file.__file__)).split(os.sep)
    common.append(("/".join([TRACKER_FOLDER, "tracker_service"] + in_package), model))
    result = {}
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        base = os.path.join(tmp, "common.zip")
        _write_zip(base, common)
        for platform in platforms:
            path = os.path.join(out_dir, "vstream-%s-%s.zip" % (version, platform))
            shutil.copyfile(base, path)
            appended = [(MANIFEST_NAME, manifest_text(bl_info, platform).encode("utf-8"))]
            appended += [(name, data) for name, data in sources if name.startswith("wheels/")]
            for name in platform_wheels(platform):
                with open(wheels[name], "rb") as f:
                    appended.append(("wheels/" + name, f.read()))
            _write_zip(path, appended, mode="a", stored=True)
            result[platform] = path
    return result


def build(out_dir=os.path.join(ROOT, "dist"), platforms=tuple(PLATFORMS)):
    """Write the manifest and the zips; return {"legacy": path, "extension": path, "version": str,
    "platforms": {platform: path}} (platforms=() builds only the first two, in about a second)."""
    bl_info = read_bl_info()
    version = version_string(bl_info)
    manifest = manifest_text(bl_info)
    manifest_path = os.path.join(ADDON_DIR, MANIFEST_NAME)
    current = None
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as f:
            current = f.read()
    if current != manifest:
        with open(manifest_path, "w", encoding="utf-8", newline="\n") as f:
            f.write(manifest)

    sources = []
    for name in addon_sources():
        with open(os.path.join(ADDON_DIR, *name.split("/")), "rb") as f:
            sources.append((name, f.read()))
    sources += wheel_files()

    os.makedirs(out_dir, exist_ok=True)
    legacy = os.path.join(out_dir, "vstream_addon-legacy-%s.zip" % version)
    extension = os.path.join(out_dir, "vstream-extension-%s.zip" % version)
    _write_zip(legacy, [(LEGACY_FOLDER + "/" + name, data) for name, data in sources])
    _write_zip(extension, [(MANIFEST_NAME, manifest.encode("utf-8"))] + sources)
    return {"legacy": legacy, "extension": extension, "version": version,
            "platforms": _write_platform_zips(out_dir, version, bl_info, sources, platforms)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "dist"), help="output folder (default dist/)")
    parser.add_argument("--platform", action="append", choices=sorted(PLATFORMS),
                        help="build only this platform's extension (repeatable; default: all four)")
    parser.add_argument("--no-platforms", action="store_true", help="build only the two zips without the tracker")
    args = parser.parse_args(argv)
    result = build(args.out, () if args.no_platforms else tuple(args.platform or PLATFORMS))
    for path in [result["legacy"], result["extension"]] + list(result["platforms"].values()):
        print("built %s (%.1f MB)" % (os.path.relpath(path), os.path.getsize(path) / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
