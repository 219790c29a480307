"""Recording and takes in real Blender: the mapping is baked as live apply sets it,
several meshes, takes start at the current frame, Start with Playback, Push to
NLA, Reduce Keys, undo of a take, and Import Take through the same path.

Runs in the bpy module (5.0, slotted Actions) and in `blender -b` (3.4, legacy
Actions): `... scenario_recording.py --zip Z`. Frames go through real UDP and
the real operators; Blender has no event loop here, so the script ticks.
Prints `RESULT {json}`; exits 0 only if every check passed.
"""

import argparse
import importlib.util
import json
import math
import os
import random
import socket
import sys
import tempfile
import types

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

ARGS = None
HAVE_NUMPY = importlib.util.find_spec("numpy") is not None


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--zip", required=True)
    return p.parse_args(common.script_args())


# -- scene built in code -------------------------------------------------------

# VRM 0.x preset names (valued by mapping.vrm_weights), one ARKit name, one that matches nothing.
VRM_KEYS = ("Blink", "Blink_L", "Blink_R", "A", "O", "Joy", "jawOpen", "notMapped")
# Explicit entries: gain/offset, invert, mute, and an ARKit-named key driven by a VRM expression.
ENTRY_KEYS = ("jawOpen", "eyeBlinkLeft", "browInnerUp", "mouthSmileLeft", "cheekPuff")
ENTRIES = [
    {"shape_key": "jawOpen", "channel": "jawOpen", "gain": 0.5, "offset": 0.1},
    {"shape_key": "eyeBlinkLeft", "channel": "eyeBlinkLeft", "invert": True},
    {"shape_key": "browInnerUp", "channel": "browInnerUp", "mute": True},
    {"shape_key": "mouthSmileLeft", "channel": "happy", "gain": 0.8},
]
# What gets a curve: everything the mapping drives, nothing muted or unmatched.
VRM_DRIVEN = ("Blink", "Blink_L", "Blink_R", "A", "O", "Joy", "jawOpen")
ENTRY_DRIVEN = ("jawOpen", "eyeBlinkLeft", "mouthSmileLeft", "cheekPuff")


def build_armature():
    arm = bpy.data.armatures.new("Rig")
    rig = bpy.data.objects.new("Rig", arm)
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    rig.select_set(True)
    bpy.ops.object.mode_set(mode='EDIT')
    eb = arm.edit_bones.new("head")
    eb.head, eb.tail = (0, 0, 1.5), (0, 0, 1.7)
    bpy.ops.object.mode_set(mode='OBJECT')
    return rig


# -- frames ----------------------------------------------------------------------

def make_frames(protocol, n, t0, seed, fps=30.0):
    rng = random.Random(seed)
    frames = []
    for i in range(n):
        weights = {name: rng.random() for name in protocol.ARKIT_NAMES}
        # Both eyes often closed together, so the blink split really matters.
        if i % 3 == 0:
            weights["eyeBlinkRight"] = weights["eyeBlinkLeft"] * 0.9
        h = math.radians(20.0 * math.sin(i / 7.0)) / 2
        frames.append(protocol.Frame(seq=i, t=t0 + i / fps, face=True, quat=(math.cos(h), 0.0, 0.0, math.sin(h)),
                                     weights=protocol.weights_from_dict(weights)))
    return frames


def smooth_frames(protocol, n, t0, fps=30.0):
    """Slow ramps and a sine: most keys can go under Reduce Keys."""
    frames = []
    for i in range(n):
        weights = {"jawOpen": min(1.0, i / n * 1.5), "eyeBlinkLeft": 0.5 + 0.4 * math.sin(i / 15.0)}
        h = math.radians(10.0 * i / n) / 2
        frames.append(protocol.Frame(seq=i, t=t0 + i / fps, face=True, quat=(math.cos(h), 0.0, 0.0, math.sin(h)),
                                     weights=protocol.weights_from_dict(weights)))
    return frames


class Sender:
    def __init__(self, protocol, port):
        self.protocol, self.port = protocol, port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send_all(self, ops, session, frames):
        want = len(session.recorder) + len(frames)
        for f in frames:
            self.sock.sendto(self.protocol.encode(f), ("127.0.0.1", self.port))
        ok = common.wait_until(lambda: (ops.tick(bpy.context), len(session.recorder) >= want)[1], timeout=5.0)
        if not ok:
            raise AssertionError("recorded %d of %d frames" % (len(session.recorder), want))


