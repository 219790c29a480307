"""vstream against the other face trackers, whole process each, one core, side by side; prints Markdown.

Each program tracks the same clip from its start to its end, as a user runs it
(start-up, model loading and video decoding included), pinned to one core:

    vstream      vstream-tracker --fast --no-preview, sending its datagrams to a local port
                 (this checkout's code, .venv)
    OpenSeeFace  facetracker.py --model 0 --max-threads 1 (gaze on), sending to a local port
                 (run from ../shared/peers/openseeface by .venv-peers; tests/peers.py)
    MediaPipe    FaceLandmarker with its blendshapes, VIDEO mode, one face (the expression
                 benchmark's reference: tools/reference/blendshapes.py in .venv-ref)

The programs run in turn, RUNS rounds; each peer's time is divided by vstream's of
the same round (the machine's speed drifts from minute to minute) and the median
ratio is reported, of the wall time and of the CPU time. What each gives for the time is in docs/EXPRESSIONS.md
(agreement with the reference) and docs/BENCHMARKS.md.
Run: .venv/bin/python benchmarks/peer_speed.py [CLIP ...]   (default webcam_cap12.mp4)
"""

import os
import socket
import statistics
import sys
import tempfile

from common import DATA, ROOT, first_core, run_process, table

sys.path.insert(0, os.path.join(ROOT, "tests"))
from peers import OSF_DIR, openseeface_command  # noqa: E402

import reference  # noqa: E402

RUNS = 3
CLIPS = ("webcam_cap12.mp4",)


def commands(clip, port, scratch):
    """{program: (command, working directory, environment)} for one clip."""
    reference.ensure_venv()
    quiet = dict(os.environ, GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="2")
    return {
        "vstream": ([sys.executable, "-m", "tracker_service", "--source", clip, "--no-preview", "--fast",
                     "--port", str(port), "--listen-port", "0"], ROOT, None),
        "OpenSeeFace": (openseeface_command(clip, port), OSF_DIR, None),
        "MediaPipe": ([reference.REF_PYTHON, reference.SCRIPT, clip, os.path.join(scratch, "mp.npz")], ROOT, quiet),
    }


def _cpu(run):
    return run["user"] + run["system"]


def frames(clip):
    import cv2
    cap = cv2.VideoCapture(clip)
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    w, h = int(cap.get(3)), int(cap.get(4))
    return n, "%dx%d" % (w, h)


def main():
    clips = [os.path.join(DATA, "video", c) for c in (sys.argv[1:] or CLIPS)]
    core = first_core()
    # Every sender sends here; nobody reads (the kernel drops what the buffer cannot hold).
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    port = sink.getsockname()[1]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for clip in clips:
            programs = commands(clip, port, scratch)
            runs = {name: [] for name in programs}
            for _ in range(RUNS):
                for name, (cmd, cwd, env) in programs.items():
                    result = run_process(cmd, cpus=core, cwd=cwd, env=env)
                    result["cpu"] = _cpu(result)
                    runs[name].append(result)
            n, size = frames(clip)
            base = runs["vstream"]
            for name, measured in runs.items():
                wall = statistics.median(r["wall"] for r in measured)
                cpu = statistics.median(_cpu(r) for r in measured)
                ratios = [statistics.median(v[k] / r[k] for v, r in zip(base, measured)) for k in ("wall", "cpu")]
                rows.append((os.path.basename(clip), size, n, name, "%.1f" % wall, "%.1f" % (1e3 * wall / n),
                             "%.1f" % cpu) + tuple("1" if name == "vstream" else "%.2f (%.1fx)" % (q, 1 / q)
                                                   for q in ratios))
    sink.close()
    print("Whole process (start-up, model loading and decoding included), pinned to one core, %d rounds "
          "taken in turn; medians. Ratios: vstream's time over the program's, round by round (below 1: "
          "vstream is faster; in brackets how many times), of the wall time and of the CPU time (user + "
          "system: what the process itself used, which the other tenants of a shared machine do not "
          "change)." % RUNS)
    print()
    print(table(("clip", "size", "frames", "program", "wall s", "wall ms a frame", "CPU s",
                 "vstream / program, wall", "vstream / program, CPU"), rows))


if __name__ == "__main__":
    main()
