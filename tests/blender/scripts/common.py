"""Helpers shared by the scripts that run inside Blender (module or executable).

Python 3.10 compatible (Blender 3.4 bundles 3.10). Imported by path from the
scripts, so it must not import anything from the repository.
"""

import argparse
import json
import os
import socket
import sys
import time
import traceback

import bmesh
import bpy

LEGACY_MODULE = "vstream_addon"
EXTENSION_MODULE = "bl_ext.user_default.vstream"


def script_args():
    """Arguments after '--' (Blender executable) or after the script (Python)."""
    argv = sys.argv
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    return argv[1:]


def gui_arg_parser():
    """The arguments every GUI scenario takes; add the script's own, then parse script_args()."""
    p = argparse.ArgumentParser()
    p.add_argument("--zip", required=True, help="the legacy add-on zip to install")
    p.add_argument("--port", type=int, required=True, help="the panel's UDP port")
    p.add_argument("--out", required=True, help="folder for screenshots, takes and logs")
    return p


class Checks:
    """Named checks; the first failure raises with a readable message."""

    def __init__(self):
        self.passed = []

    def __call__(self, condition, name, detail=""):
        if not condition:
            raise AssertionError("%s%s" % (name, (": " + str(detail)) if detail != "" else ""))
        if name not in self.passed:
            self.passed.append(name)

    def close(self, a, b, name, tol=1e-4):
        a, b = _as_list(a), _as_list(b)
        ok = len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))
        self(ok, name, "%r != %r (tol %g)" % (a, b, tol))


def _as_list(x):
    try:
        return [float(v) for v in x]
    except TypeError:
        return [float(x)]


def install(kind, zip_path):
    """Install and enable through Blender's own operators; return the module name."""
    if kind == "extension":
        result = bpy.ops.extensions.package_install_files(
            filepath=zip_path, repo="user_default", enable_on_install=True)
        module = EXTENSION_MODULE
    elif kind == "legacy":
        result = bpy.ops.preferences.addon_install(filepath=zip_path, overwrite=True)
        assert result == {'FINISHED'}, result
        result = bpy.ops.preferences.addon_enable(module=LEGACY_MODULE)
        module = LEGACY_MODULE
    else:
        raise ValueError(kind)
    assert result == {'FINISHED'}, result
    assert module in bpy.context.preferences.addons, (module, bpy.context.preferences.addons.keys())
    return module


def disable(module):
    if module and module in bpy.context.preferences.addons:
        bpy.ops.preferences.addon_disable(module=module)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_is_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def action_fcurves(action):
    """All F-Curves of an Action, slotted (4.4+) or legacy."""
    if hasattr(action, "layers") and hasattr(action, "slots"):
        curves = []
        for layer in action.layers:
            for strip in layer.strips:
                for bag in strip.channelbags:
                    curves.extend(bag.fcurves)
        return curves
    return list(action.fcurves)


def pid_gone(pid):
    """True once no process has `pid` (a child the add-on stopped has been reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def run(main):
    """Run main(checks), print a RESULT line, exit with 0 only if it returned."""
    checks = Checks()
    code = 1
    result = {"passed": checks.passed, "blender": bpy.app.version_string}
    try:
        extra = main(checks)
        if extra:
            result.update(extra)
        code = 0
    except BaseException as e:  # report everything, including SystemExit from below
        traceback.print_exc()
        result["error"] = "%s: %s" % (type(e).__name__, e)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.exit(code)


def run_installed(kind, zip_path, scenario):
    """run() a scenario of one installed zip: install it, check the add-on was
    imported from the install (not the repository), return scenario(check, module),
    and disable the add-on however it ends (the 4.5 module hangs at exit otherwise)."""
    def main(check):
        module = install(kind, os.path.abspath(zip_path))
        try:
            pkg = sys.modules[module]
            check(os.path.realpath(pkg.__file__).startswith(os.path.realpath(home_dir())),
                  "add-on imported from the installed zip, not the repository", pkg.__file__)
            return scenario(check, module)
        finally:
            disable(module)
    run(main)


def wait_until(predicate, timeout=3.0, step=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def tick_until(ops, predicate, what=None, timeout=3.0, step=0.01):
    """Call the add-on's tick (as the session's timer would; no event loop
    runs in the bpy module or `blender -b`) until predicate(); return True.

    After `timeout`: fail naming `what`, or, with what=None, return False so
    the caller can say more (kernel drops, counts) in its own message."""
    if wait_until(lambda: (ops.tick(bpy.context), predicate())[1], timeout=timeout, step=step):
        return True
    if what is None:
        return False
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


def announce_and_tick_until_killed(ops, pid, timeout=120):
    """Print `TRACKER_PID n blender VERSION` for the test (blenders.kill_blender_and_wait_for_tracker),
    then keep ticking as a live Blender would until it kills this process."""
    sys.stdout.write("TRACKER_PID %d blender %s\n" % (pid, bpy.app.version_string))
    sys.stdout.flush()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ops.tick(bpy.context)
        time.sleep(0.02)
    raise AssertionError("not killed within %d s" % timeout)


def home_dir():
    return os.environ.get("HOME", "")


# -- scenes built in code (3.4 cannot open files saved by newer Blenders) --------

def build_face_mesh(key_names, value=0.0, dent=0.01, name="Face"):
    """A 3x3-vertex face object `name` with a Basis and one shape key per name, linked to the scene.

    Key k moves vertex k (mod 9) back by `dent`, so every key changes the mesh.
    Every key starts at `value`: 5.0 creates new shape keys at 1.0, older
    Blenders at 0.0.
    """
    mesh = bpy.data.meshes.new(name + "Mesh")
    verts = [(x * 0.1, -0.1, 1.5 + z * 0.1) for z in range(3) for x in range(3)]
    faces = [(r * 3 + c, r * 3 + c + 1, r * 3 + c + 4, r * 3 + c + 3) for r in range(2) for c in range(2)]
    mesh.from_pydata(verts, [], faces)
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis", from_mix=False)
    for k, name in enumerate(key_names):
        block = obj.shape_key_add(name=name, from_mix=False)
        block.data[k % len(verts)].co.y -= dent
        block.value = value
    return obj


def build_sphere(name, radius, segments):
    """A UV sphere object (`segments` around, half as many rings) linked to the
    scene: a face that looks like one in screenshots."""
    mesh = bpy.data.meshes.new(name + "Mesh")
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=segments, v_segments=segments // 2, radius=radius)
    bm.to_mesh(mesh)
    bm.free()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def build_armature(name, bones):
    """An armature object linked to the scene; bones: [(name, head, tail, roll, parent)]
    in armature space, each optionally followed by `connected` (use_connect to its parent)."""
    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    bpy.ops.object.mode_set(mode='EDIT')
    for bname, head, tail, roll, parent, *connected in bones:
        eb = arm.edit_bones.new(bname)
        eb.head, eb.tail, eb.roll = head, tail, roll
        if parent:
            eb.parent = arm.edit_bones[parent]
            eb.use_connect = bool(connected and connected[0])
    bpy.ops.object.mode_set(mode='OBJECT')
    return obj


# -- GUI Blender under Xvfb: driving the real event loop ------------------------

def view3d():
    """The first window's 3D View area and its main region."""
    win = bpy.context.window_manager.windows[0]
    area = next(a for a in win.screen.areas if a.type == 'VIEW_3D')
    region = next(r for r in area.regions if r.type == 'WINDOW')
    return win, area, region


