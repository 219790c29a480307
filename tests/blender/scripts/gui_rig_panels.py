"""GUI Blender (3.4) under Xvfb: the live-rig parts of the VStream panel draw, and
the real session timer drives two face meshes and a neck/head rig.

    xvfb-run -a blender --factory-startup --enable-event-simulate --python gui_rig_panels.py -- \
        --zip LEGACY.zip --port P --out DIR

Draws of the main panel, the "Shape Key Mapping" and "Head & Smoothing"
sub-panels and both lists are wrapped (the add-on's own classes)
to record that each ran and returned. Prints `RESULT {json}`; exits 0 only if
every check passed.
"""

import math
import os
import socket
import sys

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TIMEOUT = 120.0
ARGS = common.gui_arg_parser().parse_args(common.script_args())
CHECK = common.Checks()
STATE = {"module": None}
DRAWS = {}  # class name -> [calls, returned normally]


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
    face = common.build_face_mesh(["jawOpen", "eyeBlinkLeft", "oddBrow"], dent=0.05, name="Face")
    teeth = common.build_face_mesh(["JawOpen"], dent=0.05, name="Teeth")
    rig = common.build_armature("Rig", [("neck", (0, 0, 1.4), (0, 0, 1.55), 0.0, None),
                                        ("head", (0, 0, 1.55), (0, 0, 1.75), 0.0, "neck", True)])
    return face, teeth, rig


def run():
    common.press_esc()  # close the splash screen
    yield 0.5
    STATE["module"] = common.install("legacy", ARGS.zip)
    live = sys.modules["vstream_addon.blender.live_apply"]
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
    common.show_vstream_tab()
    yield from common.sleep(1.0)
    CHECK(common.press(bpy.ops.vstream.mapping_edit) == {'FINISHED'}, "Edit Mapping from the sidebar context")
    CHECK(len(face.vstream_rows) == 52, "table filled")
    common.redraw()
    yield from common.sleep(1.0)
    for name in ("VIEW3D_PT_vstream", "VIEW3D_PT_vstream_mapping", "VIEW3D_PT_vstream_head",
                 "VSTREAM_UL_mapping", "VSTREAM_UL_meshes"):
        calls, returned = DRAWS[name]
        CHECK(calls > 0 and calls == returned, "%s drawn without errors" % name, DRAWS[name])

    # The session's timer drives both meshes and the neck/head rig.
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'}, "Start runs the session on its timer")
    protocol = sys.modules["vstream_addon.shared.protocol"]
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
    yield from common.sleep(0.5)
    CHECK(abs(face.data.shape_keys.key_blocks["jawOpen"].value - 0.7) < 1e-4, "timer ticks drive the face mesh")
    CHECK(abs(teeth.data.shape_keys.key_blocks["JawOpen"].value - 0.7) < 1e-4, "and the second mesh")
    neck_q = rig.pose.bones["neck"].rotation_quaternion
    CHECK(abs(neck_q.angle - 0.4 * math.radians(30)) < 1e-3, "the neck takes its share", neck_q.angle)
    CHECK(live.driver.last_face is not None, "frames reached the driver")
    CHECK(common.press(bpy.ops.vstream.set_neutral_pose) == {'FINISHED'}, "Set Neutral Pose from the panel context")
    common.redraw()
    yield from common.sleep(0.5)
    common.screenshot(os.path.join(ARGS.out, "rig_panels.png"))
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'}, "Stop")
    for name, (calls, returned) in DRAWS.items():
        CHECK(calls == returned, "every %s draw returned" % name, DRAWS)


common.drive_gui(run(), CHECK, TIMEOUT, cleanup=(lambda: common.stop_addon(STATE["module"]),),
                 report=lambda: {"draws": DRAWS})
