"""The demo avatar: blend/avatar.blend and the script that builds it.

Real Blender only: the committed file is opened in the bpy 5.0 module and in
GUI Blender 3.4 (``blender -b``), each in its own subprocess with its own
temporary HOME, and inspected from inside Blender.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import ROOT

BLEND = os.path.join(ROOT, "blend", "avatar.blend")
SCRIPT = os.path.join(ROOT, "blend", "build_avatar.py")
sys.path.insert(0, ROOT)
from vstream_addon.shared.arkit import ARKIT_NAMES  # noqa: E402

FACE, RIG = "VStreamFace", "VStreamRig"

# Runs inside Blender (3.4 or the 5.0 module). argv after "--": out.json [file.blend]
INSPECT = r'''
import json, math, sys
import bpy
from mathutils import Matrix, Vector

args = sys.argv[sys.argv.index("--") + 1:]
out = args[0]
if len(args) > 1:
    bpy.ops.wm.open_mainfile(filepath=args[1])
sys.path.insert(0, BLEND_DIR)
import build_avatar

face = bpy.data.objects["VStreamFace"]
rig = bpy.data.objects["VStreamRig"]
scene = bpy.context.scene
keys = face.data.shape_keys.key_blocks
basis = [k.co.copy() for k in keys[0].data]
zs = [c.z for c in basis]
info = {
    "blender": bpy.app.version_string,
    "file_version": list(bpy.data.version),
    "objects": {o.name: o.type for o in bpy.data.objects},
    "keys": [k.name for k in keys],
    "values": {k.name: k.value for k in keys},
    "relative_to_basis": all(k.relative_key == keys[0] for k in keys),
    "head_height": max(zs) - min(zs),
    "n_verts": len(face.data.vertices),
    "bones": {b.name: (b.parent.name if b.parent else None) for b in rig.data.bones},
    "bone_heads": {b.name: list(b.head_local) for b in rig.data.bones},
    "bone_tails": {b.name: list(b.tail_local) for b in rig.data.bones},
    "modifiers": [(m.type, m.object.name if getattr(m, "object", None) else None)
                  for m in face.modifiers],
    "groups": [g.name for g in face.vertex_groups],
    "engine": scene.render.engine,
    "camera": scene.camera.name if scene.camera else None,
    "lights": [o.name for o in bpy.data.objects if o.type == "LIGHT"],
    "materials": [m.name for m in face.data.materials],
}

# per key: largest displacement, and where/how the moving part moves
stats = {}
for k in keys[1:]:
    d = [k.data[i].co - basis[i] for i in range(len(basis))]
    lens = [v.length for v in d]
    big = max(lens)
    moved = [i for i, l in enumerate(lens) if l > 0.25 * big] if big > 0 else []
    w = sum(lens[i] for i in moved) or 1.0
    cx = sum(basis[i].x * lens[i] for i in moved) / w
    mean = sum((d[i] for i in moved), Vector()) / max(1, len(moved))
    # the front-most fifth of the moving vertices (pupils, lid edges, tongue tip)
    front = sorted(moved, key=lambda i: basis[i].y)[:max(1, len(moved) // 5)]
    fmean = sum((d[i] for i in front), Vector()) / max(1, len(front))
    stats[k.name] = {"max": big, "cx": cx, "mean": list(mean), "front": list(fmean),
                     "min_dz": min(v.z for v in d), "min_dy": min(v.y for v in d)}
info["stats"] = stats

# every 3D View the file opens with: where it looks from, and the face mesh's vertices as it sees them
world = [face.matrix_world @ c for c in basis]
views = []
for screen in bpy.data.screens:
    for area in screen.areas:
        for space in area.spaces:
            if space.type != "VIEW_3D" or space.region_3d is None:
                continue
            r3d = space.region_3d
            rot = r3d.view_rotation.copy()
            eye = r3d.view_location + rot @ Vector((0.0, 0.0, r3d.view_distance))
            inv = rot.inverted()
            cam = [inv @ (c - eye) for c in world]
            # The view's half field of view as the build framed it (a 16:9 screen's shape at most).
            half_w, half_h = build_avatar.view_half_extents(area.width, area.height, space.lens)
            views.append({"screen": screen.name, "perspective": r3d.view_perspective,
                          "forward": list(rot @ Vector((0.0, 0.0, -1.0))),
                          "nearest": min(-c.z for c in cam),
                          "across": [min(c.x / -c.z for c in cam) / half_w, max(c.x / -c.z for c in cam) / half_w],
                          "up": [min(c.y / -c.z for c in cam) / half_h, max(c.y / -c.z for c in cam) / half_h]})
info["views"] = views
info["basis_sig"] = [sum(c.x for c in basis), sum(c.y for c in basis), sum(c.z for c in basis)]

# evaluated mesh (shape keys + armature) through the depsgraph
def evaluated():
    bpy.context.view_layer.update()
    dg = bpy.context.evaluated_depsgraph_get()
    ev = face.evaluated_get(dg)
    me = ev.to_mesh()
    co = [ev.matrix_world @ v.co for v in me.vertices]
    ev.to_mesh_clear()
    return co

rest = evaluated()
info["rest_matches_basis"] = max((a - face.matrix_world @ b).length for a, b in zip(rest, basis))

pb = rig.pose.bones["head"]
pb.rotation_mode = "XYZ"
pb.rotation_euler = (math.radians(20.0), math.radians(30.0), 0.0)
posed = evaluated()
# the rigid motion the head bone applies, in world space
m = rig.matrix_world @ pb.matrix @ pb.bone.matrix_local.inverted() @ rig.matrix_world.inverted()
neck_top = rig.matrix_world @ pb.bone.head_local
gi = face.vertex_groups["head"].index
head_ids = [v.index for v in face.data.vertices
            if any(g.group == gi and g.weight >= 0.999 for g in v.groups)]
head_set = set(head_ids)
info["head_checked"] = len(head_ids)
info["unweighted_above_neck"] = sum(1 for i, p in enumerate(rest)
                                    if p.z > neck_top.z + 0.2 and i not in head_set)
info["head_rigid_error"] = max((posed[i] - m @ rest[i]).length for i in head_ids)
info["head_max_move"] = max((posed[i] - rest[i]).length for i in head_ids)
base_ids = [i for i, p in enumerate(rest) if p.z < min(zs) + 0.1]
info["neck_base_move"] = max((posed[i] - rest[i]).length for i in base_ids)
pb.rotation_euler = (0.0, 0.0, 0.0)

keys["jawOpen"].value = 1.0
opened = evaluated()
info["jaw_eval_move"] = max((a - b).length for a, b in zip(opened, rest))
keys["jawOpen"].value = 0.0

with open(out, "w") as f:
    json.dump(info, f)
'''


def _blender_exe():
    exe = shutil.which("blender")
    if not exe:
        pytest.fail("GUI Blender 3.4 ('blender' on PATH) is needed: scripts/setup.sh installs it")
    return exe


def _run(cmd, timeout=300):
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=ROOT)
    if proc.returncode != 0:
        pytest.fail("%s failed (%d):\n%s\n%s" % (cmd[0], proc.returncode,
                                                 proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


def _inspect(runner, blend, tmp):
    script = os.path.join(tmp, "inspect_avatar.py")
    out = os.path.join(tmp, "info-%s.json" % runner)
    with open(script, "w") as f:
        f.write("BLEND_DIR = %r\n" % os.path.dirname(SCRIPT) + INSPECT)
    if runner == "module":
        _run([sys.executable, script, "--", out, blend])
    else:
        _run([_blender_exe(), "-b", "--factory-startup", blend, "--python", script, "--", out])
    if not os.path.exists(out):
        pytest.fail("%s wrote no report" % runner)
    with open(out) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def infos(tmp_path_factory):
    assert os.path.exists(BLEND), "blend/avatar.blend is not committed"
    tmp = str(tmp_path_factory.mktemp("avatar"))
    return {runner: _inspect(runner, BLEND, tmp) for runner in ("module", "blender34")}


RUNNERS = ("module", "blender34")


def test_file_is_small_and_saved_by_blender_34(infos):
    assert os.path.getsize(BLEND) < 2 * 1024 * 1024
    assert tuple(infos["module"]["file_version"][:2]) == (3, 4), infos["module"]["file_version"]
    assert infos["module"]["blender"].startswith("5.0")
    assert infos["blender34"]["blender"].startswith("3.4")


@pytest.mark.parametrize("runner", RUNNERS)
def test_opens_framed_on_the_face(infos, runner):
    """Every 3D View of the file looks at the face from the front, near enough that the whole
    mesh (head and neck) fits in the view and spans most of its height."""
    views = infos[runner]["views"]
    assert any(v["screen"] == "Layout" for v in views), [v["screen"] for v in views]
    for v in views:
        assert v["perspective"] == "PERSP", v["screen"]
        assert v["forward"][1] > 0.9, ("looks at the face's front (it faces -Y)", v["screen"], v["forward"])
        assert v["nearest"] > 0.5, ("the face is in front of the view", v["screen"])
        across, up = v["across"], v["up"]
        assert max(abs(c) for c in across + up) <= 1.0, ("the whole face mesh is in view", v["screen"], across, up)
        assert (up[1] - up[0]) / 2.0 >= 0.6, ("the face mesh spans most of the view's height", v["screen"], up)


@pytest.mark.parametrize("runner", RUNNERS)
def test_opens_with_all_arkit_keys_at_zero(infos, runner):
    info = infos[runner]
    assert info["objects"][FACE] == "MESH"
    assert info["objects"][RIG] == "ARMATURE"
    assert info["keys"] == ["Basis"] + list(ARKIT_NAMES)
    assert all(v == 0.0 for v in info["values"].values()), info["values"]
    assert info["relative_to_basis"]
    assert info["rest_matches_basis"] < 1e-5


@pytest.mark.parametrize("runner", RUNNERS)
def test_rig_and_skinning(infos, runner):
    info = infos[runner]
    assert info["bones"] == {"neck": None, "head": "neck"}
    neck_head, neck_tail = info["bone_heads"]["neck"], info["bone_tails"]["neck"]
    head_head, head_tail = info["bone_heads"]["head"], info["bone_tails"]["head"]
    assert neck_tail[2] > neck_head[2] and head_tail[2] > head_head[2]   # both point up
    assert abs(head_head[2] - neck_tail[2]) < 1e-4                       # head sits on the neck
    assert ("ARMATURE", RIG) in [tuple(m) for m in info["modifiers"]]
    assert {"head", "neck"} <= set(info["groups"])


@pytest.mark.parametrize("runner", RUNNERS)
def test_scene_renders_in_workbench(infos, runner):
    info = infos[runner]
    assert info["engine"] == "BLENDER_WORKBENCH"
    assert info["camera"] and info["objects"][info["camera"]] == "CAMERA"
    assert info["lights"]
    for name in ("VStreamSkin", "VStreamEyeWhite", "VStreamPupil", "VStreamLips",
                 "VStreamBrow", "VStreamMouthInterior"):
        assert name in info["materials"]


@pytest.mark.parametrize("runner", RUNNERS)
def test_every_key_moves_vertices(infos, runner):
    info = infos[runner]
    small = 0.01 * info["head_height"]
    weak = {k: s["max"] for k, s in info["stats"].items() if s["max"] < small}
    assert not weak, "keys that barely move anything (< %.3f): %s" % (small, weak)


def test_keys_move_the_right_way(infos):
    st = infos["module"]["stats"]
    for name in ARKIT_NAMES:
        if name in ("mouthLeft", "mouthRight", "jawLeft", "jawRight"):
            continue
        if name.endswith("Left"):      # the character's left is +X
            assert st[name]["cx"] > 0.05, (name, st[name])
        elif name.endswith("Right"):
            assert st[name]["cx"] < -0.05, (name, st[name])
        else:
            assert abs(st[name]["cx"]) < 0.05, (name, st[name])
    x, y, z = 0, 1, 2
    assert st["mouthLeft"]["mean"][x] > 0.02 and st["jawLeft"]["mean"][x] > 0.02
    assert st["mouthRight"]["mean"][x] < -0.02 and st["jawRight"]["mean"][x] < -0.02
    assert st["jawForward"]["mean"][y] < -0.02
    assert st["jawOpen"]["mean"][z] < -0.05
    for side in ("Left", "Right"):
        out = 1 if side == "Left" else -1   # "Out" moves away from the nose
        assert st["eyeBlink" + side]["min_dz"] < -0.1          # the upper lid comes down
        assert st["eyeLookUp" + side]["front"][z] > 0.03
        assert st["eyeLookDown" + side]["front"][z] < -0.03
        assert st["eyeLookOut" + side]["front"][x] * out > 0.03
        assert st["eyeLookIn" + side]["front"][x] * out < -0.03
        assert st["mouthSmile" + side]["mean"][z] > 0.02
        assert st["mouthFrown" + side]["mean"][z] < -0.02
        assert st["browDown" + side]["mean"][z] < -0.02
        assert st["browOuterUp" + side]["mean"][z] > 0.02
    assert st["browInnerUp"]["mean"][z] > 0.02
    assert st["tongueOut"]["min_dy"] < -0.2                    # the tongue comes out (-Y)


@pytest.mark.parametrize("runner", RUNNERS)
def test_head_bone_turns_the_whole_head(infos, runner):
    info = infos[runner]
    assert info["head_checked"] > 0.9 * info["n_verts"]
    assert info["unweighted_above_neck"] == 0  # all of the head is fully on the head bone
    assert info["head_max_move"] > 0.3
    assert info["head_rigid_error"] < 1e-4      # everything above the neck turns as one
    assert info["neck_base_move"] < 1e-4        # the base of the neck stays put
    assert info["jaw_eval_move"] > 0.05         # shape keys still act under the armature


BUILD_CHECK = r'''
import json, sys
import bpy
args = sys.argv[sys.argv.index("--") + 1:]
sys.path.insert(0, args[1])
import build_avatar
bpy.ops.wm.read_factory_settings(use_empty=True)
objs = build_avatar.build_avatar()
face = objs["face"]
kb = face.data.shape_keys.key_blocks
basis = [k.co.copy() for k in kb[0].data]
with open(args[0], "w") as f:
    json.dump({"keys": [k.name for k in kb],
               "basis_sig": [sum(c.x for c in basis), sum(c.y for c in basis),
                             sum(c.z for c in basis)],
               "key_max": {k.name: max((k.data[i].co - basis[i]).length
                                       for i in range(len(basis))) for k in kb[1:]},
               "values": [k.value for k in face.data.shape_keys.key_blocks],
               "n_verts": len(face.data.vertices),
               "rig": objs["rig"].name, "bones": sorted(objs["rig"].data.bones.keys())}, f)
'''


def test_build_script_in_module_reproduces_the_file(infos, tmp_path):
    script = tmp_path / "check_build.py"
    script.write_text(BUILD_CHECK)
    out = tmp_path / "built.json"
    _run([sys.executable, str(script), "--", str(out), os.path.dirname(SCRIPT)])
    built = json.loads(out.read_text())
    assert built["keys"] == infos["module"]["keys"] == ["Basis"] + list(ARKIT_NAMES)
    assert all(v == 0.0 for v in built["values"])
    assert built["n_verts"] == infos["module"]["n_verts"]
    assert built["rig"] == RIG and built["bones"] == ["head", "neck"]
    # the committed file is what the script builds now (rebuild it after changing the script)
    committed = infos["module"]
    assert built["basis_sig"] == pytest.approx(committed["basis_sig"], abs=1e-2)
    for name in ARKIT_NAMES:
        assert built["key_max"][name] == pytest.approx(committed["stats"][name]["max"], abs=1e-4), name


def test_build_script_main_saves_a_file(tmp_path):
    out = tmp_path / "avatar.blend"
    _run([_blender_exe(), "-b", "--factory-startup", "--python", SCRIPT, "--", "--out", str(out)])
    assert out.exists() and 0 < out.stat().st_size < 2 * 1024 * 1024
    info = _inspect("module", str(out), str(tmp_path))
    assert info["keys"] == ["Basis"] + list(ARKIT_NAMES)
    assert tuple(info["file_version"][:2]) == (3, 4)