def press(op, **kw):
    """Run an operator as a click in the 3D View would."""
    win, area, region = view3d()
    with bpy.context.temp_override(window=win, area=area, region=region):
        return op(**kw)


def redraw():
    """Ask every area of the first window to draw again (panels draw only when asked)."""
    for area in bpy.context.window_manager.windows[0].screen.areas:
        area.tag_redraw()


def screenshot(path):
    win, area, _ = view3d()
    with bpy.context.temp_override(window=win, area=area):
        bpy.ops.screen.screenshot(filepath=path)


def show_vstream_tab():
    """Open the 3D View's sidebar and click its VStream tab (3.4 has no API to pick a category).

    Only for what a person sees (screenshots, panel draws); nothing is asserted on the click itself.
    """
    win, area, _ = view3d()
    area.spaces.active.show_region_ui = True
    ui = next(r for r in area.regions if r.type == 'UI')
    # Tabs run top-down along the sidebar's right edge: Item, Tool, View, VStream
    # (the fourth is centred about 165 px below the top at 1280x720, scale 1).
    x = ui.x + ui.width - 10
    y = ui.y + ui.height - int(165 * bpy.context.preferences.system.ui_scale)
    win.event_simulate(type='MOUSEMOVE', value='NOTHING', x=x, y=y)
    win.event_simulate(type='LEFTMOUSE', value='PRESS', x=x, y=y)
    win.event_simulate(type='LEFTMOUSE', value='RELEASE', x=x, y=y)


def press_esc():
    """Esc in the first window: closes the splash screen, stops a running session (Stop's key map item)."""
    win = bpy.context.window_manager.windows[0]
    win.event_simulate(type='ESC', value='PRESS')
    win.event_simulate(type='ESC', value='RELEASE')


def wait(cond, seconds, what, step=0.05):
    """Generator for drive_gui: yield until cond() or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (seconds, what))
        yield step


def sleep(seconds):
    """Generator for drive_gui: let Blender's event loop run for `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        yield 0.05


def drive_gui(steps, checks, timeout, cleanup=(), report=dict, quit=False):
    """Run the generator `steps` from a bpy.app.timers timer, so Blender's own
    event loop (timers, key maps, redraws) runs between its yields, which are
    seconds to wait. Then run the `cleanup` calls, print a RESULT line with
    what report() returns added, and exit: 0 only if `steps` finished and every
    cleanup call succeeded. Fails after `timeout` seconds.

    quit=True: once `steps` finish, print the RESULT and quit the way a user
    does (wm.quit_blender), without the cleanup calls, so that what Blender's
    exit ends is under test; the cleanup calls then run only on a failure."""
    start = time.monotonic()

    def result_line(error=None):
        result = {"passed": checks.passed, "blender": bpy.app.version_string}
        result.update(report())
        if error:
            result["error"] = error
        sys.stdout.write("RESULT " + json.dumps(result) + "\n")
        sys.stdout.flush()

    def finish(code, error=None):
        if code == 0 and quit:
            result_line()
            bpy.ops.wm.quit_blender()
            return
        for call in cleanup:
            try:
                call()
            except Exception:
                traceback.print_exc()
                code = code or 1
        result_line(error)
        os._exit(code)  # sys.exit from a timer is caught by Blender in some versions

    def step():
        try:
            if time.monotonic() - start > timeout:
                raise AssertionError("GUI scenario took longer than %.0f s" % timeout)
            return next(steps)
        except StopIteration:
            finish(0)
        except BaseException as e:
            traceback.print_exc()
            finish(1, "%s: %s" % (type(e).__name__, e))
        return None

    bpy.app.timers.register(step, first_interval=1.0, persistent=True)


def stop_addon(module):
    """Cleanup for drive_gui: end any session without baking, then disable the add-on."""
    if "vstream_addon.blender.operators" in sys.modules:
        sys.modules["vstream_addon.blender.operators"].stop_session(None, bake=False)
    disable(module)
