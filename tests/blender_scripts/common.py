"""Helpers shared by the scripts that run inside Blender (module or executable).

Python 3.10 compatible (Blender 3.4 bundles 3.10). Imported by path from the
scripts, so it must not import anything from the repository.
"""

import json
import os
import socket
import sys
import time
import traceback

import bpy

LEGACY_MODULE = "vstream_addon"
EXTENSION_MODULE = "bl_ext.user_default.vstream"


def script_args():
    """Arguments after '--' (Blender executable) or after the script (Python)."""
    argv = sys.argv
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    return argv[1:]


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


def wait_until(predicate, timeout=3.0, step=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def home_dir():
    return os.environ.get("HOME", "")
