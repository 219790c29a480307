"""Reliability of the installed add-on in the bpy module: fuzzed datagrams over
real UDP, busy ports, repeated Start/Stop, file changes while running, the
listen address, and a 10-minute 60 fps take.

`python scenario_reliability.py --zip Z --part P` (P: fuzz, lifecycle, long_take).
One part per process, so a failure in one cannot hide behind another and each
part's stderr can be checked on its own. Prints `RESULT {json}`.
"""

import argparse
import math
import os
import random
import socket
import struct
import sys
import tempfile
import time

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

ARGS = None


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--zip", required=True)
    p.add_argument("--part", choices=("fuzz", "lifecycle", "long_take", "import_take"), required=True)
    p.add_argument("--count", type=int, default=100000)
    p.add_argument("--take", help="take file from vstream-tracker --out (import_take)")
    p.add_argument("--corrupt", nargs="*", default=(),
                   help="PATH:LINE pairs: bad take files and the line the error must name")
    return p.parse_args(common.script_args())


def open_sockets():
    """Inodes of this process's sockets, from /proc/self/fd (the kernel's view)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(os.path.join("/proc/self/fd", fd))
        except OSError:
            continue  # the fd of listdir itself, closed by now
        if target.startswith("socket:["):
            found.add(target)
    return found


def udp_drops(port):
    """Datagrams the kernel dropped on the socket bound to `port` (last column of /proc/net/udp)."""
    drops = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if int(cols[1].split(":")[1], 16) == port:
                drops += int(cols[-1])
    return drops


def build_full_face(arkit_names):
    """A small mesh with all 52 ARKit shape keys, a head rig, and both set as targets."""
    obj = common.build_face_mesh(arkit_names)
    rig = common.build_armature("Rig", [("Head", (0, 0, 1.5), (0, 0, 1.7), 0.0, None)])
    settings = bpy.context.scene.vstream
    settings.mesh = obj
    settings.armature = rig
    settings.head_bone = "Head"
    return obj, rig


# Bursts of hundreds of datagrams: tick often so the socket buffer never fills.
TICK = dict(timeout=5.0, step=0.0005)


# -- fuzz --------------------------------------------------------------------

_HEADER = struct.Struct("<4sHHId")


def expected_reason(data, frame_size):
    """What a correct receiver must say about `data`, written independently of protocol._parse."""
    if len(data) != frame_size:
        return "size"
    magic, version = data[:4], struct.unpack_from("<H", data, 4)[0]
    if magic != b"VSTR":
        return "magic"
    if version != 1:
        return "version"
    t = struct.unpack_from("<d", data, 12)[0]
    floats = struct.unpack_from("<%df" % ((frame_size - 20) // 4), data, 20)
    if not math.isfinite(t) or not all(math.isfinite(v) for v in floats):
        return "non-finite"
    return "accepted"


def mutate(rng, good):
    kind = rng.randrange(9)
    b = bytearray(good)
    if kind == 0:  # flip a few bytes anywhere
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 1:  # truncate
        b = b[:rng.randrange(len(b))]
    elif kind == 2:  # extend
        b += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
    elif kind == 3:  # NaN/inf in one float of the body
        off = 20 + 4 * rng.randrange((len(b) - 20) // 4)
        b[off:off + 4] = struct.pack("<f", rng.choice((math.nan, math.inf, -math.inf)))
    elif kind == 4:  # NaN/inf timestamp
        b[12:20] = struct.pack("<d", rng.choice((math.nan, math.inf, -math.inf)))
    elif kind == 5:  # wrong magic
        b[rng.randrange(4)] ^= 0xFF
    elif kind == 6:  # wrong version
        b[4:6] = struct.pack("<H", rng.choice((0, 2, 255, 65535)))
    elif kind == 7:  # huge but finite values, and a denormal-ish quaternion
        off = 20 + 4 * rng.randrange((len(b) - 20) // 4)
        b[off:off + 4] = struct.pack("<f", rng.choice((3.4e38, -3.4e38, 1e-45, -7.0, 123.0)))
    else:  # untouched
        pass
    return bytes(b)


def part_fuzz(check, ops, protocol):
    rng = random.Random(20261124)
    face, rig = build_full_face(protocol.ARKIT_NAMES)
    port = common.free_port()
    bpy.context.scene.vstream.port = port
    check(bpy.ops.vstream.start() == {'FINISHED'}, "start")
    session = ops.state.session
    rcvbuf = session.receiver._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    check(rcvbuf >= 200000, "receive buffer enlarged", rcvbuf)

    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    expected = {}
    sent = 0
    burst = 100
    seq = 0
    drops_before = udp_drops(port)
    while sent < ARGS.count:
        n = min(burst, ARGS.count - sent)
        for _ in range(n):
            r = rng.random()
            if r < 0.15:
                data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 601)))
            else:
                seq += 1
                w = [rng.random() for _ in range(protocol.NUM_CHANNELS)]
                q = [rng.uniform(-1, 1) for _ in range(4)]
                good = protocol.encode(protocol.Frame(seq=seq, t=seq / 60.0, face=rng.random() < 0.9,
                                                      quat=tuple(q), weights=tuple(w)))
                data = good if r < 0.25 else mutate(rng, good)
            reason = expected_reason(data, protocol.FRAME_SIZE)
            expected[reason] = expected.get(reason, 0) + 1
            sender.sendto(data, ("127.0.0.1", port))
        sent += n
        rec = session.receiver
        ok = common.tick_until(ops, lambda: rec.accepted_total + rec.rejected_total == sent, **TICK)
        if not ok:
            raise AssertionError("after %d sent: counted %d accepted + %d rejected; kernel drops %d"
                                 % (sent, rec.accepted_total, rec.rejected_total,
                                    udp_drops(port) - drops_before))
    rec = session.receiver
    check(udp_drops(port) == drops_before, "kernel dropped nothing")
    counted = dict(rec.rejected)
    counted = {k: v for k, v in counted.items() if v}
    counted["accepted"] = rec.accepted_total
    check(rec.accepted_total + rec.rejected_total == ARGS.count, "accepted + rejected == sent",
          (rec.accepted_total, rec.rejected_total, ARGS.count))
    check(counted == expected, "every datagram counted under the right reason", (counted, expected))
    for reason in ("size", "magic", "version", "non-finite", "accepted"):
        check(expected.get(reason, 0) > 100, "fuzz covers %s" % reason, expected)
    keys = face.data.shape_keys.key_blocks
    check(all(0.0 <= k.value <= 1.0 and math.isfinite(k.value) for k in keys), "shape keys stay in 0..1")
    check(all(math.isfinite(c) for c in rig.pose.bones["Head"].rotation_quaternion), "head rotation finite")
    check(bpy.ops.vstream.stop() == {'FINISHED'}, "stop after fuzz")
    check(common.port_is_free(port), "port free after fuzz")
    sender.close()
    return {"sent": ARGS.count, "counted": counted}


# -- lifecycle ---------------------------------------------------------------

def part_lifecycle(check, ops, module, receiver_mod):
    port = common.free_port()
    scene = bpy.context.scene
    scene.vstream.port = port
    check(scene.vstream.listen_all is False, "LAN listening is off by default")

    # (e) loopback only unless asked
    check(bpy.ops.vstream.start() == {'FINISHED'}, "start")
    addr = ops.state.session.receiver.address()
    check(addr == ("127.0.0.1", port), "binds 127.0.0.1 by default", addr)
    bpy.ops.vstream.stop()
    scene.vstream.listen_all = True
    check(bpy.ops.vstream.start() == {'FINISHED'}, "start on all interfaces")
    addr = ops.state.session.receiver.address()
    check(addr == ("0.0.0.0", port), "binds 0.0.0.0 when Listen on all interfaces is on", addr)
    bpy.ops.vstream.stop()
    scene.vstream.listen_all = False
    prop = scene.vstream.bl_rna.properties["listen_all"]
    check("LAN" in prop.name, "option is named for the LAN", prop.name)

    # (b) busy port: clear message, no session, no timer
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", port))
    before = open_sockets()
    message = ""
    try:
        bpy.ops.vstream.start()
    except RuntimeError as e:
        message = str(e)
    want = receiver_mod.port_in_use_message(port)
    check(want in message, "busy port gives the clear message", message)
    check(ops.state.session is None and not ops.ticking(),
          "nothing half-started")
    check(open_sockets() == before, "failed start leaves no socket open")
    # Busy on all interfaces too (0.0.0.0 clashes with a 127.0.0.1 bind on Linux).
    scene.vstream.listen_all = True
    try:
        bpy.ops.vstream.start()
    except RuntimeError as e:
        message = str(e)
    check(want in message and ops.state.session is None, "busy port on the LAN option too", message)
    scene.vstream.listen_all = False
    blocker.close()

    # (c) 100 Start/Stop cycles: no socket left behind, port bindable after
    before = open_sockets()
    for i in range(100):
        assert bpy.ops.vstream.start() == {'FINISHED'}, i
        assert ops.state.session is not None, i
        ops.tick(bpy.context)
        assert bpy.ops.vstream.stop() == {'FINISHED'}, i
    after = open_sockets()
    check(after == before, "100 start/stop cycles leak no socket", (len(before), len(after)))
    check(common.port_is_free(port), "port re-bindable after 100 cycles")

    # (d) file changes while running: session stopped, socket closed
    path = os.path.join(tempfile.mkdtemp(), "saved.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    for what, op in (("read_homefile", lambda: bpy.ops.wm.read_homefile()),
                     ("open_mainfile", lambda: bpy.ops.wm.open_mainfile(filepath=path)),
                     ("revert_mainfile", lambda: bpy.ops.wm.revert_mainfile())):
        if what == "revert_mainfile" and bpy.data.filepath != path:
            bpy.ops.wm.open_mainfile(filepath=path)
        bpy.context.scene.vstream.port = port
        before = open_sockets()
        check(bpy.ops.vstream.start() == {'FINISHED'}, "start before " + what)
        bpy.ops.vstream.record()
        ops.tick(bpy.context)
        op()
        check(ops.state.session is None and not ops.ticking(),
              "%s stops the session" % what)
        check(common.port_is_free(port), "%s closes the socket" % what)
        check(open_sockets() == before, "%s leaves no socket open" % what)
        check(bpy.ops.vstream.start() == {'FINISHED'}, "start again after " + what)
        check(bpy.ops.vstream.stop() == {'FINISHED'}, "stop after " + what)

    bpy.context.scene.vstream.port = port
    before = open_sockets()
    esc_items = stop_on_esc()
    check(sorted(esc_items) == ["3D View Generic", "Window"], "Esc bound to Stop in the add-on key maps", esc_items)
    check(bpy.ops.vstream.start() == {'FINISHED'}, "start before disabling")
    common.disable(module)
    check(stop_on_esc() == [], "disabling removes the Esc key map items", stop_on_esc())
    check(common.port_is_free(port), "disabling the add-on closes the socket")
    check(open_sockets() == before, "disabling leaves no socket open")
    check(not hasattr(bpy.types, "VIEW3D_PT_vstream"), "disabling unregisters the panel")
    check(ops.state.session is None, "disabling ends the session")
    return {"port": port}


def stop_on_esc():
    """Names of the add-on key maps holding an Esc item bound to vstream.stop."""
    keyconfig = bpy.context.window_manager.keyconfigs.addon
    return [km.name for km in keyconfig.keymaps for item in km.keymap_items
            if item.idname == "vstream.stop" and item.type == 'ESC'] if keyconfig else []


# -- long take -----------------------------------------------------------------

def part_long_take(check, ops, protocol):
    fps = 60
    n = 10 * 60 * fps
    face, rig = build_full_face(protocol.ARKIT_NAMES)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, 1.0
    scene.frame_start = 1
    port = common.free_port()
    scene.vstream.port = port
    check(bpy.ops.vstream.start() == {'FINISHED'}, "start")
    session = ops.state.session
    check(bpy.ops.vstream.record() == {'FINISHED'} and session.recording, "record on")

    def weight(i, c):
        # Distinct per frame and channel, exactly representable as float32.
        return ((i * 7 + c * 13) % 1024) / 1024.0

    def quat(i):
        a = math.radians(20.0 * math.sin(i / 90.0)) / 2
        return (math.cos(a), 0.0, 0.0, math.sin(a))

    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    burst = 100
    t0 = 1000.0
    drops_before = udp_drops(port)
    for start in range(0, n, burst):
        for i in range(start, min(n, start + burst)):
            f = protocol.Frame(seq=i, t=t0 + i / fps, face=True, quat=quat(i),
                               weights=tuple(weight(i, c) for c in range(protocol.NUM_CHANNELS)))
            sender.sendto(protocol.encode(f), ("127.0.0.1", port))
        target = min(n, start + burst)
        if not common.tick_until(ops, lambda: len(session.recorder) == target, **TICK):
            raise AssertionError("recorded %d of %d; kernel drops %d"
                                 % (len(session.recorder), target, udp_drops(port) - drops_before))
    sender.close()
    check(len(session.recorder) == n, "all %d frames recorded" % n)
    started = time.perf_counter()
    check(bpy.ops.vstream.record() == {'FINISHED'}, "record off bakes")
    bake_s = time.perf_counter() - started
    action = bpy.data.actions["vstream_take_001_face"]
    check(action["vstream_keyed"] == n and action["vstream_merged"] == 0 and action["vstream_received"] == n,
          "every frame keyed, none merged", dict(action.items()))
    curves = {c.data_path: c for c in common.action_fcurves(action)}
    check(len(curves) == protocol.NUM_CHANNELS, "one curve per ARKit channel", len(curves))
    want_frames = [float(1 + i) for i in range(n)]
    for c, name in enumerate(protocol.ARKIT_NAMES):
        pts = curves['key_blocks["%s"].value' % name].keyframe_points
        assert len(pts) == n, (name, len(pts))
        co = [0.0] * (2 * n)
        pts.foreach_get("co", co)
        assert co[0::2] == want_frames, name
        want = [weight(i, c) for i in range(n)]
        bad = [i for i, (a, b) in enumerate(zip(co[1::2], want)) if abs(a - b) > 1e-6]
        assert not bad, (name, bad[:5])
    check(True, "52 curves x %d keys on frames 1..%d with the sent values" % (n, n))
    head = bpy.data.actions["vstream_take_001_head"]
    hcurves = common.action_fcurves(head)
    check(len(hcurves) == 4 and all(len(c.keyframe_points) == n for c in hcurves),
          "head: 4 curves x %d keys" % n)
    scene.frame_set(1 + 12345)
    check(abs(face.data.shape_keys.key_blocks["jawOpen"].value
              - weight(12345, protocol.ARKIT_NAMES.index("jawOpen"))) < 1e-5, "playback matches a sent frame")
    bpy.ops.vstream.stop()
    return {"frames": n, "bake_seconds": round(bake_s, 3)}


# -- import take -----------------------------------------------------------------

def part_import_take(check, ops, protocol):
    import json
    face, rig = build_full_face(protocol.ARKIT_NAMES)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    scene.frame_start = 1
    check(hasattr(bpy.types, "VSTREAM_OT_import_take"), "operator vstream.import_take registered")

    with open(ARGS.take, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    records = lines[1:]  # lines[0] is the take's header
    with_face = [r for r in records if r["face"]]
    check(len(with_face) > 10, "the tracker found a face in the take", len(with_face))

    for path_line in ARGS.corrupt:
        path, line = path_line.rsplit(":", 1)
        before = len(bpy.data.actions)
        message = ""
        try:
            bpy.ops.vstream.import_take(filepath=path)
        except RuntimeError as e:
            message = str(e)
        check(("%s:%s:" % (path, line)) in message, "bad take reports its line (%s)" % os.path.basename(path),
              message)
        check(ops.state.error.startswith("Import take: ") and ("%s:%s:" % (path, line)) in ops.state.error,
              "panel error line names the file and line (%s)" % os.path.basename(path), ops.state.error)
        check(len(bpy.data.actions) == before, "bad take creates no Action (%s)" % os.path.basename(path))

    started = time.perf_counter()
    check(bpy.ops.vstream.import_take(filepath=ARGS.take) == {'FINISHED'}, "import take")
    seconds = time.perf_counter() - started
    check(ops.state.error == "", "success clears the error line", ops.state.error)
    action = bpy.data.actions.get("vstream_take_001_face")
    check(action is not None and "vstream_take_001_head" in bpy.data.actions, "take imported as a take's Actions",
          [a.name for a in bpy.data.actions])
    check(action["vstream_source"] == ARGS.take, "Action remembers the take file", action.get("vstream_source"))
    check(action["vstream_received"] == len(records) and action["vstream_keyed"] + action["vstream_merged"]
          == len(with_face), "every record received, every face frame keyed or merged", dict(action.items()))
    check(face.data.shape_keys.animation_data.action == action, "face Action assigned")
    t0 = records[0]["t"]
    curves = {c.data_path: c for c in common.action_fcurves(action)}
    check(len(curves) == protocol.NUM_CHANNELS, "one curve per ARKit channel")
    if action["vstream_merged"] == 0:
        for name in ("jawOpen", "eyeBlinkLeft", "mouthSmileLeft", "browInnerUp"):
            pts = curves['key_blocks["%s"].value' % name].keyframe_points
            co = [0.0] * (2 * len(pts))
            pts.foreach_get("co", co)
            want_frames = [1 + round((r["t"] - t0) * 30) for r in with_face]
            want_values = [min(1.0, max(0.0, r["weights"].get(name, 0.0))) for r in with_face]
            check.close(co[0::2], want_frames, "%s keyed at the records' times" % name)
            check.close(co[1::2], want_values, "%s keys hold the take's weights" % name, tol=1e-5)
    check(ops.state.last_take.startswith("vstream_take_001: ") and "(imported)" in ops.state.last_take,
          "panel reports the imported take", ops.state.last_take)
    # A second import is a new take, not an overwrite.
    check(bpy.ops.vstream.import_take(filepath=ARGS.take) == {'FINISHED'}
          and "vstream_take_002_face" in bpy.data.actions, "importing again makes take 002")
    duration = records[-1]["t"] - t0
    return {"records": len(records), "take_seconds": round(duration, 3), "import_seconds": round(seconds, 3)}


def main(check):
    module = common.install("legacy", os.path.abspath(ARGS.zip))
    try:
        ops = sys.modules[module + ".blender.operators"]
        protocol = sys.modules[module + ".shared.protocol"]
        if ARGS.part == "fuzz":
            return part_fuzz(check, ops, protocol)
        if ARGS.part == "lifecycle":
            return part_lifecycle(check, ops, module, sys.modules[module + ".core.receiver"])
        if ARGS.part == "import_take":
            return part_import_take(check, ops, protocol)
        return part_long_take(check, ops, protocol)
    finally:
        common.disable(module)


if __name__ == "__main__":
    ARGS = parse_args()
    common.run(main)