def live_values(live, frames, mesh_obj):
    """{key name: [value per frame]} as live apply leaves the shape keys, frame by frame.

    A fresh live.LiveDriver (the tick's own code) drives `mesh_obj` alone, one
    frame a tick, with the scene's live options (what Record keeps).
    """
    blocks = mesh_obj.data.shape_keys.key_blocks
    settings = types.SimpleNamespace(mesh=mesh_obj, meshes=(), live=bpy.context.scene.vstream.live,
                                     armature=None, head_bone="")
    driver, session = live.LiveDriver(), object()
    out = {b.name: [] for b in blocks}
    for f in frames:
        driver.drive(session, settings, [f])
        for b in blocks:
            out[b.name].append(b.value)
    return out


def curves_of(action):
    return {(c.data_path, c.array_index): c for c in common.action_fcurves(action)}


def keys_of(fcurve):
    pts = fcurve.keyframe_points
    co = [0.0] * (2 * len(pts))
    pts.foreach_get("co", co)
    return co[0::2], co[1::2]


def check_mapping_keys(check, action, mesh_obj, driven, wanted, first_frame, what):
    curves = curves_of(action)
    paths = sorted(p for p, _ in curves)
    check(paths == sorted('key_blocks["%s"].value' % k for k in driven),
          "%s: one curve per driven key, none for muted or unmatched keys" % what, paths)
    for key in driven:
        frames, values = keys_of(curves[('key_blocks["%s"].value' % key, 0)])
        n = len(wanted[key])
        check.close(frames, [first_frame + i for i in range(n)],
                    "%s: %s keyed from frame %d" % (what, key, first_frame))
        # Live apply skips changes under values.VALUE_EPSILON (1e-5); the bake writes every value.
        check.close(values, wanted[key], "%s: %s keys equal what live apply sets" % (what, key), tol=2e-5)


def check_reduced(check, ops, live, entry_face, reduced, smooth):
    check(abs(reduced["vstream_reduce_tolerance"] - 0.01) < 1e-9, "the tolerance is stored on the Action")
    live_smooth = live_values(live, smooth, entry_face)
    total_kept = 0
    for action, wanted in ((reduced, live_smooth), (bpy.data.actions["vstream_take_006_head"], None)):
        for (path, index), c in curves_of(action).items():
            frames, values = keys_of(c)
            total_kept += len(frames)
            check(frames[0] == 501.0 and frames[-1] == 501.0 + 119, "reduced curves keep the first and last key",
                  (path, frames[0], frames[-1]))
            if wanted is not None:
                key = path.split('"')[1]
                got = [c.evaluate(501 + i) for i in range(120)]
                err = max(abs(a - b) for a, b in zip(got, wanted[key]))
                check(err <= 0.01 + 2e-5, "every recorded value within the tolerance of the reduced curve", (key, err))
    full = 120 * (len(ENTRY_DRIVEN) + 4)
    check(total_kept < full / 3, "Reduce Keys removes most keys of smooth motion", (total_kept, full))
    check("keys reduced away" in ops.state.last_take, "panel says keys were reduced", ops.state.last_take)


# -- parts -----------------------------------------------------------------------

def main(check):
    module = common.install("legacy", os.path.abspath(ARGS.zip))
    try:
        return scenario(check, module)
    finally:
        common.disable(module)


