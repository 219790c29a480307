"""Every operator of the VStream panel, and the live session they start and stop.

The session (blender/state.py) is opened by Start and closed by Stop, Esc, a
file load or unregister; `tick(context)` is everything a timer tick does: drain
the receiver, hand the frames to live apply, redraw the panel when its status
changed, look at the launched tracker.

The ticks run on bpy.app.timers, not in a modal operator: a modal operator's
handler outlives its class when the add-on is removed while it runs (Blender
frees the operator but leaves the handler in the window until the next event),
and Blender 4.3 segfaults when the same operator adds a modal handler again
before that event (the extension reinstalled and Start pressed). A timer is
unregistered with the add-on, and Esc is a key map item bound to Stop, removed
in unregister before the classes go. Where no event loop runs (Blender as a
Python module, or `blender -b`: bpy.app.background) the session still starts
and whoever drives Blender calls `tick` directly.
"""

import traceback

import bpy
from bpy.app.handlers import persistent
from bpy_extras.io_utils import ExportHelper, ImportHelper

from . import bake, live_apply, mesh_mapping, props, state, tracker_launch
from ..core import mapping, sources
from ..core.receiver import ALL_INTERFACES, LOCALHOST, ReceiverError
from ..core.recorder import next_take_name
from ..core.session import LiveSession
from ..core.tracker_process import LaunchError
from ..shared.take import TakeError

TICK_INTERVAL = 1.0 / 60.0


# -- session lifetime --------------------------------------------------------

def listen_host(settings):
    """Loopback unless the user asked for the LAN: any host that can reach an
    open port could otherwise drive (and record into) the scene."""
    return ALL_INTERFACES if getattr(settings, "listen_all", False) else LOCALHOST


def start_session(port, host=LOCALHOST, source=sources.DEFAULT):
    """Open a session on host:port taking `source` (core.sources.Source); raise
    ReceiverError (message for the user)."""
    if state.session is not None:
        if (state.session.port, state.session.receiver.host, state.session.source) == (port, host, source):
            return state.session
        stop_session(None, bake=False)
    try:
        session = LiveSession(port, host=host, source=source)
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
            report = finish_recording(context, session)
    finally:
        session.close()
        _stop_playback(context)
        state.record_frame = None
    state.last_status = None
    state.redraw(context)
    return report


def _remove_timers():
    state.window = None
    if ticking():
        bpy.app.timers.unregister(_timer_tick)


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
        changed = live_apply.driver.drive(session, settings, frames)
    status = session.status()
    if status != state.last_status:
        state.last_status = status
        changed = True
    tracker_changed, tracker_error = tracker_launch.check()  # an early exit shows why
    if tracker_error:
        state.error = tracker_error
    changed = changed or tracker_changed
    if changed:
        state.redraw(context)
    return changed


def _start_window():
    """The window Start was pressed in, found again by its address (never kept as a Python
    object, which would dangle once the window closes); None when it closed."""
    for window in bpy.context.window_manager.windows:
        if window.as_pointer() == state.window:
            return window
    return None


def _timer_tick():
    if state.session is None:
        return None
    try:
        if state.window is None:
            # Started from a script without a window in its context.
            tick(bpy.context)
            return TICK_INTERVAL
        window = _start_window()
        if window is None:
            # Its window closed: the session ends with it, as it did when it ran in that window.
            stop_session(None, bake=False)
            return None
        # Tick as the panel's button would: that window's scene and screen.
        with bpy.context.temp_override(window=window):
            tick(bpy.context)
        return TICK_INTERVAL
    except Exception as e:
        # Blender drops a timer that raises: end the session with it rather than
        # leave the port open (and a launched tracker running) with nothing ticking.
        traceback.print_exc()
        state.error = "Live session ended: %s" % e
        stop_session(None, bake=False)
        return None


def ticking():
    """True while the session's timer is registered."""
    return bpy.app.timers.is_registered(_timer_tick)


def start_ticking(context):
    """Tick the open session from now on, in the scene of the window Start was pressed in."""
    window = getattr(context, "window", None)
    state.window = window.as_pointer() if window is not None else None
    if not ticking():
        bpy.app.timers.register(_timer_tick, first_interval=TICK_INTERVAL)


# Esc stops a running session: Stop bound to Esc, in the 3D View's key map that its
# main region and sidebar use before the area's (where Esc cancels playback), and in
# the Window key map for everywhere else. Stop's poll lets Esc pass when stopped, and
# its invoke in any window but the one Start was pressed in.
ESC_KEYMAPS = (("3D View Generic", 'VIEW_3D'), ("Window", 'EMPTY'))
_keymap_items = []


