"""GUI Blender (3.4) under Xvfb: the live-rig parts of the VStream panel draw, and
the real modal operator drives two face meshes and a neck/head rig.

    xvfb-run -a blender --factory-startup --enable-event-simulate --python gui_rig_panels.py -- \
        --zip LEGACY.zip --port P --out DIR

Draws of the main panel, the "Shape Key Mapping" and "Head & Smoothing"
sub-panels and both lists are wrapped (the add-on's own classes)
to record that each ran and returned. Prints `RESULT {json}`; exits 0 only if
every check passed.
"""

import argparse
import json
import math
import os
import socket
import sys
import time
import traceback

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TIMEOUT = 120.0


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--zip", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    return p.parse_args(common.script_args())


ARGS = parse_args()
CHECK = common.Checks()
STATE = {"module": None}
DRAWS = {}  # class name -> [calls, returned normally]


def view3d():
    win = bpy.context.window_manager.windows[0]
    area = next(a for a in win.screen.areas if a.type == 'VIEW_3D')
    region = next(r for r in area.regions if r.type == 'WINDOW')
    return win, area, region


def show_vstream_tab():
    # Same click as gui_panel_lan.py: 3.4 has no API to pick a sidebar tab.
    win, area, _ = view3d()
    area.spaces.active.show_region_ui = True
    ui = next(r for r in area.regions if r.type == 'UI')
    x = ui.x + ui.width - 10
    y = ui.y + ui.height - int(165 * bpy.context.preferences.system.ui_scale)
    win.event_simulate(type='MOUSEMOVE', value='NOTHING', x=x, y=y)
    win.event_simulate(type='LEFTMOUSE', value='PRESS', x=x, y=y)
    win.event_simulate(type='LEFTMOUSE', value='RELEASE', x=x, y=y)


def press(op, **kw):
    win, area, region = view3d()
    with bpy.context.temp_override(window=win, area=area, region=region):
        return op(**kw)


def redraw():
    for area in bpy.context.window_manager.windows[0].screen.areas:
        area.tag_redraw()


def sleep(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        yield 0.05


def wrap(cls, method):
    original = getattr(cls, method)
    record = DRAWS.setdefault(cls.__name__, [0, 0])

    # Blender passes the arguments a function declares (it reads the
    # signature), so the wrappers spell them out.
    if method == "draw":
        def wrapped(self, context):
            record[0] += 1
            original(self, context)
            record[1] += 1
    else:
        def wrapped(self, context, layout, data, item, icon, active_data, active_propname, index=0, flt_flag=0):
            record[0] += 1
            original(self, context, layout, data, item, icon, active_data, active_propname, index, flt_flag)
            record[1] += 1

    setattr(cls, method, wrapped)
    return original


def build_scene():
    def mesh(name, keys):
        me = bpy.data.meshes.new(name)
        me.from_pydata([(0, 0, 1.5), (0.1, 0, 1.5), (0.1, 0, 1.6), (0, 0, 1.6)], [], [(0, 1, 2, 3)])
        obj = bpy.data.objects.new(name, me)
        bpy.context.scene.collection.objects.link(obj)
        obj.shape_key_add(name="Basis", from_mix=False)
        for i, key in enumerate(keys):
            obj.shape_key_add(name=key, from_mix=False).data[i].co.y -= 0.05
        return obj

    face = mesh("Face", ["jawOpen", "eyeBlinkLeft", "oddBrow"])
    teeth = mesh("Teeth", ["JawOpen"])
    arm = bpy.data.armatures.new("Rig")
    rig = bpy.data.objects.new("Rig", arm)
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode='EDIT')
    neck = arm.edit_bones.new("neck")
    neck.head, neck.tail = (0, 0, 1.4), (0, 0, 1.55)
    head = arm.edit_bones.new("head")
    head.head, head.tail = (0, 0, 1.55), (0, 0, 1.75)
    head.parent, head.use_connect = neck, True
    bpy.ops.object.mode_set(mode='OBJECT')
    return face, teeth, rig


