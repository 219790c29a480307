"""The linux-x64 extension's tracker runs from the zip alone: no Blender, no test environment.

The zip is unpacked as Blender installs it (its files in a folder named by the
extension's id, the contents of the wheels for this Python together in one
site-packages folder), and `python -S -m tracker_service --source PHOTO --out
TAKE` runs with those two folders and a folder holding only numpy on its path:
-S keeps every site-packages folder out (the test venv's OpenCV and dlib among
them), so what is left is the standard library, numpy, and what the zip brought.
"""

import json
import os
import subprocess
import sys

from conftest import data
from extension_zip import manifest, pick, unpack
from vstream_addon.shared import take

import numpy


def run_plain(args, root, paths):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "PYTHONPATH": os.pathsep.join(paths)}
    cwd = root / "cwd"
    cwd.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-S", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_linux_zip_tracks_a_photo_with_only_numpy_and_the_standard_library(platform_zips, tmp_path):
    zip_path = platform_zips["linux-x64"]
    python = "%d.%d" % sys.version_info[:2]
    wheels = pick(manifest(zip_path)["wheels"], "linux-x64", python)
    assert sorted(wheels) == ["dlib-bin", "opencv-python-headless", "python-osc", "tqdm"], wheels
    ext_dir, site = unpack(zip_path, str(tmp_path), wheels.values())
    tracker = os.path.join(ext_dir, "tracker")
    only_numpy = tmp_path / "numpy-only"
    only_numpy.mkdir()
    numpy_dir = os.path.dirname(numpy.__file__)
    for name in ("numpy", "numpy.libs"):  # numpy.libs: the OpenBLAS its manylinux wheel links to
        if os.path.exists(os.path.join(os.path.dirname(numpy_dir), name)):
            os.symlink(os.path.join(os.path.dirname(numpy_dir), name), only_numpy / name)
    paths = [tracker, site, str(only_numpy)]

    # Nothing else on the path: our three folders, the empty working folder, the standard library.
    proc = run_plain(["-c", "import json, sys; print(json.dumps(sys.path))"], tmp_path, paths)
    stdlib = os.path.realpath(os.path.dirname(os.__file__))
    for entry in json.loads(proc.stdout):
        # "": the working folder (empty); python3XX.zip: the standard library's zip (absent here).
        assert entry in paths or entry == "" or os.path.realpath(entry).startswith(stdlib) \
            or os.path.basename(entry).startswith("python3"), entry
        assert "site-packages" not in entry or entry == site, entry  # the stdlib's own one is under it

    out = tmp_path / "take.jsonl"
    proc = run_plain(["-m", "tracker_service", "--source", data("stills", "single_face.jpg"), "--out", str(out),
                      "--no-preview"], tmp_path, paths)
    assert proc.returncode == 0, proc.stderr
    parts = [line for line in proc.stderr.splitlines() if line.startswith("vstream-tracker: dlib ")]
    assert len(parts) == 1, proc.stderr
    assert "(%s" % os.path.join(site, "dlib") in parts[0] and "(%s" % os.path.join(site, "cv2") in parts[0], parts
    assert "model %s" % os.path.join(tracker, "tracker_service", "models") in parts[0], parts
    _, records = take.read_take(str(out))
    assert records and all(r["face"] for r in records), proc.stderr
    assert len(records[0]["landmarks"]) == 68
    assert any(v > 0 for v in records[0]["weights"].values())

    # Without the wheels' folder: one error line naming what is missing, not a traceback.
    proc = run_plain(["-m", "tracker_service", "--source", data("stills", "single_face.jpg"), "--out", str(out),
                      "--no-preview"], tmp_path, [tracker, str(only_numpy)])
    assert proc.returncode == 1
    assert proc.stderr.startswith("vstream-tracker: error: cannot import cv2 with ") and \
        len(proc.stderr.strip().splitlines()) == 1, proc.stderr
