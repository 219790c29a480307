"""Live apply in real Blender: several face meshes, the mapping table, neck/head on
rigs pointing +Y and +Z, head location, neutral pose, add-on calibration, smoothing.

    python live_rig.py --root REPO --avatar blend/avatar.blend --out DIR        (bpy 5.x module)
    blender -b --factory-startup --python live_rig.py -- --root REPO ...        (Blender 3.4)

Registers vstream_addon from the repository (the zips are scenario_live's
job). Frames go through a real session (UDP on loopback) and operators.tick
where the socket matters, otherwise straight into live.driver.drive. Prints
`RESULT {json}`; exits 0 only if every check passed.
"""

import argparse
import json
import math
import os
import socket
import sys

import bpy
from mathutils import Quaternion, Vector

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--avatar", required=True)
    p.add_argument("--out", required=True)
    return p.parse_args(common.script_args())


ARGS = parse_args()
sys.path.insert(0, ARGS.root)


def new_scene():
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)


def yaw_left(deg):
    h = math.radians(deg) / 2
    return (math.cos(h), 0.0, 0.0, math.sin(h))


def pitch_tilt(deg_x, deg_y, deg_z):
    q = Quaternion((1, 0, 0), math.radians(deg_x)) @ Quaternion((0, 1, 0), math.radians(deg_y)) \
        @ Quaternion((0, 0, 1), math.radians(deg_z))
    return tuple(q)


def quat_close(a, b, tol=1e-4):
    return abs(abs(sum(x * y for x, y in zip(a, b))) - 1.0) < tol


class Frames:
    def __init__(self, protocol):
        self.protocol = protocol
        self.seq = 0

    def __call__(self, t=None, weights=None, quat=(1.0, 0.0, 0.0, 0.0), position=(0.0, 0.0, 0.0),
                 face=True, calibrates=False):
        self.seq += 1
        return self.protocol.Frame(seq=self.seq, t=self.seq / 60.0 if t is None else t, face=face,
                                   quat=tuple(quat), position=tuple(position),
                                   weights=self.protocol.weights_from_dict(weights or {}),
                                   sender_calibrates=calibrates)


def main(check):
    import vstream_addon
    from vstream_addon.blender import live_apply as live, mesh_mapping as mapping_ui, operators
    from vstream_addon.core import mapping, neutral
    from vstream_addon.shared import protocol
    check(os.path.dirname(vstream_addon.__file__) == os.path.join(ARGS.root, "vstream_addon"),
          "add-on imported from the repository under test")
    vstream_addon.register()
    try:
        return run(check, live, neutral, mapping, mapping_ui, operators, protocol)
    finally:
        operators.stop_session(None, bake=False)
        vstream_addon.unregister()


