"""Install a built zip, then drive the add-on end to end with real UDP datagrams.

Runs in the bpy module (`python scenario_live.py --zip Z --kind K`) and in the
Blender executable (`blender -b --factory-startup --python scenario_live.py --
--zip Z --kind K`). No event loop runs in either, so the script calls the
add-on's tick itself, exactly as the session's timer would.
Prints `RESULT {json}`; exits 0 only if every check passed.
"""

import argparse
import math
import os
import random
import socket
import struct
import sys
import tempfile

import bpy
from mathutils import Quaternion, Vector

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

ARGS = None


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--zip", required=True)
    p.add_argument("--kind", choices=("legacy", "extension"), required=True)
    return p.parse_args(common.script_args())


# -- scene built in code -------------------------------------------------------

SHAPE_KEYS = ("jawOpen", "EYEBLINKLEFT", "mouthsmileright", "browInnerUp", "notAnArkitName")
DRIVEN = {"jawOpen": "jawOpen", "EYEBLINKLEFT": "eyeBlinkLeft",
          "mouthsmileright": "mouthSmileRight", "browInnerUp": "browInnerUp"}


def posed_point(arm_obj, bone_name, point):
    """Where an armature-space rest point rides to with the posed bone."""
    bpy.context.view_layer.update()
    pb = arm_obj.pose.bones[bone_name]
    return pb.matrix @ pb.bone.matrix_local.inverted() @ Vector(point)


# -- datagrams -----------------------------------------------------------------

class Sender:
    def __init__(self, protocol, port):
        self.protocol = protocol
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.seq = 0

    def frame(self, t, weights=None, quat=(1.0, 0.0, 0.0, 0.0), face=True):
        self.seq += 1
        return self.protocol.Frame(seq=self.seq, t=t, face=face, quat=tuple(quat),
                                   weights=self.protocol.weights_from_dict(weights or {}))

    def send(self, frame):
        self.sock.sendto(self.protocol.encode(frame), ("127.0.0.1", self.port))

    def raw(self, data):
        self.sock.sendto(data, ("127.0.0.1", self.port))

    def close(self):
        self.sock.close()


def yaw_left(deg):
    """Turn toward the character's own left (+X) about +Z, as (w, x, y, z)."""
    h = math.radians(deg) / 2
    return (math.cos(h), 0.0, 0.0, math.sin(h))


