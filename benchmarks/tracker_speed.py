"""Tracker time per frame on one core, on real footage; the whole process as a user runs it; prints Markdown.

Decode excluded: the tracker's own work (landmarks, filter, pose, pupils, weights).
Decode included: plus reading the frame from the file (and resizing, for the 640x480 row). Also how often the full
detector ran (it costs 15-90 ms; tracking from the previous landmarks costs ~2).
Then where the time goes, stage by stage, on the 640x480 row (timers wrapped around
each stage of FaceTracker.process; the wrappers add about a microsecond each; CPU time
of the tracking thread, time.thread_time, so the other tenants of a shared machine
do not count in it), and
the frame's cost over the shape predictor's (which no dlib tracker can avoid).
Then the whole `vstream-tracker --out` process on a clip, as a user runs it (all
cores) and pinned to one: wall, user and system time (system time is what spinning
threads cost). Then the time from the process's start to its first frame sent.
The benchmark restarts itself with glibc's huge pages as the tracker does
(tracker_service/huge_pages.py) and starts the tracker processes with the
environment it was given, so each pays its own restart.
Run: .venv/bin/python benchmarks/tracker_speed.py
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tracker_service.huge_pages import restart_with_huge_pages, without_tunable  # noqa: E402

restart_with_huge_pages()   # measured in-process as the tracker runs (tracker_service/huge_pages.py)

import cv2  # noqa: E402

from common import DATA, ROOT, first_core, one_core, resized_frames, run_process  # noqa: E402

from tracker_service import pipeline  # noqa: E402
from tracker_service.pipeline import FaceTracker  # noqa: E402

# The tracker processes are started with the environment this benchmark was started with
# (without the tunable its own restart added), so each pays its own restart as a user's does.
USER_ENV = without_tunable(os.environ)
# (clip, size to resize to or None): 640x480 is the common webcam size; cap12 is 4:3.
PASSES = 5
CLIPS = (("webcam_cap12.mp4", None), ("webcam_cap12.mp4", (640, 480)), ("talk_s18_720p.mp4", None))


def measure(path, size=None):
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    w, h = size or (int(cap.get(3)), int(cap.get(4)))
    tracker = FaceTracker(w, h, fps)
    work, total = [], []
    index = 0
    while True:
        t0 = time.perf_counter()
        ok, frame = cap.read()
        if not ok:
            break
        if size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
        t1 = time.perf_counter()
        tracker.process(frame, index / fps)
        t2 = time.perf_counter()
        work.append(t2 - t1)
        total.append(t2 - t0)
        index += 1
    return {"clip": os.path.basename(path), "size": "%dx%d" % (w, h), "frames": index,
            "work_ms": statistics.median(work) * 1e3, "total_ms": statistics.median(total) * 1e3,
            "p95_ms": statistics.quantiles(work, n=20)[-1] * 1e3,
            "detections": tracker.landmarks.detections, "checks": tracker.landmarks.checks}


class _Stages:
    """Per-frame time of each wrapped stage (seconds, summed over its calls in the frame)."""

    def __init__(self):
        self.frame = {}
        self.frames = []

    def wrap(self, name, fn):
        def timed(*args, **kwargs):
            t0 = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.frame[name] = self.frame.get(name, 0.0) + time.thread_time() - t0
        return timed

    def end_frame(self, total):
        self.frame["total"] = total
        self.frames.append(self.frame)
        self.frame = {}


class _Proxy:
    """Stands in for an object: `method` timed, everything else passed through."""

    def __init__(self, obj, method, timed):
        self._obj = obj
        setattr(self, method, timed)

    def __getattr__(self, name):
        return getattr(self._obj, name)


STAGES = (("gray", "grayscale of the face region"), ("predictor", "landmarks: dlib shape predictor"),
          ("detector", "landmarks: dlib detector (detections, confirmations)"),
          ("track_rest", "landmarks: box, shape to array, thumbnail check"),
          ("filter", "landmark filter"), ("pose", "head pose (solvePnP)"),
          ("pupils", "pupils and eye looks (both eyes)"),
          ("neutral", "eye cues' neutral (blinks)"),
          ("eye_state", "eye open/closed classifier (patches, HOG, logistic regression; both eyes)"),
          ("weights", "expression stage (model, weight neutral, smoothing)"),
          ("rest", "the rest (blinks, gaze filter, result)"))


def stages(path, size):
    """Median and mean ms per stage on the frames of one clip."""
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    tracker = FaceTracker(size[0], size[1], fps)
    st = _Stages()
    lt = tracker.landmarks
    tracker._gray = st.wrap("gray", tracker._gray)
    lt.predictor = st.wrap("predictor", lt.predictor)
    lt.detector = _Proxy(lt.detector, "run", st.wrap("detector", lt.detector.run))
    lt.track = st.wrap("track", lt.track)
    tracker.filter = _Callable(tracker.filter, st.wrap("filter", tracker.filter.__call__))
    tracker.pose.solve = st.wrap("pose", tracker.pose.solve)
    tracker.eye_neutral.update = st.wrap("neutral", tracker.eye_neutral.update)
    tracker.expressions = _Callable(tracker.expressions, st.wrap("weights", tracker.expressions.__call__))
    original = pipeline.pupils.gaze_offsets
    pipeline.pupils.gaze_offsets = st.wrap("pupils", original)
    eye_functions = {name: getattr(pipeline.eye_state, name) for name in ("patches", "inputs")}
    for name, fn in eye_functions.items():
        setattr(pipeline.eye_state, name, st.wrap("eye_state", fn))
    tracker.eye_state = _Proxy(tracker.eye_state, "logits", st.wrap("eye_state", tracker.eye_state.logits))
    try:
        for index, frame in resized_frames(cap, size):
            t0 = time.thread_time()
            tracker.process(frame, index / fps)
            st.end_frame(time.thread_time() - t0)
    finally:
        pipeline.pupils.gaze_offsets = original
        for name, fn in eye_functions.items():
            setattr(pipeline.eye_state, name, fn)
    for f in st.frames:
        f["track_rest"] = f.get("track", 0.0) - f.get("predictor", 0.0) - f.get("detector", 0.0)
        f["rest"] = f["total"] - sum(f.get(k, 0.0) for k in ("gray", "track", "filter", "pose", "pupils",
                                                            "neutral", "eye_state", "weights"))
    plain = [f for f in st.frames if "detector" not in f]   # the typical frame: tracking only
    rows = []
    for key, label in STAGES + (("total", "total"),):
        rows.append((label, statistics.median(f.get(key, 0.0) for f in plain) * 1e3,
                     statistics.mean(f.get(key, 0.0) for f in st.frames) * 1e3))
    return rows, len(plain), len(st.frames)


class _Callable:
    """A callable stand-in for a filter object: calls timed, reset() passed through."""

    def __init__(self, obj, timed):
        self._obj = obj
        self._timed = timed

    def __call__(self, *args, **kwargs):
        return self._timed(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._obj, name)


PROCESS_CLIP = "webcam_cap12.mp4"
PROCESS_RUNS = 3
START_RUNS = 5


def tracker_command(clip, *args):
    """This checkout's vstream-tracker (run from the repository root)."""
    return [sys.executable, "-m", "tracker_service", "--source", os.path.join(DATA, "video", clip),
            "--no-preview", "--fast"] + list(args)


