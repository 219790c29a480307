"""The add-on's layout holds: shared/ and core/ import without Blender, no module of the
package imports itself back through others, and each concept the layout gives one
place has only that one.

    vstream_addon/shared/   what the tracker imports too: standard library only
    vstream_addon/core/     plain values in and out: never bpy, never blender/
    vstream_addon/blender/  everything that touches Blender
"""

import ast
import functools
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = "vstream_addon"
BLENDER_MODULES = ("bpy", "bpy_extras", "bmesh", "mathutils", "_bpy")


def package_modules():
    """{dotted module name: file path} of every module of the add-on package."""
    found = {}
    top = os.path.join(ROOT, PACKAGE)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        parts = [PACKAGE] + [p for p in os.path.relpath(dirpath, top).split(os.sep) if p != "."]
        for name in filenames:
            if name.endswith(".py"):
                dotted = ".".join(parts + ([] if name == "__init__.py" else [name[:-3]]))
                found[dotted] = os.path.join(dirpath, name)
    return found


@functools.lru_cache(maxsize=None)
def parsed(path):
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read(), path)


def imports_of(module, path, known):
    """The package's modules `module` imports anywhere in its file (function bodies too:
    an import deferred into a function is how a cycle hides)."""
    tree = parsed(path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module
            # `from pkg import mod` names a module; `from mod import name` names mod.
            names = [stem + "." + alias.name if stem + "." + alias.name in known else stem for alias in node.names]
        else:
            continue
        out |= {name for name in names if name in known and name != module}
    return out


def import_graph():
    known = package_modules()
    return {module: imports_of(module, path, known) for module, path in known.items()}


def test_shared_and_core_import_with_blender_absent():
    """Every module of shared/ and core/ imports in a Python where bpy cannot be imported at all."""
    targets = sorted(m for m in package_modules()
                     if m.startswith((PACKAGE + ".shared", PACKAGE + ".core")))
    assert len(targets) > 10, targets
    code = "\n".join([
        "import importlib, sys",
        "BLOCKED = %r" % (BLENDER_MODULES,),
        "class NoBlender:",
        "    def find_spec(self, name, path=None, target=None):",
        "        if name.split('.')[0] in BLOCKED:",
        "            raise ImportError('no Blender here: ' + name)",
        "sys.meta_path.insert(0, NoBlender())",
        "for name in %r:" % (targets,),
        "    importlib.import_module(name)",
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED)",
        "assert not loaded, loaded",
        "assert not any(m.startswith('%s.blender') for m in sys.modules)" % PACKAGE,
        "print('imported', len(%r))" % (targets,),
    ])
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "imported %d" % len(targets) in result.stdout


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    state = {}  # module -> "open" while on the current path, "done" after

    def visit(module, path):
        state[module] = "open"
        for dep in sorted(graph[module]):
            if state.get(dep) == "open":
                cycle = path[path.index(dep):] + [dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, path + [dep])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_layers_import_only_downwards():
    """shared/ imports nothing of the package outside itself; core/ nothing of blender/."""
    for module, deps in import_graph().items():
        if module.startswith(PACKAGE + ".shared"):
            assert all(d.startswith(PACKAGE + ".shared") or d == PACKAGE for d in deps), (module, deps)
        if module.startswith(PACKAGE + ".core"):
            assert not any(d.startswith(PACKAGE + ".blender") for d in deps), (module, deps)


def test_the_tracker_imports_only_shared():
    folder = os.path.join(ROOT, "tracker_service")
    known = package_modules()
    seen = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            deps = imports_of("tracker_service." + name[:-3], os.path.join(folder, name), known)
            seen.update({dep: name for dep in deps})
    assert seen, "the tracker imports nothing of the add-on?"
    assert all(dep.startswith(PACKAGE + ".shared") for dep in seen), seen


def _definitions():
    """[(module, function or class name, node)] of every definition in the package."""
    out = []
    for module, path in package_modules().items():
        tree = parsed(path)
        out += [(module, node.name, node) for node in ast.walk(tree)
                if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    return out


def _calls(attribute):
    """Modules of the package that call something named `attribute` (x.attribute(...) or attribute(...))."""
    found = set()
    for module, path in package_modules().items():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name == attribute:
                    found.add(module)
    return found


def test_one_registration():
    """Blender classes are registered and unregistered in one place: blender/__init__.py."""
    where = set()
    for call in ("register_class", "unregister_class", "register_classes_factory"):
        where |= _calls(call)
    assert where == {PACKAGE + ".blender"}, where


def test_one_quaternion_normalize_and_multiply():
    quaternion_ops = [(module, name) for module, name, _ in _definitions()
                      if "normaliz" in name.lower() or name.lower() in ("mul", "quat_mul", "multiply")]
    assert quaternion_ops and {m for m, _ in quaternion_ops} == {PACKAGE + ".core.quaternions"}, quaternion_ops


def test_one_value_rule():
    """A shape key's value is composed in core/values.py alone: the entry curve and the VRM
    formulas are called there (and inside mapping and shared/vrm themselves), nowhere else.
    The decoders of other senders (core/sources) clamp what they receive to 0..1 with the
    same clamp01, which composes nothing."""
    own = {PACKAGE + ".core.mapping", PACKAGE + ".shared.vrm"}
    for ingredient in ("apply_entry", "vrm_weights", "clamp01"):
        callers = {m for m in _calls(ingredient) - own
                   if not (ingredient == "clamp01" and m.startswith(PACKAGE + ".core.sources."))}
        assert callers == {PACKAGE + ".core.values"}, (ingredient, callers)


def run_without_bpy(statements):
    """Run `statements` in a Python where bpy and mathutils are absent (None in sys.modules)."""
    code = "import sys; sys.modules['bpy'] = None; sys.modules['mathutils'] = None\n" + statements
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_pure_modules_import_without_bpy():
    run_without_bpy("import vstream_addon, vstream_addon.core.receiver, vstream_addon.core.quaternions, "
                    "vstream_addon.core.recorder, vstream_addon.core.session\n"
                    "vstream_addon.core.recorder.Recorder().add(None)\n")


def test_live_modules_import_without_bpy():
    run_without_bpy("import vstream_addon.core.face_transform, vstream_addon.core.values, vstream_addon.core.rig, "
                    "vstream_addon.core.neutral, vstream_addon.shared.one_euro\n")


def test_imports_without_bpy():
    run_without_bpy("import vstream_addon.core.mapping, vstream_addon.core.values\n")
