"""Run every benchmark and write docs/BENCHMARKS.md (also printed).

Run: .venv/bin/python benchmarks/run_all.py   (about an hour on the two-core machine here)
"""

import datetime
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SECTIONS = (
    ("Tracker speed (one core, issue 2 and 3)", "tracker_speed.py"),
    ("Speed against the peers (OpenSeeFace, MediaPipe; whole process, one core; needs .venv-peers, .venv-ref)",
     "peer_speed.py"),
    ("Tracker accuracy and steadiness against plain dlib", "tracker_quality.py"),
    ("Face detection: no face means no face, turned faces still found", "detection.py"),
    ("Expression weights against a trained reference (MediaPipe FaceLandmarker; needs .venv-ref)", "expressions.py"),
    ("Resting faces: does the avatar rest? (needs .venv-ref)", "resting.py"),
    ("Blinks against per-frame human labels", "blink.py"),
    ("Pupils and gaze", "pupils.py"),
    ("Blender add-on: tick cost and bake throughput (bpy 5.0 module)", "addon_bpy.py"),
)


def main():
    out = ["# Benchmarks", "",
           "Written by `benchmarks/run_all.py` on %s (%s, Python %s, %d cores; each benchmark pins itself "
           "to one). Machines here are noisy: timings are medians and vary by 10-30%% between runs." % (
               datetime.date.today().isoformat(), platform.machine(), platform.python_version(), os.cpu_count()),
           ""]
    for title, script in SECTIONS:
        print("running %s" % script, file=sys.stderr)
        result = subprocess.run([sys.executable, os.path.join(HERE, script)], capture_output=True, text=True,
                                cwd=HERE)
        out += ["## " + title, "", "`benchmarks/%s`" % script, ""]
        out.append(result.stdout.strip() if result.returncode == 0 else
                   "FAILED (exit %d):\n```\n%s\n```" % (result.returncode, result.stderr[-2000:]))
        out.append("")
    text = "\n".join(out)
    with open(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
