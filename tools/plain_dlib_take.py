"""A take file of plain dlib landmarks, to place eye crops for blink labelling.

Runs dlib's HOG detector and 68-point predictor on every frame (the largest
face; no tracking, no filtering, nothing of vstream's blink stage) and writes
one JSON line per frame, {"frame": i, "landmarks": [[x, y] x 68] or null}: the
format tools/blink_contact_sheets.py reads. Labels placed this way do not
depend on the detector they will score.
    python tools/plain_dlib_take.py ../shared/data/people/clip.mp4 /tmp/clip.jsonl
"""

import json
import os
import sys

import cv2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))
from common import PlainDlib  # noqa: E402


def main(video, out):
    plain = PlainDlib()
    cap = cv2.VideoCapture(video)
    with open(out, "w") as f:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            p = plain.landmarks(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
            f.write(json.dumps({"frame": i, "landmarks": None if p is None else p.tolist()}) + "\n")
            i += 1


if __name__ == "__main__":
    main(*sys.argv[1:3])
