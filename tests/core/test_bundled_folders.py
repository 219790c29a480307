"""core/bundled_tracker.py on its own: which folders the carried tracker imports from, why it
cannot run when it cannot, and its command line (the launch in Blender is
tests/blender/test_bundled_tracker.py, the zip run plain tests/tracker/test_bundled_plain.py)."""

import json
import os
import subprocess
import sys
import zipfile

from vstream_addon.core import bundled_tracker
from vstream_addon.core.tracker_process import command_line

SUFFIXES = [".cpython-311-x86_64-linux-gnu.so", ".abi3.so", ".so"]
PY311 = (3, 11, 9)


def layout(tmp_path, installed=("cv2", "_dlib_pybind11.cpython-311-x86_64-linux-gnu.so"), carried=("cp311",)):
    """A tracker folder, Blender's site-packages with `installed`, the extension's wheels/ with dlib
    wheels for the `carried` Python tags; returns (tracker, site, private, wheels)."""
    tracker, site, private, wheels = (tmp_path / n for n in ("tracker", "site", "private", "wheels"))
    for folder in (tracker, site, wheels):
        folder.mkdir()
    for name in installed:
        (site / name).mkdir() if "." not in name else (site / name).write_bytes(b"")
    for tag in carried:
        with zipfile.ZipFile(wheels / ("dlib_bin-20.0.1-%s-%s-manylinux_2_28_x86_64.whl" % (tag, tag)), "w") as zf:
            zf.writestr("_dlib_pybind11.cpython-%s-x86_64-linux-gnu.so" % tag[2:], b"")
            zf.writestr("dlib/__init__.py", b"")
    return str(tracker), str(site), str(private), str(wheels)


def folders(tmp_path, unpack=True, version=PY311, **kw):
    tracker, site, private, wheels = layout(tmp_path, **kw)
    return bundled_tracker.folders(tracker, site, private, unpack=unpack, wheels_dir=wheels, version=version,
                                   suffixes=SUFFIXES), (tracker, site, private)


def test_the_wheels_blender_installed_are_used_as_they_are(tmp_path):
    (paths, reason), (tracker, site, private) = folders(tmp_path)
    assert (paths, reason) == ([tracker, site], "")
    assert not os.path.exists(private), "nothing written when Blender's install is right"


def test_the_other_pythons_dlib_installed_unpacks_the_carried_one_in_front(tmp_path):
    # A Blender that picks among the wheels by platform only may unpack cp313's dlib for Python 3.11.
    (paths, reason), (tracker, site, private) = folders(
        tmp_path, installed=("cv2", "_dlib_pybind11.cpython-313-x86_64-linux-gnu.so"), carried=("cp311", "cp313"))
    assert (paths, reason) == ([tracker, private, site], "")
    assert sorted(os.listdir(private)) == ["_dlib_pybind11.cpython-311-x86_64-linux-gnu.so", "dlib"]


def test_the_panel_asks_without_writing(tmp_path):
    (paths, reason), (tracker, site, private) = folders(
        tmp_path, unpack=False, installed=("cv2", "_dlib_pybind11.cpython-313-x86_64-linux-gnu.so"))
    assert reason == "" and not os.path.exists(private)


def test_no_dlib_for_this_python_says_so_with_the_way_out(tmp_path):
    (paths, reason), _ = folders(tmp_path, version=(3, 14, 0), installed=("cv2",), carried=("cp311", "cp313"))
    assert paths is None
    assert reason.startswith("The bundled tracker has no dlib for this Blender's Python 3.14 on this system: ")
    assert "install the tracker with pip" in reason and "Tracker command" in reason
    assert reason.count(". ") == 0 and reason.endswith("."), "one sentence"


def test_wheels_not_installed_by_blender_says_so(tmp_path):
    (paths, reason), (_tracker, site, _private) = folders(tmp_path, installed=())
    assert paths is None and site in reason and "disable and enable the add-on" in reason


def test_argv_runs_the_package_with_only_the_given_folders_in_front(tmp_path):
    # The real bootstrap, on a stand-in tracker_service that prints what it sees.
    package = tmp_path / "tracker" / "tracker_service"
    package.mkdir(parents=True)
    (package / "__main__.py").write_text("import json, sys; print(json.dumps([sys.path[:2], sys.argv[1:]]))")
    other = tmp_path / "other"
    argv = command_line("", "clip.mp4", "--no-preview", 5000,
                        bundled=bundled_tracker.argv([str(tmp_path / "tracker"), str(other)]))
    assert argv[:3] == [sys.executable, "-I", "-u"]
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "elsewhere"))
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    path, args = json.loads(out.stdout)
    assert path == [str(tmp_path / "tracker"), str(other)]
    assert args == ["--no-preview", "--listen-port", "0", "--source", "clip.mp4", "--port", "5000",
                    "--exit-with-stdin"]


def test_a_set_command_wins_over_the_bundled_tracker():
    bundled = bundled_tracker.argv(["/ext/tracker", "/site"])
    assert command_line("/opt/vstream-tracker", "0", "", 1, bundled=bundled)[0] == "/opt/vstream-tracker"
    assert command_line("", "0", "", 1, bundled=bundled)[:len(bundled)] == bundled
    assert command_line("", "0", "", 1, which=lambda name: "/usr/bin/" + name, bundled=None)[0] == \
        "/usr/bin/vstream-tracker"