def register_keymaps():
    keyconfig = bpy.context.window_manager.keyconfigs.addon
    if keyconfig is None:
        return  # a Blender without key configurations
    for name, space_type in ESC_KEYMAPS:
        keymap = keyconfig.keymaps.new(name=name, space_type=space_type)
        _keymap_items.append((keymap, keymap.keymap_items.new(VSTREAM_OT_stop.bl_idname, 'ESC', 'PRESS')))


def unregister_keymaps():
    for keymap, item in _keymap_items:
        try:
            keymap.keymap_items.remove(item)
        except (ReferenceError, RuntimeError):
            pass  # the key configuration was already reset (Blender quitting)
    _keymap_items.clear()


@persistent
def on_load_pre(*_args):
    # The scene the session drives is about to go away: close the port so the
    # next file (or another Blender) can use it. A take in progress cannot be
    # baked into a file that is being unloaded.
    if state.session is not None:
        if state.session.recording and len(state.session.recorder):
            print("vstream: file loading, discarding %d recorded frames" % len(state.session.recorder))
        stop_session(None, bake=False)


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
    recorder.transform, recorder.filters = live_apply.driver.snapshot(state.session, scene.vstream.live)
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


def finish_recording(context, session):
    """Record off: bake the take from the frame Record was pressed on; return the bake report."""
    recorder = session.stop_recording()
    _stop_playback(context)
    settings = context.scene.vstream
    frame_start, state.record_frame = state.record_frame, None
    if frame_start is None:
        frame_start = context.scene.frame_current
    take = next_take_name([a.name for a in bpy.data.actions])
    try:
        report = bake.bake_take(recorder, context.scene, live_apply.target_meshes(settings), settings.armature,
                                settings.head_bone, take, frame_start=frame_start,
                                **bake.options(settings.recording))
    except bake.BakeError as e:
        state.error = str(e)
        state.last_take = ""
        raise
    # The take keeps the options of Record start; say so if live moved on.
    kept = recorder.transform
    report["settings_changed"] = kept is not None and kept.key() != live_apply.driver.transform(settings.live).key()
    state.error = ""
    state.last_take = bake.describe(report)
    return report


# -- the session's operators ---------------------------------------------------------

class _WhileRunning:
    """Mixin: an operator that needs a running session."""
    @classmethod
    def poll(cls, context):
        return state.session is not None


class VSTREAM_OT_start(bpy.types.Operator):
    """Listen for the chosen source on its UDP port and drive the avatar live (Esc stops)"""
    bl_idname = "vstream.start"
    bl_label = "Start"

    @classmethod
    def poll(cls, context):
        return state.session is None and getattr(context.scene, "vstream", None) is not None

    def execute(self, context):
        try:
            settings = context.scene.vstream
            source = sources.by_key(settings.source)
            session = start_session(settings.port, listen_host(settings), source)
            if tracker_launch.speaks_to(session):
                tracker_launch.launch_if_enabled(props.preferences(context), session.port)
        except ReceiverError as e:
            self.report({'ERROR'}, str(e))
            state.redraw(context)
            return {'CANCELLED'}
        except LaunchError as e:
            stop_session(None, bake=False)  # the port opened for it: nothing half-started
            state.error = str(e)
            self.report({'ERROR'}, state.error)
            state.redraw(context)
            return {'CANCELLED'}
        state.redraw(context)
        if not bpy.app.background:
            start_ticking(context)
        # else Blender as a Python module or `blender -b`: no event loop runs
        # timers (the module even has a window), so the caller ticks the session.
        return {'FINISHED'}