def run():
    win = bpy.context.window_manager.windows[0]
    win.event_simulate(type='ESC', value='PRESS')
    win.event_simulate(type='ESC', value='RELEASE')
    yield 0.5
    STATE["module"] = common.install("legacy", ARGS.zip)
    ops = sys.modules["vstream_addon.operators"]
    live = sys.modules["vstream_addon.live"]
    for name, method in (("VIEW3D_PT_vstream", "draw"), ("VIEW3D_PT_vstream_mapping", "draw"),
                         ("VIEW3D_PT_vstream_head", "draw"), ("VSTREAM_UL_mapping", "draw_item"),
                         ("VSTREAM_UL_meshes", "draw_item")):
        wrap(getattr(bpy.types, name), method)

    face, teeth, rig = build_scene()
    settings = bpy.context.scene.vstream
    settings.port = ARGS.port
    settings.mesh = face
    settings.meshes.add().object = teeth
    settings.armature = rig
    settings.head_bone = "head"
    settings.live.neck_bone = "neck"
    settings.live.head_location = True  # on a connected bone: the panel warns
    settings.live.smooth = False
    bpy.context.view_layer.objects.active = face
    face.select_set(True)
    show_vstream_tab()
    yield from sleep(1.0)
    CHECK(press(bpy.ops.vstream.mapping_edit) == {'FINISHED'}, "Edit Mapping from the sidebar context")
    CHECK(len(face.vstream_rows) == 52, "table filled")
    redraw()
    yield from sleep(1.0)
    for name in ("VIEW3D_PT_vstream", "VIEW3D_PT_vstream_mapping", "VIEW3D_PT_vstream_head",
                 "VSTREAM_UL_mapping", "VSTREAM_UL_meshes"):
        calls, returned = DRAWS[name]
        CHECK(calls > 0 and calls == returned, "%s drawn without errors" % name, DRAWS[name])

    # The real modal operator drives both meshes and the neck/head rig.
    CHECK(press(bpy.ops.vstream.start) == {'RUNNING_MODAL'}, "Start runs as a modal operator")
    protocol = sys.modules["vstream_addon.protocol"]
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    h = math.radians(30) / 2
    try:
        for i in range(30):
            f = protocol.Frame(seq=i, t=i / 30, face=True, quat=(math.cos(h), 0.0, 0.0, math.sin(h)),
                               weights=protocol.weights_from_dict({"jawOpen": 0.7}))
            tx.sendto(protocol.encode(f), ("127.0.0.1", ARGS.port))
            yield 1 / 30
    finally:
        tx.close()
    yield from sleep(0.5)
    CHECK(abs(face.data.shape_keys.key_blocks["jawOpen"].value - 0.7) < 1e-4, "modal ticks drive the face mesh")
    CHECK(abs(teeth.data.shape_keys.key_blocks["JawOpen"].value - 0.7) < 1e-4, "and the second mesh")
    neck_q = rig.pose.bones["neck"].rotation_quaternion
    CHECK(abs(neck_q.angle - 0.4 * math.radians(30)) < 1e-3, "the neck takes its share", neck_q.angle)
    CHECK(live.driver.last_face is not None, "frames reached the driver")
    CHECK(press(bpy.ops.vstream.set_neutral_pose) == {'FINISHED'}, "Set Neutral Pose from the panel context")
    redraw()
    yield from sleep(0.5)
    win, area, _ = view3d()
    with bpy.context.temp_override(window=win, area=area):
        bpy.ops.screen.screenshot(filepath=os.path.join(ARGS.out, "rig_panels.png"))
    CHECK(press(bpy.ops.vstream.stop) == {'FINISHED'}, "Stop")
    for name, (calls, returned) in DRAWS.items():
        CHECK(calls == returned, "every %s draw returned" % name, DRAWS)


GEN = run()
T0 = time.monotonic()


def finish(code, error=None):
    try:
        if "vstream_addon.operators" in sys.modules:
            sys.modules["vstream_addon.operators"].stop_session(None, bake=False)
        common.disable(STATE["module"])
    except Exception:
        traceback.print_exc()
        code = code or 1
    result = {"passed": CHECK.passed, "blender": bpy.app.version_string, "draws": DRAWS}
    if error:
        result["error"] = error
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(code)


def step():
    try:
        if time.monotonic() - T0 > TIMEOUT:
            raise AssertionError("GUI scenario took longer than %.0f s" % TIMEOUT)
        return next(GEN)
    except StopIteration:
        finish(0)
    except BaseException as e:
        traceback.print_exc()
        finish(1, "%s: %s" % (type(e).__name__, e))
    return None


bpy.app.timers.register(step, first_interval=1.0, persistent=True)