def run(check, live, neutral, mapping, mapping_ui, operators, protocol):
    frame = Frames(protocol)
    scene = bpy.context.scene
    settings = scene.vstream
    options = settings.live
    driver = live.driver
    session = object()  # the driver only needs a session identity

    # -- several meshes ----------------------------------------------------------
    new_scene()
    face = common.build_face_mesh(["jawOpen", "eyeBlinkLeft", "customBrow", "Key 1"], dent=0.1, name="Face")
    teeth = common.build_face_mesh(["JawOpen", "mouthSmile_L"], dent=0.1, name="Teeth")
    check(live.target_meshes(object()) == [], "target_meshes: settings without meshes give none")
    settings.mesh = face
    check(live.target_meshes(settings) == [face], "one mesh: target_meshes is [mesh]")
    slot = settings.meshes.add()
    slot.object = teeth
    settings.meshes.add().object = face  # a repeat is driven once
    settings.meshes.add()                # an empty slot is skipped
    check(live.target_meshes(settings) == [face, teeth], "target_meshes: mesh first, extra list, no repeats")
    settings.mesh_index = 2
    bpy.ops.vstream.mesh_remove()
    check(len(settings.meshes) == 2 and settings.meshes[0].object == teeth, "remove drops the selected slot")
    bpy.context.view_layer.objects.active = teeth
    with bpy.context.temp_override(object=teeth, active_object=teeth):
        bpy.ops.vstream.mesh_add()  # the active mesh is driven already: an empty slot
    check(len(settings.meshes) == 3 and settings.meshes[2].object is None and settings.mesh_index == 2,
          "add: a new selected slot, without repeating a driven mesh")
    bpy.ops.vstream.mesh_remove()

    f = frame(weights={"jawOpen": 0.6, "eyeBlinkLeft": 0.3, "mouthSmileLeft": 0.8})
    basis = face.data.shape_keys.key_blocks["Basis"].value  # 1.0 in 5.0, 0.0 in 3.4
    check(driver.drive(session, settings, [f]) is True, "drive reports a change")
    kb_face, kb_teeth = face.data.shape_keys.key_blocks, teeth.data.shape_keys.key_blocks
    check.close([kb_face["jawOpen"].value, kb_face["eyeBlinkLeft"].value], [0.6, 0.3], "face mesh keys")
    check.close([kb_teeth["JawOpen"].value, kb_teeth["mouthSmile_L"].value], [0.6, 0.8], "second mesh keys")
    check(kb_face["Key 1"].value == 0.0 and kb_face["Basis"].value == basis, "unmapped and Basis untouched")
    # The depsgraph sees the new values (values written in one foreach_set + a tag).
    dg = bpy.context.evaluated_depsgraph_get()
    co = face.evaluated_get(dg).data.vertices[0].co
    check(abs(co.y - (-0.1 - 0.1 * 0.6)) < 1e-5, "evaluated mesh follows the keys", tuple(co))
    check(driver.drive(session, settings, [frame(weights={"jawOpen": 0.6, "eyeBlinkLeft": 0.3,
                                                          "mouthSmileLeft": 0.8})]) is False,
          "the same values again: nothing written, no change")
    kb_face["jawOpen"].value = 0.1  # moved by hand: the next frame puts it back
    driver.drive(session, settings, [frame(weights={"jawOpen": 0.6})])
    check.close(kb_face["jawOpen"].value, 0.6, "a key moved by hand is reset by the next frame")

    # Shape-key edits reach the compiled plan: a new key at once, a rename within NAME_CHECK_TICKS.
    block = teeth.shape_key_add(name="browInnerUp", from_mix=False)
    block.value = 0.0
    driver.drive(session, settings, [frame(weights={"browInnerUp": 0.7})])
    check.close(kb_teeth["browInnerUp"].value, 0.7, "a key added while live is driven at once")
    kb_teeth["mouthSmile_L"].name = "smileTeeth"
    kb_teeth["smileTeeth"].value = 0.0
    for i in range(live.NAME_CHECK_TICKS + 1):
        driver.drive(session, settings, [frame(weights={"mouthSmileLeft": 0.5, "jawOpen": i / 100})])
    kb_teeth["smileTeeth"].value = 0.0
    driver.drive(session, settings, [frame(weights={"mouthSmileLeft": 0.9, "jawOpen": 0.5})])
    check(kb_teeth["smileTeeth"].value == 0.0, "a renamed key stops being driven (name check)")

    # Blender clamps a key's value to its slider range; the batch write does too.
    kb_teeth["JawOpen"].slider_max = 0.5
    for i in range(live.NAME_CHECK_TICKS + 1):
        driver.drive(session, settings, [frame(weights={"jawOpen": 0.9 - i / 1000})])
    check.close(kb_teeth["JawOpen"].value, 0.5, "values stay inside the key's slider range")
    kb_teeth["JawOpen"].slider_max = 1.0

    # -- mapping table -------------------------------------------------------------
    bpy.context.view_layer.objects.active = face
    with bpy.context.temp_override(object=face, active_object=face):
        check(mapping_ui.mapping_object(bpy.context) == face, "the table edits the active face mesh")
        check(bpy.ops.vstream.mapping_edit() == {'FINISHED'}, "Edit Mapping fills the table")
    rows = face.vstream_rows
    by_channel = {r.channel: r for r in rows}
    check(len(rows) == 52, "one row per ARKit channel", len(rows))
    check(by_channel["jawOpen"].shape_key == "jawOpen" and by_channel["browInnerUp"].shape_key == "",
          "rows show the detected keys, empty where nothing matched")
    check(mapping.PROP_MAPPING not in face, "filling the table stores nothing (all automatic)")
    by_channel["jawOpen"].gain = 0.5
    entries = mapping.entries_from_json(face[mapping.PROP_MAPPING])
    check([(e.shape_key, e.channel, e.gain) for e in entries] == [("jawOpen", "jawOpen", 0.5)],
          "a gain edit is stored in the vstream_mapping JSON", entries)
    by_channel["browInnerUp"].shape_key = "customBrow"
    by_channel["eyeBlinkLeft"].mute = True
    kb_face["eyeBlinkLeft"].value = 0.2
    driver.drive(session, settings, [frame(weights={"jawOpen": 0.8, "browInnerUp": 0.9, "eyeBlinkLeft": 1.0})])
    check.close(kb_face["jawOpen"].value, 0.4, "live apply uses the edited gain")
    check.close(kb_face["customBrow"].value, 0.9, "a key picked in the table is driven by its channel")
    check.close(kb_face["eyeBlinkLeft"].value, 0.2, "a muted row leaves its key alone")
    # One channel, two keys: + adds a row for the selected row's channel.
    with bpy.context.temp_override(object=face, active_object=face):
        face.vstream_row_index = [r.channel for r in rows].index("mouthSmileLeft")
        check(bpy.ops.vstream.mapping_row_add() == {'FINISHED'}, "add a row")
        extra = rows[face.vstream_row_index]
        check(extra.channel == "mouthSmileLeft" and len(rows) == 53, "the new row takes the selected channel")
        extra.shape_key = "Key 1"
        driver.drive(session, settings, [frame(weights={"mouthSmileLeft": 0.35})])
        check.close(kb_face["Key 1"].value, 0.35, "an added row drives one more key")
        check(bpy.ops.vstream.mapping_row_remove() == {'FINISHED'} and len(rows) == 52
              and "Key 1" not in face[mapping.PROP_MAPPING], "removing the row removes its entry")
        kb_face["Key 1"].value = 0.0
        driver.drive(session, settings, [frame(weights={"mouthSmileLeft": 0.6})])
        check(kb_face["Key 1"].value == 0.0, "a removed row's key is no longer driven")
    by_channel = {r.channel: r for r in rows}
    by_channel["jawOpen"].clamp_min = 2.0
    check(any("min" in p for p in mapping_ui.problems["Face"]), "min above max is reported",
          mapping_ui.problems["Face"])
    by_channel["jawOpen"].clamp_min = 0.0
    by_channel["jawOpen"].invert = True
    driver.drive(session, settings, [frame(weights={"jawOpen": 0.8})])
    check.close(kb_face["jawOpen"].value, 0.1, "invert: gain * (1 - x)")

    preset = os.path.join(ARGS.out, "face_mapping.json")
    with bpy.context.temp_override(object=face, active_object=face):
        check(bpy.ops.vstream.mapping_save(filepath=preset) == {'FINISHED'}, "save preset")
        with open(preset, encoding="utf-8") as fh:
            saved = {e["shape_key"]: e for e in json.load(fh)["entries"]}
        check(saved["jawOpen"]["gain"] == 0.5 and saved["jawOpen"]["invert"] is True
              and saved["customBrow"]["channel"] == "browInnerUp" and saved["eyeBlinkLeft"]["mute"] is True,
              "the preset holds every driven key with its settings", saved)
        face.vstream_rows.clear()
        del face[mapping.PROP_MAPPING]
        check(bpy.ops.vstream.mapping_load(filepath=preset) == {'FINISHED'}, "load preset")
        check(mapping.entries_from_json(face[mapping.PROP_MAPPING])[0].gain in (0.5, 1.0)
              and {e.shape_key for e in mapping.entries_from_json(face[mapping.PROP_MAPPING])}
              >= {"jawOpen", "customBrow", "eyeBlinkLeft"}, "loaded preset is stored on the mesh")
        check({r.channel: r.shape_key for r in face.vstream_rows}["browInnerUp"] == "customBrow",
              "loaded preset fills the table")
        bad = os.path.join(ARGS.out, "bad.json")
        with open(bad, "w", encoding="utf-8") as fh:
            fh.write('{"format": "something else"}')
        before = face[mapping.PROP_MAPPING]
        try:
            result = bpy.ops.vstream.mapping_load(filepath=bad)
        except RuntimeError as e:  # the operator's ERROR report raises in the bpy module
            result = {'CANCELLED'}
            check("not a vstream mapping preset" in str(e), "bad preset: clear message", e)
        check(result == {'CANCELLED'} and face[mapping.PROP_MAPPING] == before,
              "a bad preset changes nothing")
        check("not a vstream mapping preset" in operators.state.error, "bad preset error shown in the panel")
        operators.state.error = ""
        check(bpy.ops.vstream.mapping_reset('EXEC_DEFAULT') == {'FINISHED'} and mapping.PROP_MAPPING not in face,
              "reset drops every edit")
    driver.drive(session, settings, [frame(weights={"jawOpen": 0.8, "eyeBlinkLeft": 0.4})])
    check.close([kb_face["jawOpen"].value, kb_face["eyeBlinkLeft"].value], [0.8, 0.4],
                "after reset the keys are automatic again")

    # -- shipped avatar: zero clicks ----------------------------------------------------
    avatar_result = check_avatar(check, live, protocol, frame)

    # -- head: rest orientations, neck split, location, neutral pose ---------------------------
    new_scene()
    settings = bpy.context.scene.vstream
    options = settings.live
    check_head_orientations(check, live, settings, options, frame, session)
    check_neck_split(check, live, settings, options, frame, session)
    check_location(check, live, settings, options, frame, session)

    # -- a real session: Set Neutral Pose, Calibrate ------------------------------------------
    check_session(check, live, neutral, protocol, operators, settings, options, frame)

    # -- smoothing ------------------------------------------------------------------------
    check_smoothing(check, live, settings, options, frame)
    return avatar_result