def scenario(check, module):
    ops = sys.modules[module + ".blender.operators"]
    protocol = sys.modules[module + ".shared.protocol"]

    # -- registration --
    check(hasattr(bpy.types, "VIEW3D_PT_vstream"), "panel class registered")
    panel = bpy.types.VIEW3D_PT_vstream
    check(panel.bl_space_type == 'VIEW_3D' and panel.bl_region_type == 'UI'
          and panel.bl_category == "VStream", "panel is in the 3D View sidebar, VStream tab")
    for op in ("start", "stop", "record", "calibrate"):
        check(hasattr(bpy.types, "VSTREAM_OT_" + op), "operator vstream.%s registered" % op)
    scene = bpy.context.scene
    settings = scene.vstream
    check(settings.port == protocol.DEFAULT_PORT, "port defaults to protocol.DEFAULT_PORT")

    # -- scene --
    face = common.build_face_mesh(SHAPE_KEYS, value=0.25, dent=0.05)
    rig_z = common.build_armature("RigZ", [("Neck", (0, 0, 1.3), (0, 0, 1.5), 0.0, None),
                                           ("Head", (0, 0, 1.5), (0, 0, 1.7), 0.0, "Neck")])
    rig_y = common.build_armature("RigY", [("head", (0, 0, 1.5), (0, 0.2, 1.5), math.radians(30), None)])
    settings.mesh = face
    settings.armature = rig_z
    check(settings.head_bone == "Head", "head bone guessed when the armature is picked", settings.head_bone)
    port = common.free_port()
    settings.port = port
    scene.render.fps, scene.render.fps_base = 30, 1.0
    scene.frame_start = 1

    # -- start without a window: the session exists and can be ticked --
    check(bpy.app.background, "no event loop in this Blender (ticks are driven here)")
    check(bpy.ops.vstream.start() == {'FINISHED'}, "vstream.start returns FINISHED without an event loop")
    session = ops.state.session
    check(session is not None and session.receiver.is_open and session.port == port, "session bound to the port")
    check(not common.port_is_free(port), "port is taken while running")

    sender = Sender(protocol, port)
    keys = face.data.shape_keys.key_blocks
    check(ops.tick(bpy.context) is True, "first tick reports a status change (redraw)")
    check(ops.tick(bpy.context) is False, "idle tick changes nothing, so no redraw")

    # -- several datagrams in one tick: the newest wins --
    for i, jaw in enumerate((0.1, 0.2, 0.7)):
        sender.send(sender.frame(10.0 + i / 30, {"jawOpen": jaw, "eyeBlinkLeft": 0.3 + i * 0.1,
                                                 "mouthSmileRight": 0.5, "browInnerUp": 0.9}))
    common.tick_until(ops, lambda: session.receiver.accepted_total == 3, "3 frames")
    check.close(keys["jawOpen"].value, 0.7, "jawOpen from the newest frame")
    check.close(keys["EYEBLINKLEFT"].value, 0.5, "EYEBLINKLEFT matches eyeBlinkLeft (case-insensitive)")
    check.close(keys["mouthsmileright"].value, 0.5, "mouthsmileright matches mouthSmileRight")
    check.close(keys["browInnerUp"].value, 0.9, "browInnerUp set")
    check.close(keys["notAnArkitName"].value, 0.25, "non-ARKit shape key untouched")
    check(session.receiver.packets_per_second() >= 3, "packets/s counted", session.receiver.packets_per_second())
    status = dict(session.status())
    check(status["age"].startswith("last packet ") and status["age"].endswith(" ms ago")
          and status["rate"].endswith("packets/s"), "status text", status)

    # -- head bone: the visible effect of a yaw to the character's left --
    sender.send(sender.frame(11.0, {"jawOpen": 0.7}, quat=yaw_left(30)))
    common.tick_until(ops, lambda: session.receiver.accepted_total == 4, "head frame")
    pb = rig_z.pose.bones["Head"]
    check(pb.rotation_mode == 'QUATERNION', "head rotation mode set to QUATERNION")
    nose_rest = (0.0, -0.15, 1.6)  # in front of the face, which looks along -Y
    nose = posed_point(rig_z, "Head", nose_rest)
    check(nose.x > 0.05, "yaw-left moves a point in front of the face toward +X (bone along +Z)", tuple(nose))
    expected = Vector((0, 0, 1.5)) + Quaternion(yaw_left(30)) @ (Vector(nose_rest) - Vector((0, 0, 1.5)))
    check.close(nose, expected, "posed point equals the armature-space rotation (bone along +Z)")

    # Every bone orientation must turn the same way in armature space.
    settings.armature = rig_y
    check(settings.head_bone == "head", "head bone re-guessed for the other armature", settings.head_bone)
    q_any = Quaternion(Vector((0.3, -0.5, 0.8)).normalized(), math.radians(40))
    sender.send(sender.frame(11.1, {"jawOpen": 0.7}, quat=tuple(q_any)))
    common.tick_until(ops, lambda: session.receiver.accepted_total == 5, "rigY frame")
    head_y = Vector((0, 0, 1.5))
    nose = posed_point(rig_y, "head", nose_rest)
    check.close(nose, head_y + q_any @ (Vector(nose_rest) - head_y),
                "posed point equals the armature-space rotation (bone along +Y, rolled)")
    sender.send(sender.frame(11.2, {"jawOpen": 0.7}, quat=yaw_left(30)))
    common.tick_until(ops, lambda: session.receiver.accepted_total == 6, "rigY yaw")
    check(posed_point(rig_y, "head", nose_rest).x > 0.05, "yaw-left turns toward +X (bone along +Y)")
    settings.armature = rig_z
    settings.head_bone = "Head"

    # -- a frame without a face holds the last pose --
    sender.send(sender.frame(11.3, {"jawOpen": 0.0}, quat=yaw_left(-30), face=False))
    common.tick_until(ops, lambda: session.receiver.accepted_total == 7, "no-face frame")
    check.close(keys["jawOpen"].value, 0.7, "no-face frame leaves shape keys as they were")
    check(dict(session.status())["face"] is False, "status shows no face")

    # -- garbage is counted, never raised --
    good = protocol.encode(sender.frame(12.0, {"jawOpen": 0.1}))
    rng = random.Random(7)
    bad = [
        (b"", "size"), (b"\x00" * 10, "size"), (good + b"x", "size"),
        (bytes(rng.getrandbits(8) for _ in range(len(good))), "magic"),
        (b"XXXX" + good[4:], "magic"),
        (good[:4] + struct.pack("<H", 99) + good[6:], "version"),
        (good[:-4] + struct.pack("<f", float("nan")), "non-finite"),
        (good[:12] + struct.pack("<d", float("inf")) + good[20:], "non-finite"),
        (protocol.encode_control(protocol.CMD_CALIBRATE), "size"),
    ]
    for _ in range(20):
        bad.append((bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 600))), None))
    for data, _reason in bad:
        sender.raw(data)
    common.tick_until(ops, lambda: session.receiver.rejected_total == len(bad), "%d rejects" % len(bad))
    rejected = session.receiver.rejected
    for reason in ("size", "magic", "version", "non-finite"):
        want = sum(1 for _, r in bad if r == reason)
        check(rejected.get(reason, 0) >= want, "rejected counted as %s" % reason, rejected)
    check(session.receiver.accepted_total == 7, "garbage never accepted")
    check.close(keys["jawOpen"].value, 0.7, "garbage leaves the avatar as it was")
    check(dict(session.status())["rejected_total"] == len(bad), "status shows rejected total")

    # -- calibrate goes back to the sender's address --
    sender.send(sender.frame(12.5, {"jawOpen": 0.7}))
    common.tick_until(ops, lambda: session.receiver.accepted_total == 8, "frame before calibrate")
    check(bpy.ops.vstream.calibrate() == {'FINISHED'}, "calibrate sent")
    sender.sock.settimeout(2.0)
    data, _ = sender.sock.recvfrom(64)
    check(protocol.decode_control(data) == "calibrate", "tracker receives a calibrate control datagram")
    # This sender does not calibrate, so Blender also kept a neutral (jawOpen 0.7), and a take
    # holds what live shows (rescaled from it): drop it to check the raw values below.
    check(bpy.ops.vstream.clear_neutral() == {'FINISHED'}, "clear the neutral kept in Blender")

    # -- record: one key per frame at the current frame + round((t - t0) * fps) --
    check(bpy.ops.vstream.record() == {'FINISHED'} and session.recording, "record on")
    n = 24
    sent = []
    for i in range(n):
        q = Quaternion((0, 0, 1), math.radians(2 * i))
        f = sender.frame(20.0 + i / 30.0, {"jawOpen": i / n, "eyeBlinkLeft": 1 - i / n}, quat=tuple(q))
        sent.append(f)
        sender.send(f)
        if i % 5 == 0:
            ops.tick(bpy.context)
    sender.send(sender.frame(21.0, face=False))  # recorded, counted, not keyed
    common.tick_until(ops, lambda: len(session.recorder) == n + 1, "recorded frames")
    check(bpy.ops.vstream.record() == {'FINISHED'} and not session.recording, "record off bakes")
    face_action = bpy.data.actions.get("vstream_take_001_face")
    head_action = bpy.data.actions.get("vstream_take_001_head")
    check(face_action is not None and head_action is not None, "actions named after the take",
          [a.name for a in bpy.data.actions])
    check(face_action.use_fake_user and head_action.use_fake_user, "actions have a fake user")
    check(face_action["vstream_keyed"] == n and face_action["vstream_merged"] == 0
          and face_action["vstream_no_face"] == 1, "keyed/merged counts on the action",
          dict(face_action.items()))
    check(ops.state.last_take.startswith("vstream_take_001: %d keys" % n), "panel reports the take",
          ops.state.last_take)
    curves = {(c.data_path, c.array_index): c for c in common.action_fcurves(face_action)}
    check(len(curves) == len(DRIVEN), "one curve per mapped shape key", sorted(curves))
    for block_name, arkit_name in DRIVEN.items():
        c = curves[('key_blocks["%s"].value' % block_name, 0)]
        pts = c.keyframe_points
        check(len(pts) == n, "%s has one key per frame" % block_name, len(pts))
        co = [0.0] * (2 * n)
        pts.foreach_get("co", co)
        idx = protocol.ARKIT_NAMES.index(arkit_name)
        check.close(co[0::2], [1 + i for i in range(n)], "%s keys on frames 1..%d" % (block_name, n))
        check.close(co[1::2], [f.weights[idx] for f in sent], "%s key values" % block_name)
        check(all(p.interpolation == 'LINEAR' for p in pts), "%s keys are LINEAR" % block_name)
    head_curves = sorted((c.data_path, c.array_index) for c in common.action_fcurves(head_action))
    check(head_curves == [('pose.bones["Head"].rotation_quaternion', i) for i in range(4)],
          "four rotation_quaternion curves on the head bone", head_curves)
    key_id = face.data.shape_keys
    check(key_id.animation_data.action == face_action and rig_z.animation_data.action == head_action,
          "actions assigned to the shape keys and the armature")
    # 4.4+ (4.5 LTS, 5.x): slotted Actions, each used through the slot made for its ID.
    slotted = hasattr(face_action, "slots") and hasattr(face_action, "layers")
    if slotted:
        for action, owner, id_type in ((face_action, key_id, 'KEY'), (head_action, rig_z, 'OBJECT')):
            check(len(action.slots) == 1 and len(action.layers) == 1, "one slot and one layer per Action",
                  (action.name, len(action.slots), len(action.layers)))
            check(action.slots[0].target_id_type == id_type, "slot made for its ID type",
                  (action.name, action.slots[0].target_id_type))
            check(owner.animation_data.action_slot == action.slots[0], "action slots assigned", action.name)
        if hasattr(face_action, "fcurves"):
            # 4.4 and 4.5 still offer the legacy view (the first slot's curves) to older scripts.
            check(sorted((c.data_path, c.array_index) for c in face_action.fcurves) == sorted(curves),
                  "legacy Action.fcurves shows the slotted curves (4.4, 4.5)")
    scene.frame_set(11)  # sample i = 10
    check.close(keys["jawOpen"].value, 10 / n, "playback: shape key follows the take", tol=1e-3)
    nose = posed_point(rig_z, "Head", nose_rest)
    expected = Vector((0, 0, 1.5)) + Quaternion((0, 0, 1), math.radians(20)) @ (Vector(nose_rest) - Vector((0, 0, 1.5)))
    check.close(nose, expected, "playback: head turns as recorded", tol=1e-3)

    # -- record at 24 fps from 30 fps frames: collisions are shifted or merged, none lost --
    scene.render.fps = 24
    scene.frame_set(1)  # a take starts at the current frame; playback above moved it
    bpy.ops.vstream.record()
    m = 30
    # Face out of view for the first half second: keys keep the take's timing.
    sender.send(sender.frame(39.5, face=False))
    for i in range(m):
        sender.send(sender.frame(40.0 + i / 30.0, {"jawOpen": i / m}))
    common.tick_until(ops, lambda: len(session.recorder) == m + 1, "second take")
    bpy.ops.vstream.record()
    take2 = bpy.data.actions.get("vstream_take_002_face")
    check(take2 is not None, "second take named vstream_take_002")
    keyed, merged = take2["vstream_keyed"], take2["vstream_merged"]
    check(keyed + merged == m and merged > 0, "every frame keyed or counted as merged", (keyed, merged))
    c = curves2 = [c for c in common.action_fcurves(take2) if c.data_path == 'key_blocks["jawOpen"].value'][0]
    co = [0.0] * (2 * keyed)
    curves2.keyframe_points.foreach_get("co", co)
    frames, values = co[0::2], co[1::2]
    check(all(b > a for a, b in zip(frames, frames[1:])), "keys in increasing frames")
    check(frames[0] == 1 + 12, "time counts from the first recorded frame, face or not", frames[0])
    for fr, val in zip(frames, values):
        t_true = 0.5 + val * m / 30.0  # jawOpen encodes the sample index
        check(abs((fr - 1) - t_true * 24) <= 1.0 + 1e-6, "every key within 1 frame of its time", (fr, val))
    del c
    scene.render.fps = 30

    # -- port already in use: clear error, nothing half-started --
    check(bpy.ops.vstream.stop() == {'FINISHED'}, "stop")
    check(ops.state.session is None and not ops.ticking(), "stop ends the session")
    check(common.port_is_free(port), "stop closes the socket: the port can be bound again")
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", 0))
    busy = blocker.getsockname()[1]
    settings.port = busy
    message = ""
    try:
        bpy.ops.vstream.start()
    except RuntimeError as e:
        message = str(e)
    want = "Port %d is already in use by another program: choose another port or stop it" % busy
    check(want in message, "busy port gives the clear message", message)
    check(ops.state.error == want, "panel error line shows it", ops.state.error)
    check(ops.state.session is None and not ops.ticking(), "nothing half-started")
    blocker.close()
    settings.port = port
    check(bpy.ops.vstream.start() == {'FINISHED'} and ops.state.error == "", "start after freeing clears the error")

    # -- loading another file stops the session and frees the port; takes survive saving --
    path = os.path.join(tempfile.mkdtemp(), "saved.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.open_mainfile(filepath=path)
    check(ops.state.session is None, "loading a file stops the session (load_pre)")
    check(common.port_is_free(port), "loading a file closes the socket")
    check("vstream_take_001_face" in bpy.data.actions, "baked take survives save and reload")
    check(bpy.context.scene.vstream.port == port, "settings saved with the scene")

    # -- unregister closes the socket too --
    check(bpy.ops.vstream.start() == {'FINISHED'}, "start again after load")
    common.disable(module)
    check(common.port_is_free(port), "disabling the add-on closes the socket")
    check(not hasattr(bpy.types, "VIEW3D_PT_vstream"), "disabling unregisters the panel")
    sender.close()
    return {"module": module, "port": port, "slotted_actions": slotted}


if __name__ == "__main__":
    ARGS = parse_args()
    common.run_installed(ARGS.kind, ARGS.zip, scenario)
