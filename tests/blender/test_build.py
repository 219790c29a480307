"""The add-on zips (build_addon.py): what they hold, and that Blender's own validator takes the extension."""

import hashlib
import os
import re
import subprocess
import tomllib
import zipfile

import pytest

from blenders import BPY_MODULES, bpy_python
from conftest import ROOT, build_addon

PURE_MODULES = ("shared/protocol.py", "shared/arkit.py", "shared/take.py")
ADDON_MODULES = ("__init__.py", "blender/__init__.py", "blender/operators.py", "core/receiver.py",
                 "core/quaternions.py", "core/recorder.py", "blender/bake.py", "core/session.py")


def test_manifest_in_repo_is_generated_from_bl_info():
    with open(os.path.join(ROOT, "vstream_addon", "blender_manifest.toml"), encoding="utf-8") as f:
        committed = f.read()
    assert committed == build_addon.manifest_text(build_addon.read_bl_info()), \
        "vstream_addon/blender_manifest.toml is stale: run python build_addon.py"


def test_build_writes_both_zips(zips):
    version = zips["version"]
    assert version == ".".join(map(str, build_addon.read_bl_info()["version"]))
    assert os.path.basename(zips["legacy"]) == "vstream_addon-legacy-%s.zip" % version
    assert os.path.basename(zips["extension"]) == "vstream-extension-%s.zip" % version

    with zipfile.ZipFile(zips["legacy"]) as zf:
        names = set(zf.namelist())
        for module in PURE_MODULES + ADDON_MODULES:
            assert "vstream_addon/" + module in names
        assert all(n.startswith("vstream_addon/") for n in names)
        assert not any("__pycache__" in n for n in names)
        assert b"bl_info" in zf.read("vstream_addon/__init__.py")

    with zipfile.ZipFile(zips["extension"]) as zf:
        names = set(zf.namelist())
        for module in PURE_MODULES + ADDON_MODULES:
            assert module in names
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode("utf-8"))
    assert manifest["schema_version"] == "1.0.0"
    assert manifest["id"] == "vstream"
    assert manifest["type"] == "add-on"
    assert manifest["version"] == version
    assert manifest["blender_version_min"] == "4.2.0"
    assert manifest["license"]
    # Blender asks the user for these on install: the UDP port, and the take and preset files.
    assert set(manifest["permissions"]) == {"network", "files"}


def test_every_module_of_the_package_is_in_both_zips(zips):
    """Walks the package itself, so a module or subfolder the build left out fails here."""
    addon = os.path.join(ROOT, "vstream_addon")
    modules = set()
    for dirpath, dirnames, filenames in os.walk(addon):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        rel = os.path.relpath(dirpath, addon)
        modules |= {"/".join(([] if rel == "." else rel.split(os.sep)) + [n]) for n in filenames if n.endswith(".py")}
    assert "__init__.py" in modules and len(modules) > 20
    with zipfile.ZipFile(zips["legacy"]) as zf:
        legacy = {n[len("vstream_addon/"):] for n in zf.namelist() if n.endswith(".py")}
    with zipfile.ZipFile(zips["extension"]) as zf:
        extension = {n for n in zf.namelist() if n.endswith(".py")}
    assert legacy == modules, sorted(legacy ^ modules)
    assert extension == modules, sorted(extension ^ modules)


def test_both_zips_carry_the_pinned_python_osc_wheel_and_the_extension_lists_it(zips):
    """VMC parses OSC with python-osc: both zips carry its wheel, the version requirements.txt pins."""
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        pinned = re.search(r"^python-osc==(\S+)", f.read(), re.M).group(1)
    (name, digest), = build_addon.WHEELS.items()
    assert name.startswith("python_osc-%s-py3-none-any" % pinned)
    with zipfile.ZipFile(zips["extension"]) as zf:
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode("utf-8"))
        assert manifest["wheels"] == ["./wheels/" + name]
        assert hashlib.sha256(zf.read("wheels/" + name)).hexdigest() == digest
    with zipfile.ZipFile(zips["legacy"]) as zf:
        assert hashlib.sha256(zf.read("vstream_addon/wheels/" + name)).hexdigest() == digest


@pytest.mark.parametrize("target", BPY_MODULES)
def test_blenders_own_validator_accepts_the_extension(target, zips):
    """The manifest checker shipped inside the bpy package (what `blender --command extension validate` runs)."""
    python = bpy_python(target)
    find = "import importlib.util; print(importlib.util.find_spec('bpy').origin)"  # finds, does not import
    proc = subprocess.run([python, "-c", find], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, "bpy module not installed (run scripts/setup.sh)\n" + proc.stderr
    bpy_dir = os.path.dirname(proc.stdout.strip())
    found = []
    for dirpath, _dirs, files in os.walk(bpy_dir):
        if "blender_ext.py" in files and dirpath.endswith(os.path.join("bl_pkg", "cli")):
            found.append(os.path.join(dirpath, "blender_ext.py"))
    assert found, "bl_pkg/cli/blender_ext.py not found under %s" % bpy_dir
    proc = subprocess.run([python, found[0], "validate", zips["extension"]],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_build_is_reproducible(zips, tmp_path):
    again = build_addon.build(str(tmp_path))
    for kind in ("legacy", "extension"):
        with open(zips[kind], "rb") as a, open(again[kind], "rb") as b:
            assert a.read() == b.read(), kind