def check_avatar(check, live, protocol, frame):
    check(len(live.driver.plans) > 0, "plans compiled for the meshes driven so far")
    bpy.ops.wm.open_mainfile(filepath=ARGS.avatar)
    # Plans point at key blocks by position in data that a load (or undo) replaces.
    check(len(live.driver.plans) == 0, "loading a file drops every compiled plan")
    settings = bpy.context.scene.vstream
    settings.mesh = bpy.data.objects["VStreamFace"]
    weights = {name: (i + 1) / 60.0 for i, name in enumerate(protocol.ARKIT_NAMES)}
    live.driver.drive(object(), settings, [frame(weights=weights)])
    blocks = settings.mesh.data.shape_keys.key_blocks
    got = {b.name: b.value for b in blocks if b.name in weights}
    check(len(got) == 52 and all(abs(got[n] - weights[n]) < 1e-5 for n in got),
          "avatar: all 52 keys driven with zero setup")
    return {"avatar_keys": len(got)}


def head_rig(name, direction):
    """Head bone pointing +Z (up) or +Y (back), with a roll, from (0, 0, 1.6)."""
    tail = (0.0, 0.0, 1.8) if direction == "Z" else (0.0, 0.2, 1.6)
    return common.build_armature(name, [("head", (0.0, 0.0, 1.6), tail, 0.7, None)])


