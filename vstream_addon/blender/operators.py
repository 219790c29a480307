"""Start/Stop, Record and Calibrate operators, and the per-tick work.

There is at most one live session per Blender process (one UDP port). It is
kept here at module level, not on the operator, so Stop, Record, the panel,
the file-load handler and unregister all reach the same one.

`tick(context)` is everything a timer tick does. The modal operator calls it
on its timer; where no event loop runs (Blender as a Python module, or
`blender -b`: bpy.app.background) the session still starts and whoever
drives Blender calls `tick` directly.
"""

import bpy
from bpy.app.handlers import persistent
from bpy_extras.io_utils import ImportHelper

from . import live_apply as live, recording_settings, take_import, tracker_launch
from ..core.receiver import ALL_INTERFACES, LOCALHOST, ReceiverError
from ..core.recorder import BakeError, next_take_name
from ..shared.take import TakeError
from ..core.session import LiveSession

TICK_INTERVAL = 1.0 / 60.0


class _State:
    session = None
    error = ""          # last problem, shown in the panel until the next success
    last_take = ""      # summary of the last bake, shown in the panel
    last_status = None  # what the panel showed last, to redraw only on change
    timer = None        # (window_manager, timer) of the running modal operator
    app_timer = False   # bpy.app.timers fallback is registered
    record_frame = None     # scene frame when Record was pressed: where the take starts
    started_playback = False  # Record started timeline playback, so stopping it stops playback


state = _State()


def current_session():
    return state.session


# Takes are baked onto the same meshes live apply drives.
target_meshes = live.target_meshes


# -- session lifetime --------------------------------------------------------

def listen_host(settings):
    """Loopback unless the user asked for the LAN: any host that can reach an
    open port could otherwise drive (and record into) the scene."""
    return ALL_INTERFACES if getattr(settings, "listen_all", False) else LOCALHOST


def start_session(port, host=LOCALHOST):
    """Open a session on host:port; raise ReceiverError (message for the user)."""
    if state.session is not None:
        if state.session.port == port and state.session.receiver.host == host:
            return state.session
        stop_session(None, bake=False)
    session = LiveSession(port, host=host)
    try:
        session.open()
    except ReceiverError as e:
        state.error = str(e)
        raise
    state.session = session
    state.error = ""
    state.last_status = None
    return session


def stop_session(context, bake=True):
    """Close the socket and end the session. A take being recorded is baked if `bake`."""
    session, state.session = state.session, None
    _remove_timers()
    tracker_launch.stop()  # a tracker Start launched ends with the session
    if session is None:
        return None
    report = None
    try:
        if session.recording and bake and context is not None:
            report = _bake(context, session)
    finally:
        session.close()
        _stop_playback(context)
        state.record_frame = None
    state.last_status = None
    _tag_redraw(context)
    return report


def _remove_timers():
    if state.timer is not None:
        wm, timer = state.timer
        state.timer = None
        try:
            wm.event_timer_remove(timer)
        except (ReferenceError, RuntimeError, ValueError):
            pass  # the window manager went away with a loaded file
    if state.app_timer:
        state.app_timer = False
        if bpy.app.timers.is_registered(_app_timer_tick):
            bpy.app.timers.unregister(_app_timer_tick)


# -- per tick ----------------------------------------------------------------

def tick(context):
    """Drain every pending datagram, apply the newest face frame, redraw if needed.

    Returns True when something the user sees changed (pose or status).
    """
    session = state.session
    if session is None:
        return False
    frames = session.poll()
    settings = context.scene.vstream
    changed = False
    if frames:
        # Every face mesh, neck/head, the add-on's neutral and smoothing: live.py.
        changed = live.driver.drive(session, settings, frames)
    status = session.status()
    if status != state.last_status:
        state.last_status = status
        changed = True
    tracker_changed, tracker_error = tracker_launch.check()  # an early exit shows why
    if tracker_error:
        state.error = tracker_error
    changed = changed or tracker_changed
    if changed:
        _tag_redraw(context)
    return changed


def _tag_redraw(context):
    try:
        wm = context.window_manager if context is not None else bpy.context.window_manager
    except AttributeError:
        return  # restricted context (e.g. while Blender shuts down)
    if wm is None:
        return
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == 'VIEW_3D':
                area.tag_redraw()


def _app_timer_tick():
    # Used only when Start ran without a window (e.g. from a script in GUI
    # Blender): same work as the modal operator, minus Esc.
    if state.session is None or not state.app_timer:
        state.app_timer = False
        return None
    tick(bpy.context)
    return TICK_INTERVAL


# -- recording ---------------------------------------------------------------

def start_recording(context):
    """Record on: remember the current frame (the take starts there) and maybe start playback.

    The live options (neutral, neutral pose, neck share, Move Head, smoothing)
    and the smoothing filters' state are kept as they are now: the bake puts
    every recorded frame through them, so the take continues exactly the
    poses live apply shows from here on.
    """
    scene = context.scene
    state.session.start_recording()
    recorder = state.session.recorder
    recorder.transform, recorder.filters = live.driver.snapshot(state.session, scene.vstream.live)
    state.record_frame = scene.frame_current
    state.started_playback = False
    if scene.vstream.recording.start_playback:
        screen = getattr(context, "screen", None)
        if screen is not None and not screen.is_animation_playing:
            try:
                bpy.ops.screen.animation_play()
                state.started_playback = True
            except RuntimeError as e:
                print("vstream: could not start playback: %s" % e)
    state.last_status = None


