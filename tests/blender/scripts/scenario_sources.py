"""Install a built zip, then feed the add-on from each source the panel offers, over real UDP.

    python scenario_sources.py --zip Z --kind K --feed FEED.json --out DIR [--osf-command JSON --osf-cwd D]
    blender -b --factory-startup --python scenario_sources.py -- (the same)

FEED.json (written by tests/blender/test_sources.py, which reads the peers'
recordings and runs the tracker's VMC sender): hex datagrams
    native    vstream datagrams of some frames
    vmc       the same frames as the tracker's --vmc bundles
    livelink  {"debug": {channel: [packets]}, "angles": {angle: [packets]}, "dao": [packets]}
With --osf-command, OpenSeeFace's facetracker runs live against the session
(its port appended) and what each of its frames did is written to
DIR/openseeface.json for the test to compare with OpenSeeFace's own log.

No event loop runs (bpy module, `blender -b`): the script calls the add-on's
tick itself, as the session's timer would. Prints `RESULT {json}`.
"""

import argparse
import glob
import json
import os
import socket
import subprocess
import sys
import time

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

ARGS = None
HEAD = "Head"


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--zip", required=True)
    p.add_argument("--kind", choices=("legacy", "extension"), required=True)
    p.add_argument("--feed", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--osf-command", default="", help="JSON list: facetracker's command line without --port")
    p.add_argument("--osf-cwd", default="")
    return p.parse_args(common.script_args())


class Run:
    """One session on one source, fed datagram by datagram and ticked as the timer would."""

    def __init__(self, check, ops, source):
        settings = bpy.context.scene.vstream
        settings.source = source
        settings.port = common.free_port()
        check(bpy.ops.vstream.start() == {'FINISHED'}, "start with source %s" % source)
        self.ops = ops
        self.session = ops.state.session
        check(self.session.source.key == source and self.session.port == settings.port,
              "the session takes source %s on the panel's port" % source)
        self.address = ("127.0.0.1", self.session.port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def counted(self):
        r = self.session.receiver
        return r.accepted_total + r.rejected_total

    def send(self, data):
        """Send one datagram and tick until the receiver has counted it."""
        before = self.counted()
        self.sock.sendto(data, self.address)
        common.tick_until(self.ops, lambda: self.counted() > before, "datagram %d counted" % (before + 1))

    def stop(self):
        self.sock.close()
        check_stop = bpy.ops.vstream.stop()
        assert check_stop == {'FINISHED'}, check_stop


def key_values(keys, names):
    return [keys[n].value for n in names]


def head_rotation(rig):
    """The head bone's turn in armature space (w, x, y, z): what the frame's quaternion says."""
    bpy.context.view_layer.update()
    pb = rig.pose.bones[HEAD]
    return tuple((pb.matrix @ pb.bone.matrix_local.inverted()).to_quaternion())


def scenario(check, module):
    ops = sys.modules[module + ".blender.operators"]
    arkit = sys.modules[module + ".shared.arkit"]
    names = list(arkit.ARKIT_NAMES)
    with open(ARGS.feed) as f:
        feed = json.load(f)
    unhex = bytes.fromhex
    scene = bpy.context.scene
    settings = scene.vstream
    result = {}

    if ARGS.kind == "extension":
        # Blender unpacks the manifest's wheels while the extension is enabled (and removes them
        # when it is disabled, so this is looked at here).
        local = bpy.utils.user_resource('EXTENSIONS', path=".local")
        found = glob.glob(os.path.join(local, "lib", "python*", "site-packages", "pythonosc", "__init__.py"))
        check(found, "Blender installed the extension's python-osc wheel", local)

    # -- the panel's source and port --
    check(settings.source == "VSTREAM" and settings.port == 11580, "source defaults to vstream on 11580",
          (settings.source, settings.port))
    for key, port in (("VMC", 39539), ("LIVELINK", 11111), ("OPENSEEFACE", 11573), ("VSTREAM", 11580)):
        settings.source = key
        check(settings.port == port, "picking a source sets its default port", (key, settings.port))
    settings.port = 40001
    settings.source = "VMC"
    check(settings.port == 40001, "a port the user typed stays when the source changes", settings.port)

    face = common.build_face_mesh(names, value=0.0)
    rig = common.build_armature("Rig", [(HEAD, (0, 0, 1.5), (0, 0, 1.7), 0.0, None)])
    settings.mesh = face
    settings.armature = rig
    settings.head_bone = HEAD
    keys = face.data.shape_keys.key_blocks

    # -- vstream's own protocol, then the same frames as the tracker's VMC output --
    run = Run(check, ops, "VSTREAM")
    native = []
    for data in feed["native"]:
        run.send(unhex(data))
        native.append(key_values(keys, names) + list(head_rotation(rig)))
    check(run.session.receiver.accepted_total == len(feed["native"]), "every native frame accepted")
    run.stop()

    run = Run(check, ops, "VMC")
    # vstream-tracker speaks vstream's protocol only: it is not launched for another source.
    check(not bpy.ops.vstream.launch_tracker.poll(), "Launch Tracker is not offered for VMC")
    # python-osc's own client, as any VMC performer's OSC library would send.
    from pythonosc.udp_client import SimpleUDPClient
    import pythonosc
    result["pythonosc"] = pythonosc.__file__
    client = SimpleUDPClient(*run.address)
    before = run.counted()
    client.send_message("/VMC/Ext/Blend/Val", ["JawOpen", 0.625])
    client.send_message("/VMC/Ext/Blend/Val", ["Blink_L", 1.0])  # a VRM 0.x preset
    client.send_message("/VMC/Ext/Blend/Apply", [])
    common.tick_until(ops, lambda: run.counted() == before + 3, "3 OSC messages")
    check.close(keys["jawOpen"].value, 0.625, "SimpleUDPClient's JawOpen moves jawOpen", tol=1e-6)
    check.close(keys["eyeBlinkLeft"].value, 1.0, "SimpleUDPClient's VRM Blink_L closes the left eye", tol=1e-6)
    vmc = []
    for data in feed["vmc"]:
        run.send(unhex(data))
        vmc.append(key_values(keys, names) + list(head_rotation(rig)))
    check(run.session.receiver.rejected_total == 0, "every VMC bundle accepted", run.session.receiver.rejected)
    diff = max(abs(a - b) for x, y in zip(native, vmc) for a, b in zip(x, y))
    result["vmc_vs_native_max_difference"] = diff
    check(len(vmc) == len(native) > 0 and diff < 1e-6,
          "VMC round trip gives the native protocol's shape-key values and head", diff)
    status = dict(run.session.status())
    check(status["rate"].endswith("packets/s") and status["rejected_total"] == 0, "VMC status", status)
    run.send(b"not osc at all")
    status = dict(run.session.status())
    check(status["rejected_total"] == 1 and status["rejected"] == "osc 1", "VMC rejects shown by reason", status)
    run.stop()

    # -- Live Link Face: the iPhone app's recorded packets --
    run = Run(check, ops, "LIVELINK")
    moved = {}
    for channel, packets in sorted(feed["livelink"]["debug"].items()):
        seen = []
        for data in packets:
            run.send(unhex(data))
            seen.append(key_values(keys, names))
        moved[channel] = [n for i, n in enumerate(names) if max(s[i] for s in seen) - min(s[i] for s in seen) > 0.0]
        check(moved[channel] == [channel] and max(s[names.index(channel)] for s in seen) > 0.8,
              "each Live Link debug recording moves exactly its shape key", (channel, moved[channel]))
    result["livelink_debug_files"] = len(moved)
    axes = {"headyaw": 3, "headpitch": 1, "headroll": 2}  # about avatar Z, X, Y
    for angle, packets in sorted(feed["livelink"]["angles"].items()):
        turned = 0
        for data in packets:
            run.send(unhex(data))
            q = head_rotation(rig)
            others = [abs(q[k]) for k in (1, 2, 3) if k != axes[angle]]
            check(max(others) < 1e-5, "each Live Link head-angle recording turns the head about its own axis",
                  (angle, q))
            turned += abs(q[axes[angle]]) > 0.1
        check(turned > len(packets) / 2, "the head turns in the head-angle recordings", (angle, turned))
    rejected_before = run.session.receiver.rejected_total
    run.send(b"\x06short")
    check(run.session.receiver.rejected_total == rejected_before + 1 and dict(run.session.status())["rejected"],
          "Live Link rejects shown by reason", run.session.status())

    # The real face: Record, replay the 180 packets, Record off bakes the take.
    scene.render.fps, scene.render.fps_base = 60, 1.0
    scene.frame_current = 1
    actions_before = set(bpy.data.actions)
    check(bpy.ops.vstream.record() == {'FINISHED'}, "Record on")
    for data in feed["livelink"]["dao"]:
        run.send(unhex(data))
    recorded = len(run.session.recorder)
    check(recorded == len(feed["livelink"]["dao"]) == 180, "every frame of the real recording recorded", recorded)
    check(bpy.ops.vstream.record() == {'FINISHED'}, "Record off bakes the take")
    new = [a for a in bpy.data.actions if a not in actions_before]
    curves = [c for a in new for c in common.action_fcurves(a)]
    jaw = [c for c in curves if c.data_path == 'key_blocks["jawOpen"].value']
    head = [c for c in curves if c.data_path == 'pose.bones["Head"].rotation_quaternion']
    check(len(jaw) == 1 and len(head) == 4, "the Live Link take bakes shape keys and the head bone",
          (len(jaw), len(head)))
    keyed = len(jaw[0].keyframe_points)
    values = [k.co[1] for k in jaw[0].keyframe_points]
    check(keyed > 100 and max(values) - min(values) > 0.05, "the take's jawOpen curve follows the face",
          (keyed, min(values), max(values)))
    result["livelink_take"] = {"actions": sorted(a.name for a in new), "jaw_keys": keyed}

    # The phone does not calibrate: Calibrate (Neutral By: Auto) takes the neutral in Blender.
    live = settings.live
    check(bpy.ops.vstream.calibrate() == {'FINISHED'} and live.neutral_weights != "",
          "Calibrate captures the neutral in Blender for Live Link")
    live.calibrate_mode = 'SENDER'
    check(bpy.ops.vstream.calibrate() == {'CANCELLED'} and live.neutral_weights == "",
          "Neutral By Sender: Live Link does not take calibrate (warned, Blender's neutral cleared)")
    live.calibrate_mode = 'AUTO'
    live.neutral_rotation = (1.0, 0.0, 0.0, 0.0)  # raw frames again for what follows
    live.neutral_position = (0.0, 0.0, 0.0)
    run.stop()

    # -- OpenSeeFace, running live --
    if ARGS.osf_command:
        run = Run(check, ops, "OPENSEEFACE")
        command = json.loads(ARGS.osf_command) + ["--port", str(run.session.port)]
        ticks = []
        proc = subprocess.Popen(command, cwd=ARGS.osf_cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            last = 0
            r = run.session.receiver
            while True:
                done = proc.poll() is not None
                ops.tick(bpy.context)
                count = r.accepted_total
                if count == last + 1:
                    # Exactly one new frame this tick: the pose is that frame's (OpenSeeFace's log row count-1).
                    ticks.append([count - 1, r.latest.face, keys["eyeBlinkLeft"].value,
                                  keys["eyeBlinkRight"].value, list(head_rotation(rig))])
                last = count
                if done:
                    break
                time.sleep(0.002)
            output = proc.stdout.read().decode(errors="replace")
            check(proc.returncode == 0, "OpenSeeFace ran", output[-2000:])
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        common.tick_until(ops, lambda: False, None, timeout=0.5)  # the last datagrams
        check(r.rejected_total == 0 and r.accepted_total > 100, "OpenSeeFace's packets accepted",
              (r.accepted_total, r.rejected))
        with open(os.path.join(ARGS.out, "openseeface.json"), "w") as f:
            json.dump({"accepted": r.accepted_total, "ticks": ticks}, f)
        result["openseeface_frames"] = r.accepted_total
        run.stop()
    return result


if __name__ == "__main__":
    ARGS = parse_args()
    common.run_installed(ARGS.kind, ARGS.zip, scenario)