class VSTREAM_OT_stop(_WhileRunning, bpy.types.Operator):
    """Stop receiving and close the UDP port (bakes the take if Record is on)"""
    bl_idname = "vstream.stop"
    bl_label = "Stop"
    bl_options = {'REGISTER', 'UNDO'}  # may bake a take: make that one undo step

    def invoke(self, context, event):
        # Esc (ESC_KEYMAPS) stops only in the window Start was pressed in, as when the
        # session ran there as a modal operator: in another window (a file browser's, a
        # render's) Esc keeps its own meaning there. Add-on key map items come first.
        window = context.window
        if event.type == 'ESC' and window is not None and window.as_pointer() != state.window:
            return {'PASS_THROUGH'}
        return self.execute(context)

    def execute(self, context):
        try:
            report = stop_session(context)
        except bake.BakeError as e:
            self.report({'WARNING'}, str(e))
            return {'FINISHED'}
        if report is not None:
            self.report({'INFO'}, bake.describe(report))
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
            state.redraw(context)
            return {'FINISHED'}
        try:
            report = finish_recording(context, session)
        except bake.BakeError as e:
            self.report({'ERROR'}, str(e))
            state.redraw(context)
            return {'CANCELLED'}
        state.redraw(context)
        self.report({'INFO'}, bake.describe(report))
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
        # sender does not calibrate itself (live_apply.calibrate).
        level, message = live_apply.calibrate(state.session, context.scene.vstream)
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
            report = bake.import_take(
                context.scene, live_apply.target_meshes(settings), settings.armature, settings.head_bone,
                bpy.path.abspath(self.filepath), [a.name for a in bpy.data.actions],
                progress=(lambda f: wm.progress_update(int(f * steps))) if show else None,
                frame_start=context.scene.frame_current,
                # As if the file were streamed now: today's neutral, head and smoothing options.
                transform=live_apply.driver.transform(settings.live),
                **bake.options(settings.recording))
        except (TakeError, bake.BakeError, OSError, UnicodeDecodeError) as e:
            state.error = "Import take: %s" % e
            state.redraw(context)
            self.report({'ERROR'}, state.error)
            return {'CANCELLED'}
        finally:
            if show:
                wm.progress_end()
        for name in report["actions"]:
            bpy.data.actions[name][bake.PROP_SOURCE] = report["source"]
        state.error = ""
        state.last_take = bake.describe(report) + " (imported)"
        state.redraw(context)
        self.report({'INFO'}, state.last_take)
        return {'FINISHED'}


class VSTREAM_OT_launch_tracker(bpy.types.Operator):
    """Launch the tracker again with the current preferences, sending to the open port"""
    bl_idname = "vstream.launch_tracker"
    bl_label = "Launch Tracker"

    @classmethod
    def poll(cls, context):
        return (state.session is not None and tracker_launch.speaks_to(state.session)
                and tracker_launch.launched.process is None)

    def execute(self, context):
        try:
            tracker_launch.launch(props.preferences(context), state.session.port)
        except LaunchError as e:
            state.error = str(e)
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        state.error = ""
        return {'FINISHED'}


# -- face meshes and the neutral -------------------------------------------------------

class VSTREAM_OT_mesh_add(bpy.types.Operator):
    """Add a slot for another face mesh (the active mesh if it is not driven yet)"""
    bl_idname = "vstream.mesh_add"
    bl_label = "Add Face Mesh"
    bl_options = {'UNDO'}

    def execute(self, context):
        settings = context.scene.vstream
        slot = settings.meshes.add()
        obj = context.object
        if obj is not None and obj.type == 'MESH' and obj not in live_apply.target_meshes(settings):
            slot.object = obj
        settings.mesh_index = len(settings.meshes) - 1
        return {'FINISHED'}


class VSTREAM_OT_mesh_remove(bpy.types.Operator):
    """Stop driving the selected extra face mesh"""
    bl_idname = "vstream.mesh_remove"
    bl_label = "Remove Face Mesh"
    bl_options = {'UNDO'}

    @classmethod
    def poll(cls, context):
        settings = getattr(context.scene, "vstream", None)
        return settings is not None and 0 <= settings.mesh_index < len(settings.meshes)

    def execute(self, context):
        settings = context.scene.vstream
        settings.meshes.remove(settings.mesh_index)
        settings.mesh_index = min(settings.mesh_index, len(settings.meshes) - 1)
        return {'FINISHED'}


class VSTREAM_OT_set_neutral_pose(bpy.types.Operator):
    """Take the current incoming head rotation and position as the avatar's rest pose"""
    bl_idname = "vstream.set_neutral_pose"
    bl_label = "Set Neutral Pose"
    bl_options = {'UNDO'}

    @classmethod
    def poll(cls, context):
        return state.session is not None and live_apply.driver.session is state.session \
            and live_apply.driver.last_face is not None

    def execute(self, context):
        if not live_apply.driver.capture_head_neutral(context.scene.vstream.live):
            self.report({'WARNING'}, "No face received yet")
            return {'CANCELLED'}
        return {'FINISHED'}


class VSTREAM_OT_clear_neutral(bpy.types.Operator):
    """Forget the neutral face and head pose kept in Blender"""
    bl_idname = "vstream.clear_neutral"
    bl_label = "Clear Neutral"
    bl_options = {'UNDO'}

    @classmethod
    def poll(cls, context):
        settings = getattr(context.scene, "vstream", None)
        return settings is not None and live_apply.has_neutral(settings.live)

    def execute(self, context):
        live_apply.clear_neutral(context.scene.vstream.live)
        return {'FINISHED'}


# -- the mapping table -------------------------------------------------------------------

