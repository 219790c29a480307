"""Debian 13's Blender 4.3.2 (a GUI Blender built on the system's Python 3.13, in its own
root: scripts/setup_blender43.sh), as a new user meets the add-on.

- Its own extension validator (`blender --command extension validate`) accepts every
  extension zip the build makes.
- The linux-x64 zip unpacked as Blender unpacks it runs its tracker on a photo with Debian
  13's python3 (3.13, nothing but numpy beside the standard library).
- In the GUI under Xvfb, as a new user: the linux-x64 zip installed from disk with Blender's
  own operator and enabled; Start as installed says there is no camera; with the clip as
  the source Start runs the bundled tracker with Blender's own Python (dlib and OpenCV from
  the extension's wheels, numpy Debian's, the model from the extension's folder): packets
  arrive, shape keys move, Record makes an Action, Stop ends the tracker; removing the
  extension while the tracker loads ends it, and installing it again, Start runs it again
  (this used to segfault 4.3.2: tests/blender/test_session_lifetime.py); in another run, quitting Blender while the
  tracker loads its model leaves nothing running. The plain extension zip the
  same way, fed by a tracker outside the root.

Everything runs inside the root through blenders.in_root_command: nothing of this
machine's virtualenvs or the repository is visible on any path there.
"""

import os
import shutil
import subprocess
import sys
import threading

from blenders import IN_ROOT_DATA, IN_ROOT_WORK, in_root_command, run_in_blender43_gui
from conftest import DATA, ROOT, data, free_udp_port, process_gone, wait_for
from extension_zip import manifest, pick, unpack
from vstream_addon.shared.take import read_take

CLIP = ("video", "webcam_cap12.mp4")


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
        print("%s: %s" % (label, proc.stdout.strip()))
        assert proc.returncode == 0 and "Success" in output, "%s: exit %d\n%s" % (label, proc.returncode, output)


# -- the linux-x64 zip unpacked as Blender unpacks it, on Debian 13's Python with only numpy --
# (tests/tracker/test_bundled_plain.py does the same with the test runner's Python 3.11 and -S)

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
    # As Blender installs it: files in work/vstream, the wheels pip picks for CPython 3.13 in one site-packages.
    wheels = pick(manifest(platform_zips["linux-x64"])["wheels"], "linux-x64", "3.13")
    assert sorted(wheels) == ["dlib-bin", "opencv-python", "python-osc", "threadpoolctl", "tqdm"], wheels
    assert "cp313" in wheels["dlib-bin"], wheels
    unpack(platform_zips["linux-x64"], str(work), wheels.values())
    inside = IN_ROOT_WORK
    proc = run_in_root(["env", "PYTHONPATH=%s/vstream/tracker:%s/site-packages" % (inside, inside),
                        "python3", "-m", "tracker_service", "--source", IN_ROOT_DATA + "/stills/single_face.jpg",
                        "--out", inside + "/take.jsonl", "--no-preview"], work, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    parts = [line for line in proc.stderr.splitlines() if "dlib" in line and "model" in line]
    assert len(parts) == 1, proc.stderr
    for where in ("(%s/site-packages/dlib)" % inside, "(%s/site-packages/cv2)" % inside,
                  "(/usr/lib/python3/dist-packages/numpy)", "model %s/vstream/tracker/" % inside):
        assert where in parts[0], (where, parts[0])
    print(parts[0])
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
    for name in ("add-on imported from the installed extension", "Start from the panel runs the session on its timer",
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
    for name in ("add-on imported from the installed extension", "Start from the panel runs the session on its timer",
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
    for name in ("no camera: nothing left running", "removing the extension ends its tracker",
                 "the extension is disabled and its folder gone", "Blender removed the tracker's wheels too",
                 "reinstalled: Start launches the tracker", "reinstalled: packets arrive",
                 "reinstalled: shape keys move with the tracker's frames",
                 "reinstalled: Stop ends the session and tracker"):
        assert name in result["passed"], name
    print("no camera: %s" % info["no_camera_error"])
    print("4.3.2 bundled: first frame %.1f s after Start; %d keys moving; take %s" % (
        info["first_frame_s"], len(info["moving_keys"]), info["take"]))


def test_blender43_gui_quitting_while_the_bundled_tracker_loads_ends_it(platform_zips, tmp_path):
    result, _ = gui_run(platform_zips["linux-x64"], "bundled-quit", tmp_path)
    assert "Start before quitting" in result["passed"], result["passed"]
    quit_pid = result["info"]["quit_pid"]
    # Blender quit about a second after Start, while this tracker loaded its model.
    assert wait_for(lambda: process_gone(quit_pid), 30), "tracker %d still runs after Blender quit" % quit_pid
