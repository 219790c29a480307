"""The add-on in real Blender: built zips installed through Blender's own operators.

Blenders tested: 5.0 and 4.5 LTS as Python modules (bpy 5.0.1 in .venv, bpy
4.5.3 in .venv-bpy45; both made by scripts/setup.sh) and the 3.4 executable.
Each scenario runs in its own process with its own temporary HOME, because
installing an add-on writes user preferences and the bpy module can hang at
exit while classes are still registered (the scripts disable the add-on
before they exit; a hang fails the test at its timeout). Scenarios print
`RESULT {json}` and exit 0 only if every check inside passed; the checks
themselves live in tests/blender_scripts/.
"""

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(ROOT, "tests", "blender_scripts")
sys.path.insert(0, ROOT)
import build_addon  # noqa: E402

PURE_MODULES = ("shared/protocol.py", "shared/arkit.py", "shared/take.py")
ADDON_MODULES = ("__init__.py", "blender/__init__.py", "blender/operators.py", "core/receiver.py",
                 "core/quaternions.py", "core/recorder.py", "blender/bake.py", "core/session.py")

# Blender as a Python module: the ids tests are parametrized with.
BPY_MODULES = ("bpy5.0", "bpy4.5")
BLENDER34 = "blender3.4"
VERSION_PREFIX = {"bpy5.0": "5.0.", "bpy4.5": "4.5.", BLENDER34: "3.4."}


def blender_executable():
    path = os.environ.get("VSTREAM_BLENDER") or shutil.which("blender")
    if not path:
        pytest.fail("Blender executable not found (install it with scripts/setup.sh, "
                    "or set VSTREAM_BLENDER): the Blender 3.4 tests cannot run")
    return path


def bpy_python(target):
    """The Python interpreter whose bpy module is the Blender `target` names."""
    if target == "bpy5.0":
        return sys.executable  # the test runner's own .venv (requirements.txt)
    if target == "bpy4.5":
        path = os.environ.get("VSTREAM_BPY45_PYTHON") or os.path.join(ROOT, ".venv-bpy45", "bin", "python")
        if not os.path.isfile(path):
            pytest.fail("Blender 4.5 module not found at %s: run `bash scripts/setup.sh --tests` (scripts/test.sh "
                        "does; it makes .venv-bpy45 from requirements-bpy45.txt) or set VSTREAM_BPY45_PYTHON" % path)
        return path
    raise ValueError(target)


def scenario_command(target, script, args, timeout):
    """Command line running a tests/blender_scripts script in the Blender `target` names."""
    script = os.path.join(SCRIPTS, script)
    if target == BLENDER34:
        return ["timeout", str(timeout), blender_executable(), "-b", "--factory-startup",
                "--python-exit-code", "1", "--python", script, "--", *args]
    return ["timeout", str(timeout), bpy_python(target), script, *args]


def run_in_blender(target, script, args, home, timeout=240):
    """Run a scenario script in one Blender; return (its RESULT dict, the finished process)."""
    result, proc = run_scenario_process(scenario_command(target, script, args, timeout), home, timeout + 30)
    assert result["blender"].startswith(VERSION_PREFIX[target]), (target, result["blender"])
    return result, proc


def run_in_gui(script, args, tmp_path, timeout=280):
    """Run a GUI scenario script in Blender 3.4 under Xvfb, with --out (for its
    screenshots and logs) and HOME in `tmp_path`; return (RESULT dict, the
    finished process, the --out folder)."""
    xvfb = shutil.which("xvfb-run")
    if not xvfb:
        pytest.fail("xvfb-run not found (apt-get install xvfb xauth; scripts/setup.sh installs it)")
    out, home = tmp_path / "out", tmp_path / "home"
    out.mkdir()
    home.mkdir()
    cmd = [xvfb, "-a", "-s", "-screen 0 1280x720x24",
           "timeout", str(timeout), blender_executable(), "--factory-startup", "--enable-event-simulate",
           "--python", os.path.join(SCRIPTS, script), "--", "--out", str(out), *args]
    result, proc = run_scenario_process(cmd, home, timeout + 40)
    assert result["blender"].startswith(VERSION_PREFIX[BLENDER34]), result["blender"]
    return result, proc, out


def clean_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_")}
    env["HOME"] = str(home)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_scenario(cmd, home, timeout=240):
    return run_scenario_process(cmd, home, timeout)[0]


def run_scenario_process(cmd, home, timeout=240):
    """Run a Blender scenario script; return (its RESULT dict, the finished process)."""
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=clean_env(home), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail("scenario timed out after %ds: %s\n%s" % (timeout, " ".join(cmd), e.stdout))
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    detail = "exit %d\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
        proc.returncode, proc.stdout[-6000:], proc.stderr[-6000:])
    if cmd[0] == "timeout" and proc.returncode == 124:
        pytest.fail("scenario killed by `timeout %s`%s: %s\n%s" % (
            cmd[1], " after its RESULT line (hung at exit)" if result is not None else "", " ".join(cmd), detail))
    assert result is not None, "no RESULT line\n" + detail
    assert "error" not in result, result["error"] + "\n" + detail
    assert proc.returncode == 0, detail
    return result, proc


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    return build_addon.build(str(tmp_path_factory.mktemp("dist")))


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


# Checks every scenario must report as passed; a scenario that silently
# skipped a section would not list them.
KEY_CHECKS = (
    "add-on imported from the installed zip, not the repository",
    "panel class registered",
    "session bound to the port",
    "EYEBLINKLEFT matches eyeBlinkLeft (case-insensitive)",
    "posed point equals the armature-space rotation (bone along +Y, rolled)",
    "rejected counted as non-finite",
    "tracker receives a calibrate control datagram",
    "mouthsmileright key values",
    "four rotation_quaternion curves on the head bone",
    "playback: head turns as recorded",
    "every frame keyed or counted as merged",
    "busy port gives the clear message",
    "nothing half-started",
    "stop closes the socket: the port can be bound again",
    "loading a file closes the socket",
    "disabling the add-on closes the socket",
)


@pytest.mark.parametrize("target,kind", [
    ("bpy5.0", "extension"), ("bpy5.0", "legacy"),
    ("bpy4.5", "extension"), ("bpy4.5", "legacy"),
    (BLENDER34, "legacy"),
])
def test_install_and_live_session(target, kind, zips, tmp_path):
    """Install through Blender's own operators, then live, record and bake end to end.

    5.0 and 4.5 LTS: both zips, slotted Actions; 3.4 (executable, background):
    the legacy zip and the legacy Action API.
    """
    result, _ = run_in_blender(target, "scenario_live.py", ["--zip", zips[kind], "--kind", kind], tmp_path)
    for name in KEY_CHECKS:
        assert name in result["passed"], name
    slotted = target != BLENDER34
    assert result["slotted_actions"] is slotted
    if slotted:
        for name in ("one slot and one layer per Action", "slot made for its ID type", "action slots assigned"):
            assert name in result["passed"], name
    if target == "bpy4.5":
        assert "legacy Action.fcurves shows the slotted curves (4.4, 4.5)" in result["passed"]
