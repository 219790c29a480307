"""GUI Blender (3.4) under Xvfb: the VStream panel draws its LAN warning, its
status box while listening on all interfaces, and the Import Take button; then
with Source VMC, fed by python-osc's client while the session's own
timer ticks, its status names the source.

    xvfb-run -a blender --factory-startup --enable-event-simulate --python gui_panel_lan.py -- \
        --zip LEGACY.zip --port P --out DIR

The panel's draw is wrapped (the add-on's own class, not bpy) to record each
call and whether it returned; the sidebar is opened on the VStream tab by a
simulated click. Prints `RESULT {json}`; exits 0 only if every check passed.
"""

import os
import sys

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TIMEOUT = 90.0


def parse_args():
    return common.gui_arg_parser().parse_args(common.script_args())


ARGS = parse_args()
CHECK = common.Checks()
STATE = {"module": None}
DRAWS = []  # (listen_all, session running, returned normally)


def run():
    common.press_esc()  # close the splash screen
    yield 0.5
    STATE["module"] = common.install("legacy", ARGS.zip)
    ops = sys.modules["vstream_addon.blender.operators"]
    panel = bpy.types.VIEW3D_PT_vstream
    original = panel.draw

    def draw(self, context):
        entry = [context.scene.vstream.listen_all, ops.state.session is not None, False]
        DRAWS.append(entry)
        original(self, context)
        entry[2] = True

    panel.draw = draw
    settings = bpy.context.scene.vstream
    settings.port = ARGS.port
    common.show_vstream_tab()
    yield from common.sleep(1.0)
    common.redraw()
    yield from common.sleep(0.5)
    CHECK(any(not lan and not running and ok for lan, running, ok in DRAWS), "panel drawn (idle)", DRAWS[-3:])

    settings.listen_all = True
    common.redraw()
    yield from common.sleep(0.5)
    CHECK(any(lan and not running and ok for lan, running, ok in DRAWS), "panel drawn with the LAN warning")
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'}, "Start (LAN) runs the session on its timer")
    CHECK(ops.state.session.receiver.address() == ("0.0.0.0", ARGS.port), "listening on all interfaces")
    common.redraw()
    yield from common.sleep(1.0)
    CHECK(any(lan and running and ok for lan, running, ok in DRAWS), "panel drawn while listening on the LAN")
    common.screenshot(os.path.join(ARGS.out, "panel_lan.png"))
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'}, "Stop")

    # Another source, with the real event loop: the session's timer drains VMC.
    settings.listen_all = False
    settings.source = "VMC"
    CHECK(settings.port == ARGS.port, "the typed port stays when the source changes", settings.port)
    CHECK(common.press(bpy.ops.vstream.start) == {'FINISHED'}, "Start (VMC) runs the session on its timer")
    session = ops.state.session
    from pythonosc.udp_client import SimpleUDPClient  # the legacy zip's wheel, on sys.path since Start
    client = SimpleUDPClient("127.0.0.1", ARGS.port)
    for _ in range(30):
        client.send_message("/VMC/Ext/Blend/Val", ["JawOpen", 0.5])
        client.send_message("/VMC/Ext/Blend/Apply", [])
        yield 0.03
    yield from common.wait(lambda: session.receiver.accepted_total == 60, 5, "the timer drains 60 OSC messages")
    CHECK(session.source.key == "VMC" and session.receiver.latest is not None, "VMC frames arrive in GUI Blender")
    common.redraw()
    yield from common.sleep(1.0)
    CHECK(any(running and ok for lan, running, ok in DRAWS[-3:]), "panel drawn while receiving VMC")
    common.screenshot(os.path.join(ARGS.out, "panel_vmc.png"))
    CHECK(common.press(bpy.ops.vstream.stop) == {'FINISHED'}, "Stop (VMC)")
    CHECK(all(ok for _, _, ok in DRAWS[:-1]), "every draw returned", DRAWS)
    panel.draw = original


common.drive_gui(run(), CHECK, TIMEOUT, cleanup=(lambda: common.stop_addon(STATE["module"]),),
                 report=lambda: {"draws": len(DRAWS)})