def _stop_playback(context):
    # Only playback that Record started: the user's own keeps running.
    if not state.started_playback:
        return
    state.started_playback = False
    screen = getattr(context, "screen", None) if context is not None else None
    if screen is not None and screen.is_animation_playing:
        try:
            bpy.ops.screen.animation_cancel(restore_frame=False)
        except RuntimeError as e:
            print("vstream: could not stop playback: %s" % e)


def _bake(context, session):
    recorder = session.stop_recording()
    _stop_playback(context)
    settings = context.scene.vstream
    frame_start, state.record_frame = state.record_frame, None
    if frame_start is None:
        frame_start = context.scene.frame_current
    take = next_take_name([a.name for a in bpy.data.actions])
    try:
        report = recorder.bake(context.scene, target_meshes(settings), settings.armature, settings.head_bone,
                               take, frame_start=frame_start,
                               **recording_settings.bake_options(settings.recording))
    except BakeError as e:
        state.error = str(e)
        state.last_take = ""
        raise
    # The take keeps the options of Record start; say so if live moved on.
    kept = recorder.transform
    report["settings_changed"] = kept is not None and kept.key() != live.driver.transform(settings.live).key()
    state.error = ""
    state.last_take = describe_bake(report)
    return report


def describe_bake(report):
    text = "%s: %d keys, frames %d-%d" % (
        report["take"], report["keyed"], report["frame_start"], report["frame_end"])
    if report["merged"]:
        text += ", %d merged" % report["merged"]
    if report["no_face"]:
        text += ", %d without face" % report["no_face"]
    if report.get("keys_removed"):
        text += ", %d of %d keys reduced away" % (
            report["keys_removed"], report["keys_removed"] + report["keys_written"])
    if report.get("nla_tracks"):
        text += ", pushed to NLA"
    if report.get("reduce_skipped"):
        text += " (%s: keys not reduced)" % report["reduce_skipped"]
    if report["not_assigned"]:
        text += " (kept existing action on %s)" % ", ".join(report["not_assigned"])
    if report.get("settings_changed"):
        text += " (head, neutral or smoothing settings changed while recording: the take uses those " \
                "in effect when Record was pressed)"
    return text


# -- operators -----------------------------------------------------------------

class _WhileRunning:
    """Mixin: an operator that needs a running session."""
    @classmethod
    def poll(cls, context):
        return state.session is not None


class VSTREAM_OT_start(bpy.types.Operator):
    """Listen for the tracker on the chosen UDP port and drive the avatar live (Esc stops)"""
    bl_idname = "vstream.start"
    bl_label = "Start"

    _timer = None
    _session = None

    @classmethod
    def poll(cls, context):
        return state.session is None and getattr(context.scene, "vstream", None) is not None

    def execute(self, context):
        try:
            settings = context.scene.vstream
            session = start_session(settings.port, listen_host(settings))
            tracker_launch.launch_if_enabled(context, session.port)
        except ReceiverError as e:
            self.report({'ERROR'}, str(e))
            _tag_redraw(context)
            return {'CANCELLED'}
        except tracker_launch.LaunchError as e:
            stop_session(None, bake=False)  # the port opened for it: nothing half-started
            state.error = str(e)
            self.report({'ERROR'}, state.error)
            _tag_redraw(context)
            return {'CANCELLED'}
        _tag_redraw(context)
        if bpy.app.background:
            # Blender as a Python module or `blender -b`: no event loop will
            # ever deliver a timer event (the module even has a window), so
            # leave the session open for the caller to tick().
            return {'FINISHED'}
        if context.window is None:
            # Started from a script without a window in its context.
            state.app_timer = True
            bpy.app.timers.register(_app_timer_tick, first_interval=TICK_INTERVAL)
            return {'FINISHED'}
        wm = context.window_manager
        self._session = session
        self._timer = wm.event_timer_add(TICK_INTERVAL, window=context.window)
        state.timer = (wm, self._timer)
        wm.modal_handler_add(self)
        return {'RUNNING_MODAL'}

    def modal(self, context, event):
        if state.session is not self._session:
            # Stopped elsewhere (Stop button, file load, unregister).
            return {'FINISHED'}
        if event.type == 'ESC' and event.value == 'PRESS':
            try:
                report = stop_session(context)
            except BakeError as e:
                self.report({'WARNING'}, str(e))
                return {'CANCELLED'}
            if report is not None:
                # A modal operator makes no undo step of its own: give the
                # take one, so Ctrl+Z removes it and nothing done before it.
                bpy.ops.ed.undo_push(message="VStream take")
                self.report({'INFO'}, describe_bake(report))
            return {'CANCELLED'}
        if event.type == 'TIMER':
            tick(context)
        return {'PASS_THROUGH'}

    def cancel(self, context):
        # Blender cancels modal operators when their window closes or a file loads.
        if state.session is self._session:
            stop_session(None, bake=False)