def posed_point(arm, bone_name, point):
    bpy.context.view_layer.update()
    pb = arm.pose.bones[bone_name]
    return pb.matrix @ pb.bone.matrix_local.inverted() @ Vector(point)


def check_head_orientations(check, live, settings, options, frame, session):
    nose = Vector((0.0, -0.1, 1.7))
    pivot = Vector((0.0, 0.0, 1.6))
    q = pitch_tilt(-15, 10, 30)  # look up, tilt, turn left: every axis matters
    for direction in ("Z", "Y"):
        arm = head_rig("Rig" + direction, direction)
        settings.armature = arm
        settings.head_bone = "head"
        options.neck_bone = ""
        live.driver.drive(session, settings, [frame(quat=q)])
        expected = pivot + Quaternion(q) @ (nose - pivot)
        check.close(posed_point(arm, "head", nose), expected,
                    "head bone pointing +%s turns the face as the tracked rotation" % direction)
        live.driver.drive(session, settings, [frame(quat=yaw_left(40))])
        got = posed_point(arm, "head", nose)
        check(got.x > 0.05, "+%s rig: a turn to the left moves the nose toward +X" % direction, tuple(got))


def check_neck_split(check, live, settings, options, frame, session):
    arm = common.build_armature("NeckRig", [
        ("neck", (0.0, 0.0, 1.45), (0.0, 0.0, 1.6), 0.0, None, False),
        ("head", (0.0, 0.0, 1.6), (0.0, 0.0, 1.8), 0.3, "neck", True),
    ])
    settings.armature = arm
    settings.head_bone = "head"
    options.neck_bone = "neck"
    options.neck_split = 0.4
    q = pitch_tilt(-10, 0, 50)
    live.driver.drive(session, settings, [frame(quat=q)])
    bpy.context.view_layer.update()
    neck, head = arm.pose.bones["neck"], arm.pose.bones["head"]
    neck_turn = neck.matrix.to_quaternion() @ neck.bone.matrix_local.to_quaternion().inverted()
    head_turn = head.matrix.to_quaternion() @ head.bone.matrix_local.to_quaternion().inverted()
    check(quat_close(head_turn, q), "with a neck the head still ends up turned by the whole rotation",
          (tuple(head_turn), q))
    angle = Quaternion(q).angle
    check(abs(neck_turn.angle - 0.4 * angle) < 1e-4, "the neck takes its share of the angle",
          (neck_turn.angle, angle))
    check(quat_close(neck_turn, tuple(Quaternion(q).slerp(Quaternion(), 0.6))), "the neck turns about the same axis")
    options.neck_split = 0.0
    live.driver.drive(session, settings, [frame(quat=q)])
    check(quat_close(tuple(neck.rotation_quaternion), (1, 0, 0, 0)), "share 0: the neck stays still")
    options.neck_bone = ""


