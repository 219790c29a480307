"""Debian 13's Blender 4.3.2 (a GUI Blender built on the system's Python 3.13, in its own
root: scripts/setup_blender43.sh), as a new user meets the add-on.

- Its own extension validator (`blender --command extension validate`) accepts every
  extension zip the build makes.
- In the GUI under Xvfb: the extension zip installed from disk with Blender's own
  operator, enabled, Start pressed on the built avatar: packets arrive, shape keys move,
  Record makes an Action, Stop ends everything.

Everything runs inside the root through blenders.in_root_command: nothing of this
machine's virtualenvs or the repository is visible on any path there.
"""

import os
import shutil
import subprocess
import sys
import threading
import zipfile

from packaging import tags
from packaging.utils import parse_wheel_filename

from blenders import IN_ROOT_DATA, IN_ROOT_WORK, in_root_command, run_in_blender43_gui
from conftest import DATA, ROOT, data, free_udp_port, process_gone, wait_for
from vstream_addon.shared.take import read_take

CLIP = ("video", "webcam_cap12.mp4")
DEBIAN13_GLIBC = (2, 41)


def run_in_root(argv, work, timeout=120):
    return subprocess.run(in_root_command(argv, work, DATA, timeout), capture_output=True, text=True,
                          timeout=timeout + 30)


