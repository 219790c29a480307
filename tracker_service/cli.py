"""vstream-tracker: track a face from a webcam, video or image and stream it to Blender."""

import argparse
import os
import signal
import sys
import threading
import time

import cv2
import dlib
import numpy
from tqdm import tqdm

from vstream_addon.shared import protocol, take

from . import model_file, preview
from .link import DEFAULT_LISTEN_PORT, Link, LinkError
from .pipeline import FaceTracker
from .sources import SourceError, open_source
from .vmc_sender import DEFAULT_TARGET as VMC_DEFAULT_TARGET
from .vmc_sender import NAME_SETS as VMC_NAME_SETS
from .vmc_sender import VmcError, VmcSender


class OutputError(RuntimeError):
    pass


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="vstream-tracker",
        description="Track a face and stream ARKit-52 weights and head rotation over UDP to the "
                    "vstream Blender add-on (127.0.0.1 only), and with --vmc over the VMC protocol to "
                    "VTuber apps.")
    p.add_argument("--source", default="0",
                   help="webcam index (0, 1...), video file or image file (default: 0)")
    p.add_argument("--port", type=int, default=None,
                   help="UDP port the Blender add-on listens on (default: %d). With --out and a "
                        "file source and no --port, nothing is sent to it" % protocol.DEFAULT_PORT)
    p.add_argument("--listen-port", type=int, default=DEFAULT_LISTEN_PORT,
                   help="local UDP port the tracker sends from and receives control messages "
                        "on, such as calibrate (default: %(default)s)")
    p.add_argument("--vmc", nargs="?", const="", default=None, metavar="[HOST:]PORT",
                   help="also send the face over the VMC protocol (OSC) to a VTuber app (VSeeFace, "
                        "VNyan, Warudo, VMC4B...): one bundle per frame; --vmc alone sends to %s"
                        % VMC_DEFAULT_TARGET)
    p.add_argument("--vmc-names", choices=VMC_NAME_SETS, default=None,
                   help="blendshape names sent over VMC: the 52 ARKit channels as Perfect Sync names "
                        "(arkit, the default), plus the VRM 0.x presets (vrm0), the VRM 1.0 presets (vrm1) "
                        "or both")
    p.add_argument("--out", metavar="TAKE.jsonl", help="write the take: one JSON line per frame")
    p.add_argument("--preview-out", metavar="VIDEO.mp4",
                   help="write the preview (landmarks and weight bars) to a video file")
    p.add_argument("--no-preview", action="store_true", help="do not open a preview window")
    p.add_argument("--fast", action="store_true",
                   help="process video files as fast as possible instead of in real time")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--exit-with-stdin", action="store_true",
                   help="stop when standard input closes: the Blender add-on holds it open, so the "
                        "tracker ends with Blender even if Blender is killed")
    return p.parse_args(argv)


class _Stop:
    """Set by SIGTERM/SIGINT (and Ctrl-Break on Windows) so the take ends cleanly, with its files closed."""
    requested = False

    @classmethod
    def install(cls):
        def handler(signum, frame):
            cls.requested = True
        # Windows has SIGTERM and SIGINT too (Python emulates them); a console's
        # Ctrl-Break is SIGBREAK there, which POSIX does not have.
        for name in ("SIGTERM", "SIGINT", "SIGBREAK"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), handler)


EXIT_GRACE = 5.0  # seconds a stop asked by a closed stdin may take before the process exits anyway