def scenario(check, module):
    ops = sys.modules[module + ".blender.operators"]
    protocol = sys.modules[module + ".shared.protocol"]
    bake = sys.modules[module + ".blender.bake"]
    live = sys.modules[module + ".blender.live_apply"]
    mesh_mapping = sys.modules[module + ".blender.mesh_mapping"]
    mapping = sys.modules[module + ".core.mapping"]
    recorder = sys.modules[module + ".core.recorder"]
    take = sys.modules[module + ".shared.take"]
    slotted = bpy.app.version >= (4, 4, 0)

    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    settings = scene.vstream
    rec = settings.recording
    check(hasattr(bpy.types, "VIEW3D_PT_vstream_recording"), "recording sub-panel registered")
    sub = bpy.types.VIEW3D_PT_vstream_recording
    check(sub.bl_parent_id == "VIEW3D_PT_vstream" and 'DEFAULT_CLOSED' in sub.bl_options,
          "sub-panel under the VStream panel, closed by default")
    check(not rec.start_playback and not rec.push_to_nla and not rec.reduce_keys,
          "recording options off by default")

    vrm_face = common.build_face_mesh(VRM_KEYS, name="FaceVRM")
    entry_face = common.build_face_mesh(ENTRY_KEYS, name="FaceEntry")
    entry_face[mapping.PROP_MAPPING] = mapping.entries_to_json([mapping.MappingEntry(**e) for e in ENTRIES])
    check(mesh_mapping.mapping_error(entry_face) is None, "mapping entries stored on the mesh are valid")
    rig = build_armature()
    settings.armature = rig
    settings.head_bone = "head"
    settings.port = common.free_port()

    # -- 1. Record through the operator: the mapping is keyed as live apply sets it,
    # starting at the current frame --
    settings.mesh = entry_face
    scene.frame_start = 1
    scene.frame_set(101)
    check(bpy.ops.vstream.start() == {'FINISHED'}, "start")
    session = ops.state.session
    sender = Sender(protocol, settings.port)
    frames1 = make_frames(protocol, 40, 100.0, seed=1)
    check(bpy.ops.vstream.record() == {'FINISHED'} and session.recording, "record on")
    sender.send_all(ops, session, frames1)
    live1 = live_values(live, frames1, entry_face)
    check(bpy.ops.vstream.record() == {'FINISHED'} and not session.recording, "record off bakes")
    face1 = bpy.data.actions.get("vstream_take_001_face")
    check(face1 is not None and "vstream_take_001_head" in bpy.data.actions, "take 001 baked",
          [a.name for a in bpy.data.actions])
    check_mapping_keys(check, face1, entry_face, ENTRY_DRIVEN, live1, 101, "entries")
    check(entry_face.data.shape_keys.animation_data.action == face1, "take assigned to the mesh's shape keys")
    for c in common.action_fcurves(face1):
        pts = c.keyframe_points
        co, hl, hr = ([0.0] * (2 * len(pts)) for _ in range(3))
        pts.foreach_get("co", co)
        pts.foreach_get("handle_left", hl)
        pts.foreach_get("handle_right", hr)
        # Handles left at (0, 0) would stretch the Graph Editor's View All to frame 0.
        check(min(hl[0::2] + hr[0::2]) >= co[0] and max(hl[0::2] + hr[0::2]) <= co[-2],
              "handles stay within the take's frames", (c.data_path, min(hl[0::2]), co[0]))
    head_w = curves_of(bpy.data.actions["vstream_take_001_head"])[('pose.bones["head"].rotation_quaternion', 0)]
    frames, _ = keys_of(head_w)
    check(frames[0] == 101.0, "head keys start at the current frame too", frames[0])
    check(ops.state.last_take.startswith("vstream_take_001: 40 keys, frames 101-140"), "panel reports frames 101-140",
          ops.state.last_take)
    bpy.ops.vstream.stop()

    # -- 2. Several meshes in one bake: one Action per shape-key datablock --
    frames2 = make_frames(protocol, 30, 200.0, seed=2)
    live_vrm = live_values(live, frames2, vrm_face)
    live_entry = live_values(live, frames2, entry_face)
    r = recorder.Recorder()
    for f in frames2:
        r.add(f)
    report = bake.bake_take(r, scene, [vrm_face, entry_face, vrm_face], rig, "head", "vstream_take_002",
                            frame_start=11)
    names = sorted(report["actions"])
    check(names == ["vstream_take_002_face_FaceEntry", "vstream_take_002_face_FaceVRM", "vstream_take_002_head"],
          "several meshes: one face Action per mesh (a mesh listed twice baked once), named after the object",
          names)
    for name in names:
        check(bpy.data.actions[name].use_fake_user, "every take Action has a fake user")
    check_mapping_keys(check, bpy.data.actions["vstream_take_002_face_FaceVRM"], vrm_face, VRM_DRIVEN, live_vrm, 11,
                       "VRM presets")
    check_mapping_keys(check, bpy.data.actions["vstream_take_002_face_FaceEntry"], entry_face, ENTRY_DRIVEN,
                       live_entry, 11, "entries (multi-mesh)")
    check(vrm_face.data.shape_keys.animation_data.action.name == "vstream_take_002_face_FaceVRM"
          and entry_face.data.shape_keys.animation_data.action.name == "vstream_take_002_face_FaceEntry",
          "each mesh gets its own take Action")
    check(report["shape_key_curves"] == len(VRM_DRIVEN) + len(ENTRY_DRIVEN), "report counts every curve", report)
    scene.frame_set(11 + 7)
    blocks = vrm_face.data.shape_keys.key_blocks
    check.close([blocks[k].value for k in VRM_DRIVEN], [live_vrm[k][7] for k in VRM_DRIVEN],
                "playback of a VRM take poses the mesh as live did", tol=2e-5)

    # -- 3. Start with Playback, Push to NLA, Reduce Keys through the operators --
    settings.mesh = entry_face
    rec.start_playback = True
    rec.push_to_nla = True
    scene.frame_set(301)
    check(bpy.ops.vstream.start() == {'FINISHED'}, "start again")
    session = ops.state.session
    screen = bpy.context.screen
    check(screen is not None and not screen.is_animation_playing, "timeline not playing before Record")
    check(bpy.ops.vstream.record() == {'FINISHED'}, "record with playback on")
    check(screen.is_animation_playing, "Record starts timeline playback")
    frames3 = make_frames(protocol, 20, 300.0, seed=3)
    sender.send_all(ops, session, frames3)
    # Playback would move the frame with an event loop; the take still starts where Record was pressed.
    scene.frame_current = 320
    check(bpy.ops.vstream.record() == {'FINISHED'}, "record off with playback and NLA")
    check(not screen.is_animation_playing, "stopping the recording stops playback")
    key_anim = entry_face.data.shape_keys.animation_data
    face3 = bpy.data.actions["vstream_take_003_face"]
    head3 = bpy.data.actions["vstream_take_003_head"]
    check(key_anim.action is None and rig.animation_data.action is None,
          "Push to NLA leaves the active action empty (the previous take is taken off)")
    for anim, action in ((key_anim, face3), (rig.animation_data, head3)):
        tracks = [t for t in anim.nla_tracks if t.name == "vstream_take_003"]
        check(len(tracks) == 1 and len(tracks[0].strips) == 1 and tracks[0].strips[0].action == action,
              "a new NLA track named after the take holds its Action", [t.name for t in anim.nla_tracks])
        strip = tracks[0].strips[0]
        check(strip.frame_start == 301.0, "the strip starts at the take's first frame", strip.frame_start)
        check(strip.extrapolation == 'NOTHING', "the strip acts on its own frames only", strip.extrapolation)
        if slotted:
            check(strip.action_slot is not None and strip.action_slot == action.slots[0],
                  "the strip uses the take's slot (slotted Actions)")
    check(face1.use_fake_user and "vstream_take_001_face" in bpy.data.actions, "the previous take is kept")
    check(face3["vstream_keyed"] == 20, "NLA take keyed every frame")
    # A second take with Push to NLA goes on a track of its own.
    rec.start_playback = False
    scene.frame_set(401)
    bpy.ops.vstream.record()
    check(not screen.is_animation_playing, "no playback when Start with Playback is off")
    sender.send_all(ops, session, make_frames(protocol, 10, 400.0, seed=4))
    bpy.ops.vstream.record()
    check([t.name for t in key_anim.nla_tracks] == ["vstream_take_003", "vstream_take_004"],
          "the next take gets its own NLA track", [t.name for t in key_anim.nla_tracks])
    live3 = live_values(live, frames3, entry_face)
    scene.frame_set(301 + 5)
    check.close(entry_face.data.shape_keys.key_blocks["jawOpen"].value, live3["jawOpen"][5],
                "the NLA track plays the take back", tol=2e-5)
    # Playback the user started is not stopped by Record.
    rec.start_playback = True
    bpy.ops.screen.animation_play()
    bpy.ops.vstream.record()
    sender.send_all(ops, session, make_frames(protocol, 5, 450.0, seed=5))
    bpy.ops.vstream.record()
    check(screen.is_animation_playing, "playback the user started keeps running after the take")
    bpy.ops.screen.animation_cancel(restore_frame=False)
    rec.start_playback = False
    rec.push_to_nla = False

    # Reduce Keys: smooth motion, tolerance 0.01.
    rec.reduce_keys = True
    rec.reduce_tolerance = 0.01
    scene.frame_set(501)
    smooth = smooth_frames(protocol, 120, 500.0)
    bpy.ops.vstream.record()
    sender.send_all(ops, session, smooth)
    bpy.ops.vstream.record()
    reduced = bpy.data.actions["vstream_take_006_face"]
    if not HAVE_NUMPY:
        # Debian's Blender 3.4 runs on a system Python without numpy.
        counts = [len(c.keyframe_points) for c in common.action_fcurves(reduced)]
        check(counts and all(k == 120 for k in counts), "without numpy every key is kept", counts)
        check("Reduce Keys needs numpy" in ops.state.last_take and "keys not reduced" in ops.state.last_take,
              "without numpy the panel says Reduce Keys was skipped", ops.state.last_take)
    else:
        check_reduced(check, ops, live, entry_face, reduced, smooth)
    rec.reduce_keys = False

    # -- 4. Undo after a take removes its Actions and keys --
    bpy.ops.ed.undo_push(message="before take")
    scene.frame_set(601)
    # bpy.ops calls from a script push no undo step unless asked ('EXEC_DEFAULT', True);
    # a button press in the UI always does for an operator with 'UNDO'.
    check(bpy.ops.vstream.record('EXEC_DEFAULT', True) == {'FINISHED'}, "record on (undoable call)")
    sender.send_all(ops, session, make_frames(protocol, 10, 600.0, seed=6))
    check(bpy.ops.vstream.record('EXEC_DEFAULT', True) == {'FINISHED'}, "record off (undoable call)")
    check("vstream_take_007_face" in bpy.data.actions, "take 007 baked before undo")
    check(bpy.data.objects["FaceEntry"].data.shape_keys.animation_data.action.name == "vstream_take_007_face",
          "take 007 assigned before undo")
    check(bpy.ops.ed.undo() == {'FINISHED'}, "ed.undo runs")
    check("vstream_take_007_face" not in bpy.data.actions and "vstream_take_007_head" not in bpy.data.actions,
          "undo removes the take's Actions", [a.name for a in bpy.data.actions])
    anim = bpy.data.objects["FaceEntry"].data.shape_keys.animation_data
    check(anim is None or anim.action is None or anim.action.name != "vstream_take_007_face",
          "undo removes the take's keys from the mesh")
    check("vstream_take_006_face" in bpy.data.actions, "undo keeps the takes before it")
    check(bpy.ops.ed.redo() == {'FINISHED'} and "vstream_take_007_face" in bpy.data.actions,
          "redo brings the take back")
    check(ops.state.session is session and session.receiver.is_open, "the live session survives undo")
    bpy.ops.vstream.stop()

    # -- 5. Import Take: same path, current frame, the mapping --
    # Undo replaced every datablock: fetch them again.
    scene = bpy.context.scene
    entry_face = bpy.data.objects["FaceEntry"]
    scene.vstream.mesh = entry_face
    frames5 = make_frames(protocol, 25, 1000.0, seed=7)
    path = os.path.join(tempfile.mkdtemp(), "t.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(take.header(30.0, "test", 640, 480)) + "\n")
        for i, fr in enumerate(frames5):
            weights = dict(zip(protocol.ARKIT_NAMES, fr.weights))
            f.write(json.dumps(take.frame_record(i, fr.t, True, weights, fr.quat, (0, 0, 0), (0, 0, 0), None)) + "\n")
    # The file rounds weights to 5 decimals: compare with what was written.
    frames5 = [protocol.Frame(seq=i, t=round(fr.t, 6), face=True, quat=fr.quat,
                              weights=tuple(round(w, 5) for w in fr.weights)) for i, fr in enumerate(frames5)]
    live5 = live_values(live, frames5, entry_face)
    scene.frame_set(701)
    check(bpy.ops.vstream.import_take(filepath=path) == {'FINISHED'}, "import take")
    imported = [a for a in bpy.data.actions if a.get("vstream_source") == path]
    face_imp = [a for a in imported if a.name.endswith("_face")]
    check(len(face_imp) == 1 and len(imported) == 2, "import makes a face and a head Action",
          [a.name for a in imported])
    check_mapping_keys(check, face_imp[0], entry_face, ENTRY_DRIVEN, live5, 701, "import")
    sender.sock.close()
    return {"slotted": slotted, "numpy": HAVE_NUMPY}


if __name__ == "__main__":
    ARGS = parse_args()
    common.run(main)