class VSTREAM_OT_stop(_WhileRunning, bpy.types.Operator):
    """Stop receiving and close the UDP port (bakes the take if Record is on)"""
    bl_idname = "vstream.stop"
    bl_label = "Stop"
    bl_options = {'REGISTER', 'UNDO'}  # may bake a take: make that one undo step

    def execute(self, context):
        try:
            report = stop_session(context)
        except BakeError as e:
            self.report({'WARNING'}, str(e))
            return {'FINISHED'}
        if report is not None:
            self.report({'INFO'}, describe_bake(report))
        return {'FINISHED'}


class VSTREAM_OT_record(_WhileRunning, bpy.types.Operator):
    """Record every received frame; turn off to bake the take into Actions"""
    bl_idname = "vstream.record"
    bl_label = "Record"
    bl_options = {'REGISTER', 'UNDO'}  # turning it off bakes: make that one undo step

    def execute(self, context):
        session = state.session
        if not session.recording:
            start_recording(context)
            _tag_redraw(context)
            return {'FINISHED'}
        try:
            report = _bake(context, session)
        except BakeError as e:
            self.report({'ERROR'}, str(e))
            _tag_redraw(context)
            return {'CANCELLED'}
        _tag_redraw(context)
        self.report({'INFO'}, describe_bake(report))
        return {'FINISHED'}


class VSTREAM_OT_calibrate(bpy.types.Operator):
    """Take the current face as neutral: the tracker recalibrates, or Blender captures it for senders that do not"""
    bl_idname = "vstream.calibrate"
    bl_label = "Calibrate Neutral"

    @classmethod
    def poll(cls, context):
        return state.session is not None and state.session.receiver.last_sender is not None

    def execute(self, context):
        # Sends the control datagram; captures the neutral here when the
        # sender does not calibrate itself (live.calibrate).
        level, message = live.calibrate(state.session, context.scene.vstream)
        self.report({level}, message)
        return {'FINISHED'} if level == 'INFO' else {'CANCELLED'}


class VSTREAM_OT_import_take(bpy.types.Operator, ImportHelper):
    """Bake a take file written by vstream-tracker --out onto the face mesh and head bone"""
    bl_idname = "vstream.import_take"
    bl_label = "Import Take"
    bl_options = {'REGISTER', 'UNDO'}

    filename_ext = ".jsonl"
    filter_glob: bpy.props.StringProperty(default="*.jsonl", options={'HIDDEN'})

    @classmethod
    def poll(cls, context):
        return getattr(context.scene, "vstream", None) is not None

    def execute(self, context):
        settings = context.scene.vstream
        wm = context.window_manager
        steps = 1000
        # Blender ignores progress calls where there is no status bar (background).
        show = wm is not None
        if show:
            wm.progress_begin(0, steps)
        try:
            report = take_import.import_take(
                context.scene, target_meshes(settings), settings.armature, settings.head_bone,
                bpy.path.abspath(self.filepath), [a.name for a in bpy.data.actions],
                progress=(lambda f: wm.progress_update(int(f * steps))) if show else None,
                frame_start=context.scene.frame_current,
                # As if the file were streamed now: today's neutral, head and smoothing options.
                transform=live.driver.transform(settings.live),
                **recording_settings.bake_options(settings.recording))
        except (TakeError, BakeError, OSError, UnicodeDecodeError) as e:
            state.error = "Import take: %s" % e
            _tag_redraw(context)
            self.report({'ERROR'}, state.error)
            return {'CANCELLED'}
        finally:
            if show:
                wm.progress_end()
        for name in report["actions"]:
            bpy.data.actions[name][take_import.PROP_SOURCE] = report["source"]
        state.error = ""
        state.last_take = describe_bake(report) + " (imported)"
        _tag_redraw(context)
        self.report({'INFO'}, state.last_take)
        return {'FINISHED'}


CLASSES = (VSTREAM_OT_start, VSTREAM_OT_stop, VSTREAM_OT_record, VSTREAM_OT_calibrate,
           VSTREAM_OT_import_take)


@persistent
def on_load_pre(*_args):
    # The scene the session drives is about to go away: close the port so the
    # next file (or another Blender) can use it. A take in progress cannot be
    # baked into a file that is being unloaded.
    if state.session is not None:
        if state.session.recording and len(state.session.recorder):
            print("vstream: file loading, discarding %d recorded frames" % len(state.session.recorder))
        stop_session(None, bake=False)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    if on_load_pre not in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.append(on_load_pre)


def unregister():
    stop_session(None, bake=False)
    # Match by name too: a reloaded module has a new function object.
    for handler in list(bpy.app.handlers.load_pre):
        if handler is on_load_pre or (getattr(handler, "__name__", "") == "on_load_pre"
                                      and getattr(handler, "__module__", "") == __name__):
            bpy.app.handlers.load_pre.remove(handler)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
