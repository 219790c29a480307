"""GUI Blender (3.4) under Xvfb: the VStream panel draws its LAN warning, its
status box while listening on all interfaces, and the Import Take button.

    xvfb-run -a blender --factory-startup --enable-event-simulate --python gui_panel_lan.py -- \
        --zip LEGACY.zip --port P --out DIR

The panel's draw is wrapped (the add-on's own class, not bpy) to record each
call and whether it returned; the sidebar is opened on the VStream tab by a
simulated click. Prints `RESULT {json}`; exits 0 only if every check passed.
"""

import argparse
import json
import os
import sys
import time
import traceback

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TIMEOUT = 90.0


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--zip", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    return p.parse_args(common.script_args())


ARGS = parse_args()
CHECK = common.Checks()
STATE = {"module": None}
DRAWS = []  # (listen_all, session running, returned normally)


def view3d():
    win = bpy.context.window_manager.windows[0]
    area = next(a for a in win.screen.areas if a.type == 'VIEW_3D')
    region = next(r for r in area.regions if r.type == 'WINDOW')
    return win, area, region


def show_vstream_tab():
    # Same click as gui_live_tracker.py: 3.4 has no API to pick a sidebar tab.
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


def run():
    win = bpy.context.window_manager.windows[0]
    win.event_simulate(type='ESC', value='PRESS')
    win.event_simulate(type='ESC', value='RELEASE')
    yield 0.5
    STATE["module"] = common.install("legacy", ARGS.zip)
    ops = sys.modules["vstream_addon.operators"]
    panel = bpy.types.VIEW3D_PT_vstream
    original = panel.draw

    def draw(self, context):
        entry = [context.scene.vstream.listen_all, ops.current_session() is not None, False]
        DRAWS.append(entry)
        original(self, context)
        entry[2] = True

    panel.draw = draw
    settings = bpy.context.scene.vstream
    settings.port = ARGS.port
    show_vstream_tab()
    yield from sleep(1.0)
    redraw()
    yield from sleep(0.5)
    CHECK(any(not lan and not running and ok for lan, running, ok in DRAWS), "panel drawn (idle)", DRAWS[-3:])

    settings.listen_all = True
    redraw()
    yield from sleep(0.5)
    CHECK(any(lan and not running and ok for lan, running, ok in DRAWS), "panel drawn with the LAN warning")
    CHECK(press(bpy.ops.vstream.start) == {'RUNNING_MODAL'}, "Start (LAN) runs as a modal operator")
    CHECK(ops.current_session().receiver.address() == ("0.0.0.0", ARGS.port), "listening on all interfaces")
    redraw()
    yield from sleep(1.0)
    CHECK(any(lan and running and ok for lan, running, ok in DRAWS), "panel drawn while listening on the LAN")
    win, area, _ = view3d()
    with bpy.context.temp_override(window=win, area=area):
        bpy.ops.screen.screenshot(filepath=os.path.join(ARGS.out, "panel_lan.png"))
    CHECK(press(bpy.ops.vstream.stop) == {'FINISHED'}, "Stop")
    CHECK(all(ok for _, _, ok in DRAWS[:-1]), "every draw returned", DRAWS)
    panel.draw = original


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
    result = {"passed": CHECK.passed, "blender": bpy.app.version_string, "draws": len(DRAWS)}
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