def check_location(check, live, settings, options, frame, session):
    for direction in ("Z", "Y"):
        arm = head_rig("MoveRig" + direction, direction)
        settings.armature = arm
        settings.head_bone = "head"
        options.head_location = True
        options.location_scale = 2.0
        p = (0.01, -0.02, 0.03)
        live.driver.drive(session, settings, [frame(position=p)])
        bpy.context.view_layer.update()
        got = arm.pose.bones["head"].head
        check.close(got, (0.02, -0.04, 1.66),
                    "head location follows the tracked position (bone pointing +%s)" % direction)
    options.head_location = False
    options.location_scale = 1.0


def check_session(check, live, neutral, protocol, operators, settings, options, frame):
    face = common.build_face_mesh(["jawOpen", "mouthSmileLeft"], dent=0.1, name="LiveFace")
    settings.mesh = face
    settings.armature = head_rig("LiveRig", "Z")
    settings.head_bone = "head"
    port = common.free_port()
    settings.port = port
    check(bpy.ops.vstream.start() == {'FINISHED'}, "session started")
    session = operators.state.session
    tracker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tracker.bind(("127.0.0.1", 0))
    tracker.settimeout(2.0)
    kb = face.data.shape_keys.key_blocks

    def send(f):
        n = session.receiver.accepted_total
        tracker.sendto(protocol.encode(f), ("127.0.0.1", port))
        check(common.tick_until(operators, lambda: session.receiver.accepted_total > n), "frame received")

    def control_received():
        try:
            return protocol.decode_control(tracker.recv(64)) == "calibrate"
        except socket.timeout:
            return False

    try:
        # Set Neutral Pose: the current head rotation and position become the rest pose.
        q0, p0 = yaw_left(20), (0.0, 0.0, 0.05)
        send(frame(quat=q0, position=p0))
        check(bpy.ops.vstream.set_neutral_pose() == {'FINISHED'}, "Set Neutral Pose runs")
        check(quat_close(tuple(options.neutral_rotation), q0)
              and (Vector(options.neutral_position) - Vector(p0)).length < 1e-6,
              "Set Neutral Pose keeps the incoming rotation and position")
        send(frame(quat=q0, position=p0))
        head = settings.armature.pose.bones["head"]
        check(quat_close(tuple(head.rotation_quaternion), (1, 0, 0, 0)), "the neutral pose puts the head at rest")
        send(frame(quat=yaw_left(50)))
        bpy.context.view_layer.update()
        turn = head.matrix.to_quaternion() @ head.bone.matrix_local.to_quaternion().inverted()
        check(quat_close(turn, yaw_left(30)), "later turns are measured from the neutral pose")
        bpy.ops.vstream.clear_neutral()
        check(tuple(options.neutral_rotation) == (1.0, 0.0, 0.0, 0.0), "Clear Neutral")

        # Sender without FLAG_SENDER_CALIBRATES: Calibrate captures the neutral in Blender.
        # The neutral is the mean of the last 0.25 s of frames: start a second later.
        for i in range(3):
            send(frame(t=10.0 + i / 60, weights={"jawOpen": 0.2 + 0.01 * (i - 1), "mouthSmileLeft": 0.5},
                       quat=yaw_left(10)))
        check(bpy.ops.vstream.calibrate() == {'FINISHED'}, "Calibrate runs")
        check(control_received(), "the sender still gets the calibrate datagram")
        neutral_w = json.loads(options.neutral_weights)
        check(abs(neutral_w[protocol.ARKIT_NAMES.index("jawOpen")] - 0.2) < 1e-4,
              "sender that does not calibrate: neutral captured in Blender")
        send(frame(t=11.0, weights={"jawOpen": 0.2, "mouthSmileLeft": 0.5}, quat=yaw_left(10)))
        check.close([kb["jawOpen"].value, kb["mouthSmileLeft"].value], [0.0, 0.0], "the neutral face reads 0")
        check(quat_close(tuple(head.rotation_quaternion), (1, 0, 0, 0)), "the neutral head is at rest")
        send(frame(t=11.1, weights={"jawOpen": 0.6, "mouthSmileLeft": 1.0}))
        check.close([kb["jawOpen"].value, kb["mouthSmileLeft"].value], [0.5, 1.0],
                    "weights rescaled: (w - n) / (1 - n), full stays full")

        # A calibrating sender (vstream's tracker sets the flag): Calibrate only asks it.
        send(frame(weights={"jawOpen": 0.6}, calibrates=True))
        check(bpy.ops.vstream.calibrate() == {'FINISHED'}, "Calibrate with a calibrating sender")
        check(control_received(), "calibrating sender gets the datagram")
        check(options.neutral_weights == "", "calibrating sender: Blender keeps no neutral of its own")
        send(frame(weights={"jawOpen": 0.6}, calibrates=True))
        check.close(kb["jawOpen"].value, 0.6, "calibrating sender's weights used as they come")

        # Manual override: Blender calibrates even though the sender says it does.
        options.calibrate_mode = neutral.CALIBRATE_ADDON
        bpy.ops.vstream.calibrate()
        check(control_received() and options.neutral_weights != "", "override 'Blender': neutral captured anyway")
        options.calibrate_mode = neutral.CALIBRATE_SENDER
        send(frame(weights={"jawOpen": 0.6}))
        bpy.ops.vstream.calibrate()
        check(control_received() and options.neutral_weights == "", "override 'Sender': nothing captured")
        options.calibrate_mode = neutral.CALIBRATE_AUTO
    finally:
        tracker.close()
        bpy.ops.vstream.stop()


