"""GUI Blender under Xvfb: the live session against everything that can end the add-on
while it runs (remove, disable, Reload Scripts, a file load, quit), each followed by a
fresh Start that must receive frames again.

    xvfb-run -a blender --factory-startup --enable-event-simulate --python gui_session_lifetime.py -- \
        --kind extension|legacy --zip ZIP --port P --out DIR

--kind extension (Blender 4.2+, e.g. Debian's 4.3.2): the extension is removed with
Blender's own operator while a take is being recorded, then installed again.
--kind legacy (Blender 3.4): the add-on is disabled while recording, then enabled again.
Both then: Esc stops; Reload Scripts while running; disable while running (extension);
a file load while running; Start in a second window, then that window closed; and
last, quit while running (the test checks Blender exits
cleanly). A sender thread inside this Blender streams synthetic frames (jawOpen moving)
to the port all along, so every fresh Start has frames to show.

Driven by common.drive_gui: Blender's own event loop runs in between. Prints `RESULT {json}`.
"""

import math
import os
import socket
import sys
import threading
import time

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TIMEOUT = 200.0
KEYS = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "browInnerUp")


def parse_args():
    p = common.gui_arg_parser()
    p.add_argument("--kind", choices=("extension", "legacy"), required=True)
    return p.parse_args(common.script_args())


ARGS = parse_args()
CHECK = common.Checks()
INFO = {"cycles": []}
STATE = {"module": None, "sender": None}


class Sender:
    """Synthetic frames at 30 Hz to the port until stopped: jawOpen swings 0..1 each second.

    Uses the protocol module of the first install (plain standard library), kept alive here
    after the add-on's own modules are removed."""

    def __init__(self, protocol, port):
        self.protocol, self.port = protocol, port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        seq, start = 0, time.monotonic()
        while not self.stopping.wait(1 / 30):
            seq += 1
            t = time.monotonic() - start
            weights = {"jawOpen": 0.5 + 0.5 * math.sin(2 * math.pi * t), "browInnerUp": 0.3}
            frame = self.protocol.Frame(seq=seq, t=t, face=True, quat=self.protocol.IDENTITY_QUAT,
                                        weights=self.protocol.weights_from_dict(weights))
            try:
                self.sock.sendto(self.protocol.encode(frame), ("127.0.0.1", self.port))
            except OSError:
                pass  # nobody listening (between sessions) is the normal case here

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


def ops():
    return sys.modules[STATE["module"] + ".blender.operators"]


def setup_scene():
    """A face with a few ARKit keys driven by the panel's port (again after a file load)."""
    face = common.build_face_mesh(KEYS, name="Face")
    settings = bpy.context.scene.vstream
    settings.mesh, settings.port = face, ARGS.port
    return face


def live_cycle(label, window=None):
    """Generator: Start from the panel (of the first window, or of `window`'s 3D View), wait for
    frames and for jawOpen to move; leaves the session running."""
    operators = ops()
    CHECK(start_in(window) == {'FINISHED'} and operators.state.session,
          "%s: Start opens a session" % label, operators.state.error)
    session = operators.state.session
    CHECK(operators.ticking(), "%s: the session ticks on its timer" % label)
    yield from common.wait(lambda: session.receiver.accepted_total > 0, 20, "%s: first frame" % label)
    key = bpy.data.objects["Face"].data.shape_keys.key_blocks["jawOpen"]
    seen = set()
    deadline = time.monotonic() + 10  # software GL draws slowly: few samples a second on a busy machine
    while len(seen) < 4 and time.monotonic() < deadline:
        seen.add(round(key.value, 2))
        yield 0.05
    CHECK(len(seen) >= 4, "%s: jawOpen moves with the frames (ticks run)" % label, sorted(seen))
    INFO["cycles"].append({"label": label, "frames": session.receiver.accepted_total, "jaw_values": len(seen)})
    return operators