def test_blender43_validator_accepts_every_extension_zip(zips, platform_zips, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    for label, path in [("extension", zips["extension"])] + sorted(platform_zips.items()):
        os.link(path, work / os.path.basename(path))  # 130 MB: a second name, not a copy
        proc = run_in_root(["blender", "--command", "extension", "validate",
                            "%s/%s" % (IN_ROOT_WORK, os.path.basename(path))], work)
        output = proc.stdout + proc.stderr
        print("%s: %s" % (label, output.strip().splitlines()[-1] if output.strip() else "(no output)"))
        assert proc.returncode == 0 and "Success" in output, "%s: exit %d\n%s" % (label, proc.returncode, output)


# -- the linux-x64 zip unpacked as Blender unpacks it, on a Python with only numpy -----

def linux_x64_platforms(glibc):
    """The platform tags pip accepts on x86-64 Linux with glibc (2, minor): every manylinux up to it."""
    legacy = {(2, 5): "manylinux1", (2, 12): "manylinux2010", (2, 17): "manylinux2014"}
    found = []
    for minor in range(glibc[1], 4, -1):
        found.append("manylinux_2_%d_x86_64" % minor)
        if (2, minor) in legacy:
            found.append(legacy[(2, minor)] + "_x86_64")
    return found + ["linux_x86_64"]


def wheels_for(names, python, glibc):
    """The wheel files among `names` that pip would install on CPython `python` (3, 13) on
    x86-64 Linux with `glibc`: the ones Blender unpacks for that interpreter."""
    platforms = linux_x64_platforms(glibc)
    supported = set(tags.cpython_tags(python, platforms=platforms)) | set(tags.compatible_tags(python, platforms=platforms))
    return [n for n in names if parse_wheel_filename(os.path.basename(n))[3] & supported]


def unpack_like_blender(zip_path, work, python, glibc):
    """The zip's files in work/vstream (the folder named by the extension's id), the contents
    of every wheel for `python` in work/site-packages; return the wheels unpacked."""
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(work / "vstream")
        names = [n for n in z.namelist() if n.startswith("wheels/") and n.endswith(".whl")]
    chosen = wheels_for(names, python, glibc)
    for name in chosen:
        with zipfile.ZipFile(work / "vstream" / name) as wheel:
            wheel.extractall(work / "site-packages")
    return chosen


# Top-level modules an interpreter finds outside its standard library's folder (its site-packages).
LIST_EXTRA_MODULES = ("import pkgutil, sys, sysconfig; std = sysconfig.get_path('stdlib'); "
                      "extra = [p for p in sys.path if p and not p.startswith(std) and not p.endswith('.zip')]; "
                      "print(sorted({m.name for m in pkgutil.iter_modules(extra) if not m.name.startswith('_')}))")


def test_unpacked_linux_zip_tracks_a_photo_on_a_python_with_only_numpy(platform_zips, tmp_path):
    # Debian 13's python3 (3.13, the one its Blender 4.3 runs) has python3-numpy and nothing else.
    work = tmp_path / "work"
    work.mkdir()
    proc = run_in_root(["python3", "-c", LIST_EXTRA_MODULES], work)
    assert proc.returncode == 0 and proc.stdout.strip() == "['numpy']", proc.stdout + proc.stderr
    unpacked = unpack_like_blender(platform_zips["linux-x64"], work, (3, 13), DEBIAN13_GLIBC)
    assert any("dlib_bin" in n and "cp313" in n for n in unpacked), unpacked
    assert not any("cp311" in n for n in unpacked), unpacked
    inside = IN_ROOT_WORK
    proc = run_in_root(["env", "PYTHONPATH=%s/vstream/tracker:%s/site-packages" % (inside, inside),
                        "python3", "-m", "tracker_service", "--source", IN_ROOT_DATA + "/stills/single_face.jpg",
                        "--out", inside + "/take.jsonl", "--no-preview"], work, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else "(no start-up line)")
    _header, frames = read_take(str(work / "take.jsonl"))
    assert len(frames) == 1 and frames[0]["face"], frames


def avatar_files(work):
    """blend/build_avatar.py and the one repository file it reads (the ARKit names), laid out
    as in the repository: 4.3 cannot open blend/avatar.blend, saved by a newer Blender."""
    for rel in (("blend", "build_avatar.py"), ("vstream_addon", "shared", "arkit.py")):
        os.makedirs(os.path.join(work, *rel[:-1]), exist_ok=True)
        shutil.copy(os.path.join(ROOT, *rel), os.path.join(work, *rel))
    return "%s/blend/build_avatar.py" % IN_ROOT_WORK


class HostTracker:
    """This machine's tracker (this worktree's code, the test's virtualenv) playing the clip
    to `port` again and again until stopped: a sender from outside Blender's root."""

    def __init__(self, port):
        self.argv = [sys.executable, "-m", "tracker_service", "--source", data(*CLIP), "--port", str(port),
                     "--listen-port", str(free_udp_port()), "--no-preview"]
        self.stopping = threading.Event()
        self.proc = None
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopping.is_set():
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.proc.wait()

    def stop(self):
        self.stopping.set()
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.thread.join(timeout=10)


def gui_run(zip_path, tracker, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(zip_path, work / os.path.basename(zip_path))
    port = free_udp_port()
    args = ["--zip", "%s/%s" % (IN_ROOT_WORK, os.path.basename(zip_path)), "--port", str(port),
            "--avatar", avatar_files(work), "--video", "%s/%s" % (IN_ROOT_DATA, "/".join(CLIP)),
            "--tracker", tracker]
    sender = HostTracker(port) if tracker == "external" else None
    try:
        result, proc, out = run_in_blender43_gui("gui_blender43.py", args, work, DATA, timeout=300)
    finally:
        if sender is not None:
            sender.stop()
    assert "Traceback" not in proc.stdout + proc.stderr, "a panel or handler raised:\n" + proc.stderr[-4000:]
    return result, out


def test_blender43_gui_extension_with_a_tracker_outside(zips, tmp_path):
    result, out = gui_run(zips["extension"], "external", tmp_path)
    for name in ("add-on imported from the installed extension", "Start from the panel runs the modal operator",
                 "packets arrive", "shape keys move with the tracker's frames", "Record made an Action",
                 "the take keys the shape keys", "Stop ends the session and frees the port"):
        assert name in result["passed"], name
    info = result["info"]
    assert info["sys_executable"].startswith("/usr/bin/python3"), info["sys_executable"]
    print("4.3.2: first frame %.1f s after Start; %d keys moving; take %s" % (
        info["first_frame_s"], len(info["moving_keys"]), info["take"]))


def test_blender43_gui_linux_zip_runs_its_own_tracker(platform_zips, tmp_path):
    """A new user: install the linux-x64 zip from disk, enable it, set the source, press Start."""
    result, out = gui_run(platform_zips["linux-x64"], "bundled", tmp_path)
    for name in ("add-on imported from the installed extension", "Start from the panel runs the modal operator",
                 "Start launched the bundled tracker", "packets arrive", "shape keys move with the tracker's frames",
                 "Record made an Action", "the take keys the shape keys", "Stop ends the session and frees the port",
                 "Stop ends the tracker (pid gone)"):
        assert name in result["passed"], name
    info = result["info"]
    assert info["defaults"] == {"launch_tracker": True, "tracker_command": "", "tracker_source": "0",
                                "tracker_options": ""}, info["defaults"]
    assert info["panel_says"] == "Runs the bundled tracker with Blender's Python 3.13", info["panel_says"]

    # Where the tracker's parts came from. Debian's Blender: /usr/bin/python3.13, Blender's
    # extensions in HOME, numpy from python3-numpy. HOME is the run's folder inside the root.
    home = IN_ROOT_WORK + "/home"
    extension = home + "/.config/blender/4.3/extensions/user_default/vstream"
    site = home + "/.config/blender/4.3/extensions/.local/lib/python3.13/site-packages"
    tracker = info["tracker"]
    assert info["sys_executable"] == "/usr/bin/python3.13", info["sys_executable"]
    assert tracker["cmdline"][0] == info["sys_executable"], tracker["cmdline"]
    assert tracker["pythonpath"] == "", tracker["pythonpath"]
    libraries = tracker["libraries"]
    dlib = [p for p in libraries if "_dlib_pybind11" in p]
    cv2 = [p for p in libraries if "/cv2/" in p]
    numpy = [p for p in libraries if "/numpy/" in p]
    assert dlib and all(p.startswith(site + "/") for p in dlib), libraries
    assert cv2 and all(p.startswith(site + "/") for p in cv2), libraries
    assert numpy and all(p.startswith("/usr/lib/python3/dist-packages/numpy/") for p in numpy), libraries
    # Nothing of the test environment: no path of the machine outside the root (the repository,
    # its virtualenvs) in what the tracker loaded or was started with.
    for path in libraries + tracker["cmdline"]:
        assert ROOT not in path and "/.venv" not in path, path
    parts = [line for line in info["tracker_output"] if "dlib" in line and "model" in line]
    assert len(parts) == 1, info["tracker_output"]
    assert "model %s/tracker/" % extension in parts[0], parts[0]
    print(parts[0])
    assert "no camera: nothing left running" in result["passed"], result["passed"]
    print("no camera: %s" % info["no_camera_error"])
    # Blender quit while this tracker was loading its model; it must not outlive Blender.
    quit_pid = info["quit_pid"]
    assert wait_for(lambda: process_gone(quit_pid), 30), "tracker %d still runs after Blender quit" % quit_pid
    print("4.3.2 bundled: first frame %.1f s after Start; %d keys moving; take %s" % (
        info["first_frame_s"], len(info["moving_keys"]), info["take"]))