def whole_process(clip=PROCESS_CLIP, runs=PROCESS_RUNS):
    """{"all cores" / "one core": [run_process results]}, the two taken in turn."""
    results = {"all cores": [], "one core": []}
    with tempfile.TemporaryDirectory() as scratch:
        cmd = tracker_command(clip, "--out", os.path.join(scratch, "take.jsonl"))
        for _ in range(runs):
            for name, cpus in (("all cores", set(range(os.cpu_count()))), ("one core", first_core())):
                results[name].append(run_process(cmd, cpus=cpus, cwd=ROOT, env=USER_ENV))
    return results


def _cpu_seconds(pid):
    """CPU time (user + system) process `pid` has used so far, from /proc (Linux)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_frame(clip=PROCESS_CLIP, runs=START_RUNS, env=None):
    """(wall seconds, CPU seconds) from starting the process to receiving its first datagram (a
    tracked frame), per run: the wall time is what the user waits on an idle machine; the CPU
    time the process had used by then is what other tenants of a shared machine do not change."""
    times = []
    for _ in range(runs):
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(60)
        start = time.monotonic()
        process = subprocess.Popen(tracker_command(clip, "--port", str(sink.getsockname()[1]), "--listen-port", "0",
                                                   "--max-frames", "5"),
                                   cwd=ROOT, env=env or USER_ENV, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            sink.recv(4096)
            times.append((time.monotonic() - start, _cpu_seconds(process.pid)))
        finally:
            process.wait(60)
            sink.close()
    return times


def main():
    process_runs = whole_process()   # before one_core() pins this process (its children inherit it)
    start_times = first_frame()
    one_core()
    # This machine's speed swings by up to 30% from one minute to the next (other
    # tenants of the host): each clip is timed in PASSES passes, taken in turn with the
    # other clips, and the median pass is reported with the range of all passes.
    passes = [[measure(os.path.join(DATA, "video", c), size) for c, size in CLIPS] for _ in range(PASSES)]
    print("Each row: the median of %d passes over the clip (in turn with the other clips), and in "
          "brackets the fastest and slowest pass." % PASSES)
    print()
    print("| clip | size | frames | median ms/frame, decode excluded | 95th percentile ms | fps "
          "| median ms/frame, decode included | full detector runs | crop confirmations |")
    print("|---|---|---|---|---|---|---|---|---|")
    for i in range(len(CLIPS)):
        runs = [p[i] for p in passes]
        work = sorted(r["work_ms"] for r in runs)
        r = runs[0]
        print("| %s | %s | %d | %.2f (%.2f-%.2f) | %.2f | %.0f | %.2f | %d | %d |" % (
            r["clip"], r["size"], r["frames"], statistics.median(work), work[0], work[-1],
            statistics.median(x["p95_ms"] for x in runs),
            1000.0 / statistics.median(work), statistics.median(x["total_ms"] for x in runs),
            r["detections"], r["checks"]))
    clip, size = CLIPS[1]
    per_stage, plain, frames = stages(os.path.join(DATA, "video", clip), size)
    print()
    print("Where the time goes, %s at %dx%d: median over the %d of %d frames where no detector ran, "
          "and mean over all frames (detector runs amortised)." % (clip, size[0], size[1], plain, frames))
    print()
    print("| stage | median ms | mean ms |")
    print("|---|---|---|")
    for label, median, mean in per_stage:
        print("| %s | %.2f | %.2f |" % (label, median, mean))
    medians = {label: median for label, median, _ in per_stage}
    print()
    print("A tracked frame costs %.2fx what dlib's shape predictor alone costs in the same run (median total "
          "over median predictor)." % (medians["total"] / medians["landmarks: dlib shape predictor"]))
    print()
    print("The whole process, `vstream-tracker --source %s --out TAKE --fast --no-preview`, as a user runs it "
          "(all %d cores) and pinned to one core, %d runs each taken in turn; medians:"
          % (PROCESS_CLIP, os.cpu_count(), PROCESS_RUNS))
    print()
    print("| run | wall s | user s | system s | system share of CPU time |")
    print("|---|---|---|---|---|")
    for name, runs in process_runs.items():
        wall, user, system = (statistics.median(r[k] for r in runs) for k in ("wall", "user", "system"))
        share = statistics.median(r["system"] / (r["user"] + r["system"]) for r in runs)
        print("| %s | %.1f | %.1f | %.2f | %.1f%% |" % (name, wall, user, system, 100 * share))
    print()
    print(start_line(start_times))


def start_line(start_times, note=""):
    wall, cpu = sorted(t[0] for t in start_times), sorted(t[1] for t in start_times)
    return ("From starting `vstream-tracker --source %s --port P`%s to its first frame arriving on P, %d runs: "
            "median %.2f s of wall time (%.2f-%.2f s), the process having used %.2f s of CPU time by then "
            "(%.2f-%.2f s)." % (PROCESS_CLIP, note, len(start_times), statistics.median(wall), wall[0], wall[-1],
                                statistics.median(cpu), cpu[0], cpu[-1]))


def start_only(pairs=8):
    """The start alone, with and without the huge pages (tracker_service/huge_pages.py), run by
    run in turn: what a user waits for on an idle machine, and what the huge pages cost there."""
    with_pages, without = [], []
    for _ in range(pairs):
        with_pages += first_frame(runs=1)
        without += first_frame(runs=1, env=dict(USER_ENV, GLIBC_TUNABLES="glibc.malloc.hugetlb=0"))
    print(start_line(with_pages, " as a user runs it"))
    print()
    print(start_line(without, " with GLIBC_TUNABLES=glibc.malloc.hugetlb=0 (no huge pages), in turn with those"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start-only", action="store_true",
                        help="measure only the start, with and without huge pages, in turn")
    if parser.parse_args().start_only:
        start_only()
    else:
        main()