def watch_stdin(fd=None, grace=EXIT_GRACE):
    """Stop the tracker when file descriptor `fd` (standard input) reaches end of file.

    The add-on launches the tracker with a pipe on stdin and never writes to
    it; the pipe closes only when the add-on stops the tracker or when Blender
    goes away, however it goes (even SIGKILL), so the tracker never outlives
    it. The frame loop sees the stop and closes its files; a tracker stuck
    before the loop (opening a camera) is ended after `grace` seconds.
    The descriptor is read directly: a thread blocked in sys.stdin's buffered
    reader would abort the interpreter's shutdown when the tracker ends first.
    os.read on a pipe works the same on Windows, macOS and Linux.
    """
    if fd is None:
        try:
            fd = sys.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            fd = -1  # no stdin at all (e.g. pythonw): the read fails at once, as if closed

    def watch():
        try:
            while os.read(fd, 4096):
                pass
        except (OSError, ValueError):
            pass  # a closed or broken stdin means the same: nobody holds it any more
        _Stop.requested = True
        try:
            print("vstream-tracker: standard input closed, stopping", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass  # stderr went with the parent
        time.sleep(grace)
        os._exit(0)

    thread = threading.Thread(target=watch, name="exit-with-stdin", daemon=True)
    thread.start()
    return thread


def main(argv=None):
    args = parse_args(argv)
    if args.exit_with_stdin:
        watch_stdin()
    try:
        return run(args)
    except (SourceError, LinkError, OutputError, VmcError) as e:
        print("vstream-tracker: error: %s" % e, file=sys.stderr)
        return 1


def run(args):
    if args.vmc_names is not None and args.vmc is None:
        raise VmcError("--vmc-names needs --vmc")
    vmc = VmcSender(args.vmc, args.vmc_names or "arkit") if args.vmc is not None else None
    try:
        source = open_source(args.source)
    except SourceError:
        if vmc:
            vmc.close()
        raise
    native = args.port is not None or not (args.out and source.kind != "camera")
    streaming = native or vmc is not None
    link = writer = preview_file = None
    try:
        if native:
            link = Link(args.port if args.port is not None else protocol.DEFAULT_PORT, args.listen_port)
        if args.out:
            try:
                writer = take.TakeWriter(args.out, take.header(source.fps, source.path, source.width,
                                                               source.height))
            except OSError as e:
                raise OutputError("cannot write take file %s: %s" % (args.out, e.strerror))
        if args.preview_out:
            try:
                preview_file = preview.PreviewWriter(args.preview_out, source.fps, source.width, source.height)
            except RuntimeError as e:
                raise OutputError(str(e))
        window = preview.display_available() and not args.no_preview
        if link:
            print("vstream-tracker: streaming %s to %s:%d" % (source.path, *link.target), file=sys.stderr)
        if vmc:
            print("vstream-tracker: sending VMC to %s:%d (%d blendshapes)" % (*vmc.target, len(vmc.names)),
                  file=sys.stderr)
        return _loop(args, source, link, vmc, writer, preview_file, window, streaming)
    finally:
        source.close()
        for closable in (link, vmc, writer, preview_file):
            if closable:
                closable.close()


def parts():
    """One line saying which dlib, OpenCV, numpy and model file this process runs on, and from where.

    Printed at start-up: a user (or a test) sees whether the tracker runs on the
    parts a Blender extension brought or on those of some other installation.
    """
    def where(module):
        return os.path.dirname(os.path.abspath(module.__file__))
    try:
        model = model_file.path()
    except RuntimeError as e:
        model = "missing (%s)" % e
    return "vstream-tracker: dlib %s (%s), OpenCV %s (%s), numpy %s (%s), model %s" % (
        dlib.__version__, where(dlib), cv2.__version__, where(cv2), numpy.__version__, where(numpy), model)


def _loop(args, source, link, vmc, writer, preview_file, window, streaming):
    _Stop.install()
    print(parts(), file=sys.stderr, flush=True)
    tracker = FaceTracker(source.width, source.height, source.fps)
    realtime = source.kind == "video" and streaming and not args.fast
    started = time.monotonic()
    frames = faces = 0
    total = source.frame_count or None
    if args.max_frames:
        total = min(total or args.max_frames, args.max_frames)
    progress = tqdm(total=total, unit="frame", disable=not sys.stderr.isatty(), leave=False)
    stopped = False
    for index, t, frame in source.frames():
        if _Stop.requested or (args.max_frames is not None and frames >= args.max_frames):
            stopped = True
            break
        if realtime:
            delay = started + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if link:
            for command in link.poll_commands():
                if command == "calibrate":
                    print("vstream-tracker: calibrating the neutral face (asked by the receiver)",
                          file=sys.stderr)
                    tracker.calibrate()
        result = tracker.process(frame, t)
        frames += 1
        faces += result.face
        if link:
            link.send(t, result.face, result.quat, result.position, result.weights)
        if vmc:
            vmc.send(t, result.face, result.quat, result.weights)
        if writer:
            writer.write(take.frame_record(index, t, result.face, result.weights, result.quat,
                                           result.euler_deg, result.position, result.landmarks))
        if preview_file or window:
            image = preview.draw(frame, result)
            if preview_file:
                preview_file.write(image)
            if window:
                key = preview.show(image)
                if key == "c":
                    tracker.calibrate()
                elif key == "q":
                    stopped = True
                    break
        progress.update()
    progress.close()
    if window:
        preview.close_window()
    elapsed = time.monotonic() - started
    ended_early = not stopped and getattr(source, "ended_early", False)
    note = " (the video ended early: corrupt or truncated)" if ended_early else ""
    print("vstream-tracker: %d frames, %d with a face, in %.1f s; detector ran %d times%s"
          % (frames, faces, elapsed, tracker.landmarks.detections, note), file=sys.stderr)
    return 0
