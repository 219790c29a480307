"""GUI Blender (3.4) under Xvfb, with its event loop: Start with Playback really
plays (the frame moves while recording, the take still starts where Record was
pressed), and a take baked by Esc gets its own undo step (ed.undo removes it
and nothing before it).

    xvfb-run -a blender --factory-startup --enable-event-simulate --python gui_recording.py -- \
        --zip LEGACY.zip --port P --out DIR

Frames come over real UDP at 30 fps while the session's timer ticks.
Prints `RESULT {json}`; exits 0 only if every check passed.
"""

import os
import socket
import sys
import time

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import press, show_vstream_tab, wait  # noqa: E402

TIMEOUT = 120.0
ARGS = common.gui_arg_parser().parse_args(common.script_args())
CHECK = common.Checks()
STATE = {"module": None}
INFO = {}


def build_scene():
    return common.build_face_mesh(("jawOpen", "eyeBlinkLeft", "Blink"), dent=0.1)


def send_for(sock, protocol, seconds, t0, jaw=lambda i: 0.5):
    """Generator: one frame every 1/30 s for `seconds`, capture time from t0."""
    n = int(seconds * 30)
    start = time.monotonic()
    for i in range(n):
        w = protocol.weights_from_dict({"jawOpen": jaw(i), "eyeBlinkLeft": 0.3, "eyeBlinkRight": 0.3})
        f = protocol.Frame(seq=i, t=t0 + i / 30.0, face=True, quat=(1.0, 0.0, 0.0, 0.0), weights=w)
        sock.sendto(protocol.encode(f), ("127.0.0.1", ARGS.port))
        wait = start + (i + 1) / 30.0 - time.monotonic()
        yield max(0.0, wait)


def check_sub_panel_draws(scene):
    """The Recording sub-panel is closed by default: re-register it open, then watch it draw."""
    cls = sys.modules["vstream_addon.blender.panels"].VIEW3D_PT_vstream_recording
    CHECK('DEFAULT_CLOSED' in cls.bl_options, "Recording sub-panel closed by default")
    bpy.utils.unregister_class(cls)
    cls.bl_options = set()
    original = cls.draw
    draws = []

    def draw(self, context):
        entry = [context.scene.vstream.recording.reduce_keys, False]
        draws.append(entry)
        original(self, context)
        entry[1] = True

    cls.draw = draw
    bpy.utils.register_class(cls)
    scene.vstream.recording.reduce_keys = True
    show_vstream_tab()
    yield from wait(lambda: any(ok for _, ok in draws), 10, "the Recording sub-panel to draw")
    CHECK(all(ok for _, ok in draws[:-1]) and draws[-1][1], "Recording sub-panel draws without errors", draws)
    scene.vstream.recording.reduce_keys = False
    cls.draw = original


def run():
    win = bpy.context.window_manager.windows[0]
    win.event_simulate(type='ESC', value='PRESS')  # close the splash screen
    win.event_simulate(type='ESC', value='RELEASE')
    yield 0.5
    STATE["module"] = common.install("legacy", ARGS.zip)
    ops = sys.modules["vstream_addon.blender.operators"]
    protocol = sys.modules["vstream_addon.shared.protocol"]
    face = build_scene()
    scene = bpy.context.scene
    yield from check_sub_panel_draws(scene)
    scene.render.fps, scene.render.fps_base = 30, 1.0
    scene.frame_start, scene.frame_end = 1, 2000
    settings = scene.vstream
    settings.mesh = face
    settings.port = ARGS.port
    settings.recording.start_playback = True
    scene.frame_set(50)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    CHECK(press(bpy.ops.vstream.start) == {'FINISHED'}, "Start runs the session on its timer")
    session = ops.state.session
    CHECK(press(bpy.ops.vstream.record) == {'FINISHED'} and session.recording, "Record on")
    screen = win.screen
    CHECK(screen.is_animation_playing, "Record starts playback")
    yield from send_for(sock, protocol, 1.5, 100.0, jaw=lambda i: i / 45.0)
    yield from wait(lambda: len(session.recorder) >= 45, 5, "45 recorded frames")
    INFO["frame_at_stop"] = scene.frame_current
    CHECK(scene.frame_current > 60, "the timeline played while recording", scene.frame_current)
    CHECK(press(bpy.ops.vstream.record) == {'FINISHED'} and not session.recording, "Record off")
    CHECK(not screen.is_animation_playing, "stopping the recording stops playback")
    take1 = bpy.data.actions.get("vstream_take_001_face")
    CHECK(take1 is not None, "take 001 baked")
    jaw = next(c for c in common.action_fcurves(take1) if c.data_path == 'key_blocks["jawOpen"].value')
    first = jaw.keyframe_points[0].co[0]
    CHECK(first == 50.0, "the take starts at the frame where Record was pressed", first)
    INFO["take1_keys"] = len(jaw.keyframe_points)

    # Esc while recording bakes the take as its own undo step.
    settings.recording.start_playback = False
    bpy.ops.ed.undo_push(message="before the Esc take")
    scene.frame_set(300)
    CHECK(press(bpy.ops.vstream.record) == {'FINISHED'}, "Record on again")
    yield from send_for(sock, protocol, 0.7, 200.0)
    yield from wait(lambda: len(session.recorder) >= 20, 5, "20 recorded frames")
    win.event_simulate(type='ESC', value='PRESS')
    win.event_simulate(type='ESC', value='RELEASE')
    yield from wait(lambda: ops.state.session is None, 5, "Esc to stop the session")
    CHECK("vstream_take_002_face" in bpy.data.actions, "Esc bakes the take being recorded")
    yield 0.3
    CHECK(press(bpy.ops.ed.undo) == {'FINISHED'}, "ed.undo")
    yield 0.3
    CHECK("vstream_take_002_face" not in bpy.data.actions, "undo removes the take Esc baked",
          [a.name for a in bpy.data.actions])
    CHECK("vstream_take_001_face" in bpy.data.actions and "Face" in bpy.data.objects,
          "undo keeps what was there before that take")
    sock.close()


common.drive_gui(run(), CHECK, TIMEOUT, cleanup=(lambda: common.stop_addon(STATE["module"]),),
                 report=lambda: INFO)