def esc_over(region_type):
    """Esc with the mouse over the first 3D View's region of `region_type` ('WINDOW', 'UI')."""
    win, area, _ = common.view3d()
    region = next(r for r in area.regions if r.type == region_type)
    win.event_simulate(type='MOUSEMOVE', value='NOTHING', x=region.x + region.width // 2,
                       y=region.y + region.height // 2)
    common.press_esc()


def start_in(window):
    if window is None:
        return common.press(bpy.ops.vstream.start)
    area = next(a for a in window.screen.areas if a.type == 'VIEW_3D')
    region = next(r for r in area.regions if r.type == 'WINDOW')
    with bpy.context.temp_override(window=window, area=area, region=region):
        return bpy.ops.vstream.start()


def ended_cleanly(label, operators):
    """After the add-on went away while live: port free, no session, the old timer gone."""
    CHECK(operators.state.session is None and common.port_is_free(ARGS.port),
          "%s: the session ended and the port is free" % label)
    CHECK(not operators.ticking(), "%s: no timer left ticking" % label)


def remove_addon():
    module = STATE["module"]
    if ARGS.kind == "extension":
        ext_dir = os.path.dirname(sys.modules[module].__file__)
        result = bpy.ops.extensions.package_uninstall(repo_directory=os.path.dirname(ext_dir), pkg_id="vstream")
        CHECK(result == {'FINISHED'} and module not in bpy.context.preferences.addons
              and not os.path.exists(ext_dir), "removed with Blender's operator while recording", result)
    else:
        bpy.ops.preferences.addon_disable(module=module)
        CHECK(module not in bpy.context.preferences.addons, "disabled while recording")


def reinstall():
    if ARGS.kind == "extension":
        STATE["module"] = common.install("extension", ARGS.zip)
    else:
        CHECK(bpy.ops.preferences.addon_enable(module=STATE["module"]) == {'FINISHED'}, "enabled again")


def run():
    common.press_esc()  # close the splash screen
    yield 0.5
    module = STATE["module"] = common.install(ARGS.kind, ARGS.zip)
    CHECK(os.path.realpath(sys.modules[module].__file__).startswith(os.path.realpath(common.home_dir())),
          "add-on imported from the installed zip", sys.modules[module].__file__)
    STATE["sender"] = Sender(sys.modules[module + ".shared.protocol"], ARGS.port)
    setup_scene()
    common.view3d()[1].spaces.active.show_region_ui = True
    yield 0.5
    common.show_vstream_tab()

    # Esc stops the session, as before: over the sidebar (where the panel is), and over the
    # viewport while Record's own playback runs (the take is baked and playback stops).
    operators = yield from live_cycle("first Start")
    # Esc in another window (Import Take's file browser) closes that, not the session.
    main, area, region = common.view3d()
    with bpy.context.temp_override(window=main, area=area, region=region):
        bpy.ops.vstream.import_take('INVOKE_DEFAULT')
    yield from common.wait(lambda: len(bpy.context.window_manager.windows) == 2, 5, "the file browser's window")
    browser = next(w for w in bpy.context.window_manager.windows if w != main)
    browser.event_simulate(type='ESC', value='PRESS')
    browser.event_simulate(type='ESC', value='RELEASE')
    yield from common.wait(lambda: len(bpy.context.window_manager.windows) == 1, 5, "Esc to close the file browser")
    CHECK(operators.state.session is not None and operators.ticking(),
          "Esc in a file browser's window closes it and the session runs on")
    esc_over('UI')
    yield from common.wait(lambda: operators.state.session is None, 5, "Esc over the sidebar to stop the session")
    CHECK(common.port_is_free(ARGS.port), "Esc over the sidebar stops the session and frees the port")
    bpy.context.scene.vstream.recording.start_playback = True
    operators = yield from live_cycle("Start for Esc while playing")
    CHECK(common.press(bpy.ops.vstream.record) == {'FINISHED'} and bpy.context.screen.is_animation_playing,
          "Record with playback plays the timeline")
    yield from common.sleep(1.0)
    esc_over('WINDOW')
    yield from common.wait(lambda: operators.state.session is None, 5, "Esc over the viewport to stop the session")
    CHECK(common.port_is_free(ARGS.port) and "vstream_take_001_face" in bpy.data.actions
          and not bpy.context.screen.is_animation_playing,
          "Esc over the viewport while Record plays bakes the take and stops playback",
          [a.name for a in bpy.data.actions])
    bpy.context.scene.vstream.recording.start_playback = False

    # Removed (or disabled) while recording: nothing left behind, and it all works again.
    operators = yield from live_cycle("before removal")
    CHECK(common.press(bpy.ops.vstream.record) == {'FINISHED'} and operators.state.session.recording,
          "Record on before removal")
    yield 0.5
    remove_addon()
    yield from common.sleep(1.0)  # events, redraws and timers run with the add-on gone
    ended_cleanly("removed while recording", operators)
    reinstall()
    setup_scene_again = bpy.context.scene.vstream.mesh is None
    if setup_scene_again:  # removing an extension drops scene.vstream's stored values with its class
        bpy.data.objects.remove(bpy.data.objects["Face"])
        setup_scene()
    operators = yield from live_cycle("after reinstall")
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'} and common.port_is_free(ARGS.port),
          "Stop after reinstall frees the port")

    # Reload Scripts while running: the add-on is unregistered and registered again.
    operators = yield from live_cycle("before Reload Scripts")
    bpy.ops.script.reload()  # Blender runs the reload from a timer of its own, soon after
    yield from common.wait(lambda: operators.state.session is None, 30, "Reload Scripts to run")
    ended_cleanly("Reload Scripts while running", operators)
    operators = yield from live_cycle("after Reload Scripts")
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'}, "Stop after Reload Scripts")

    # Disabled while running, then enabled.
    operators = yield from live_cycle("before disable")
    bpy.ops.preferences.addon_disable(module=STATE["module"])
    yield from common.sleep(1.0)
    ended_cleanly("disabled while running", operators)
    CHECK(bpy.ops.preferences.addon_enable(module=STATE["module"]) == {'FINISHED'}, "enabled after disable")
    operators = yield from live_cycle("after enable")

    # A file load while running closes the session; Start works in the new file.
    bpy.ops.wm.read_homefile(app_template="")
    yield from common.sleep(1.0)
    ended_cleanly("file load while running", operators)
    setup_scene()
    operators = yield from live_cycle("after file load")
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'}, "Stop after file load")

    # Started in a second window: it ticks there, and ends when that window closes.
    main, area, region = common.view3d()
    with bpy.context.temp_override(window=main, area=area, region=region):
        bpy.ops.wm.window_new()
    yield 0.5
    second = next(w for w in bpy.context.window_manager.windows if w != main)
    operators = yield from live_cycle("second window", window=second)
    CHECK(operators.state.window == second.as_pointer(), "the session ticks in the window Start was pressed in")
    with bpy.context.temp_override(window=second):
        bpy.ops.wm.window_close()
    yield from common.sleep(1.0)
    ended_cleanly("its window closed", operators)
    operators = yield from live_cycle("after the window closed")

    # Last: quit while running (drive_gui quits; the test checks the exit).
    INFO["quit_with_session"] = operators.state.session is not None
    STATE["sender"].stop()


def cleanup():
    module = STATE["module"]
    if module and module + ".blender.operators" in sys.modules:
        sys.modules[module + ".blender.operators"].stop_session(None, bake=False)
    common.disable(module)
    if STATE["sender"] is not None:
        STATE["sender"].stop()


common.drive_gui(run(), CHECK, TIMEOUT, cleanup=(cleanup,), report=lambda: {"info": INFO}, quit=True)