def check_smoothing(check, live, settings, options, frame):
    session = object()
    face = settings.mesh
    kb = face.data.shape_keys.key_blocks
    settings.head_bone = "head"
    options.smooth = True
    options.smooth_min_cutoff, options.smooth_beta = 1.0, 0.0
    live.driver.drive(session, settings, [frame(t=0.0, weights={"jawOpen": 0.0})])
    live.driver.drive(session, settings, [frame(t=1 / 60, weights={"jawOpen": 1.0}, quat=yaw_left(40))])
    first = kb["jawOpen"].value
    check(0.0 < first < 0.5, "smoothing: a step is followed gradually", first)
    head = settings.armature.pose.bones["head"]
    check(Quaternion(tuple(head.rotation_quaternion)).angle < math.radians(20), "smoothing: the head lags too")
    batch = [frame(t=(2 + i) / 60, weights={"jawOpen": 1.0}, quat=yaw_left(40)) for i in range(240)]
    live.driver.drive(session, settings, batch)  # every frame of a tick goes through the filter
    check(kb["jawOpen"].value > 0.99, "smoothing converges", kb["jawOpen"].value)
    options.smooth = False
    live.driver.drive(session, settings, [frame(weights={"jawOpen": 0.3})])
    check.close(kb["jawOpen"].value, 0.3, "smoothing off by default and when unticked: values as they come")


if __name__ == "__main__":
    common.run(main)