class _MappingOperator:
    @classmethod
    def poll(cls, context):
        return mesh_mapping.mapping_object(context) is not None


class VSTREAM_OT_mapping_edit(_MappingOperator, bpy.types.Operator):
    """Fill the mapping table from the stored entries and the shape keys found by name"""
    bl_idname = "vstream.mapping_edit"
    bl_label = "Edit Mapping"
    bl_options = {'UNDO'}

    def execute(self, context):
        obj = mesh_mapping.mapping_object(context)
        try:
            mesh_mapping.fill_rows(obj)
        except mapping.MappingError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        return {'FINISHED'}


class VSTREAM_OT_mapping_reset(_MappingOperator, bpy.types.Operator):
    """Forget every mapping edit of this mesh: back to automatic detection by name"""
    bl_idname = "vstream.mapping_reset"
    bl_label = "Reset Mapping"
    bl_options = {'UNDO'}

    def invoke(self, context, event):
        return context.window_manager.invoke_confirm(self, event)

    def execute(self, context):
        obj = mesh_mapping.mapping_object(context)
        mesh_mapping.store_entries(obj, [])
        mesh_mapping.fill_rows(obj)
        return {'FINISHED'}


class VSTREAM_OT_mapping_row_add(_MappingOperator, bpy.types.Operator):
    """Add a row for the selected row's channel, to drive one more shape key with it"""
    bl_idname = "vstream.mapping_row_add"
    bl_label = "Add Mapping Row"
    bl_options = {'UNDO'}

    def execute(self, context):
        mesh_mapping.add_row(mesh_mapping.mapping_object(context))
        return {'FINISHED'}


class VSTREAM_OT_mapping_row_remove(_MappingOperator, bpy.types.Operator):
    """Remove the selected row: its shape key goes back to automatic detection"""
    bl_idname = "vstream.mapping_row_remove"
    bl_label = "Remove Mapping Row"
    bl_options = {'UNDO'}

    @classmethod
    def poll(cls, context):
        obj = mesh_mapping.mapping_object(context)
        return obj is not None and 0 <= obj.vstream_row_index < len(obj.vstream_rows)

    def execute(self, context):
        obj = mesh_mapping.mapping_object(context)
        obj.vstream_rows.remove(obj.vstream_row_index)
        obj.vstream_row_index = min(obj.vstream_row_index, len(obj.vstream_rows) - 1)
        mesh_mapping.write_rows(obj)
        return {'FINISHED'}


class VSTREAM_OT_mapping_save(_MappingOperator, bpy.types.Operator, ExportHelper):
    """Save this mesh's whole mapping (every driven key) as a JSON preset file"""
    bl_idname = "vstream.mapping_save"
    bl_label = "Save Mapping Preset"

    filename_ext = ".json"
    filter_glob: bpy.props.StringProperty(default="*.json", options={'HIDDEN'})

    def execute(self, context):
        obj = mesh_mapping.mapping_object(context)
        path = bpy.path.abspath(self.filepath)
        try:
            entries = mesh_mapping.resolved_entries(obj)
            mapping.save_preset(path, entries)
        except (mapping.MappingError, OSError) as e:
            self.report({'ERROR'}, "Save mapping: %s" % e)
            return {'CANCELLED'}
        self.report({'INFO'}, "Saved %d mapping entries to %s" % (len(entries), path))
        return {'FINISHED'}


class VSTREAM_OT_mapping_load(_MappingOperator, bpy.types.Operator, ImportHelper):
    """Replace this mesh's mapping with a JSON preset file"""
    bl_idname = "vstream.mapping_load"
    bl_label = "Load Mapping Preset"
    bl_options = {'UNDO'}

    filename_ext = ".json"
    filter_glob: bpy.props.StringProperty(default="*.json", options={'HIDDEN'})

    def execute(self, context):
        obj = mesh_mapping.mapping_object(context)
        path = bpy.path.abspath(self.filepath)
        try:
            entries = mapping.load_preset(path)
        except mapping.MappingError as e:
            state.error = "Load mapping: %s" % e
            self.report({'ERROR'}, state.error)
            return {'CANCELLED'}
        present = set(mesh_mapping.driven_names(obj))
        missing = sorted(e.shape_key for e in entries if e.shape_key not in present)
        mesh_mapping.store_entries(obj, entries)
        mesh_mapping.fill_rows(obj)
        text = "Loaded %d mapping entries onto %s" % (len(entries), obj.name)
        if missing:
            text += "; %d name keys %s lacks (kept): %s" % (len(missing), obj.name, ", ".join(missing[:5]))
        self.report({'WARNING'} if missing else {'INFO'}, text)
        return {'FINISHED'}
