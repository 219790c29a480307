"""Pupil (iris) centres from the dlib eye landmarks, by the gradient method.

Timm and Barth, "Accurate eye centre localisation by means of gradients"
(VISAPP 2011): the centre c of a dark disc is the point that the image
gradients around it point away from, so it maximises

    w(c) * mean_i max(0, d_i(c) . g_i) ** 2,  d_i(c) = (x_i - c) / |x_i - c|

over the strong gradients g_i (unit vectors), where w(c) is the darkness at c
(smoothed 255 - I). Nothing here is an intensity threshold: "strong" is
relative to the eye's own gradient statistics, so lighting and skin tone need
no tuning.

Additions to the paper, each for a failure seen on real eyes (see the comments
at the constants): gradients only count at iris-like distances from the
candidate (RING), and the darkness weight ignores the corneal reflection
(HIGHLIGHT).

Speed: the eye is resampled into a small fixed crop aligned with its corners,
so the cost does not depend on the face size (and head roll does not matter);
only candidates inside the lid polygon are scored, first on a coarse grid and
then around the best one; the scoring is plain float32 broadcasting. On arrays
this small each numpy or OpenCV call costs more than its arithmetic (and more
again right after the shape predictor has flushed the caches), so the code
keeps the number of calls down: plain floats for the geometry, flat pixel
indices, one table lookup for all candidate-gradient pairs, and both eyes'
crops stacked into one image for the filtering steps (_examine).

Conventions (unmirrored camera, as in landmarks.py): the eye landmark order is
the iBUG one for both eyes: p0 image-left corner, p1 p2 upper lid, p3
image-right corner, p4 p5 lower lid (p4 under p2, p5 under p1). So p3 is on
the subject's left for both eyes.
"""

import math

import cv2
import numpy as np

from . import eye_closure
from .landmarks import LEFT_EYE, RIGHT_EYE

CROP_W, CROP_H = 48, 24   # fixed crop, aligned with the eye corners
EYE_SPAN = 34.0           # crop pixels between the two corners: leaves room for the iris at either corner
MIN_EYE_WIDTH = 5.0       # image pixels; below this there is no iris to see
# Lid gap / eye width (eye aspect ratio): confidence falls to 0 at CLOSED and is
# not lowered from OPEN up. dlib's lids alone cannot tell closed from open
# (a blink in expr_d0 measured 0.10-0.15, the open 11 px eyes of the RT-GENE
# samples 0.08-0.14), so the pupil is still searched for below CLOSED and the
# caller decides with the confidence.
CLOSED = 0.10
OPEN = 0.25
GRADIENT_K = 0.5          # strong gradient: magnitude > mean + k * std over the eye
GRADIENT_MARGIN = 3       # crop px: gradients just outside the lids still outline the iris
CANDIDATE_MARGIN = 1      # crop px: the centre may sit on the lid line when the lid covers half the iris
DARK_SIGMA = 1.5          # crop px: smoothing before the darkness weight
# The iris radius is about 0.2 eye widths (11-12 mm iris, 28-30 mm between the
# corners). Only gradients at 0.6 to 1.5 times that distance from a candidate
# count: the iris edge always falls in this ring, while the eyelash line next to
# a candidate on the lid mostly does not. Without it, dark lashes above light
# irises pulled the centre up by up to 0.22 eye widths on the hand-marked
# stills (tests/fixtures/gaze_labels.json); the mean error fell from 0.10 to 0.06.
RING = (0.12 * EYE_SPAN, 0.30 * EYE_SPAN)   # crop px
HIGHLIGHT = 5             # crop px: bright specks narrower than this are removed from the darkness weight
COARSE = 2                # candidate stride of the first pass; the objective is smooth at this scale
COARSE_GRADIENTS = 2      # the first pass also uses every n-th strong gradient (a checkerboard for 2)


def _geometry(eye_points):
    """Eye frame: (points, lid centre, unit vector along the corners, the unit
    vector across them, width, lid gap / width), all plain Python floats:
    points is the six (x, y) pairs, the vectors (x, y) tuples.

    Plain floats: on six points numpy's per-call overhead would dominate.
    """
    p = eye_points if isinstance(eye_points, list) else \
        np.asarray(eye_points, dtype=np.float64).reshape(6, 2).tolist()
    (x0, y0), (x1, y1), (x2, y2), (x3, y3), (x4, y4), (x5, y5) = p
    width = math.hypot(x3 - x0, y3 - y0)
    w = max(width, 1e-9)
    ex = ((x3 - x0) / w, (y3 - y0) / w)
    ey = (-ex[1], ex[0])                    # image-down when the eye is level
    centre = ((x1 + x2 + x4 + x5) / 4.0, (y1 + y2 + y4 + y5) / 4.0)
    # Lid gap over width: the eye aspect ratio of Soukupova and Cech.
    gap = 0.5 * (math.hypot(x1 - x5, y1 - y5) + math.hypot(x2 - x4, y2 - y4))
    return p, centre, ex, ey, width, gap / w


# Both eyes are searched in one image, their crops one above the other, so that
# every OpenCV and numpy routine runs once per face rather than once per eye: right
# after the shape predictor has flushed the caches each call costs more than its
# arithmetic (0.2 ms a frame saved at 640x480). The objective still pairs each eye's
# candidates only with its own gradients. The filters do reach across the seam
# (Sobel by a row, the darkness weight by 8 with a negligible weight at that
# distance), but the lids sit in the crop's middle rows, away from it.
class _Tables:
    """Built once: everything about pixel positions and displacements in the stacked crops."""

    def __init__(self, w, h, eyes):
        ys, xs = np.mgrid[0:h * eyes, 0:w]
        v = ys % h              # the row in the eye's own crop
        self.coarse = ((xs % COARSE == 0) & (v % COARSE == 0)).ravel()
        self.sparse = ((xs + v) % COARSE_GRADIENTS == 0).ravel()
        # Every displacement between two pixels of one crop, (dx, dy) in (-w, w) x (-h, h),
        # has a slot in a (2h - 1) x (2w - 1) table: pos[c] - pos[i] + zero for the
        # displacement x_i - c (the table is stored mirrored, so that one
        # np.subtract.outer of (pos + zero)[c] and pos[i] indexes all pairs at once).
        # Positions are within the eye's own crop: pairs are only ever taken within one eye.
        stride = 2 * w - 1
        self.pos = (v * stride + xs).ravel().astype(np.intp)
        zero = (h - 1) * stride + (w - 1)
        self.pos_zero = self.pos + zero
        dy, dx = np.mgrid[1 - h:h, 1 - w:w].astype(np.float64)
        r2 = dx * dx + dy * dy
        r = np.sqrt(np.maximum(r2, 1e-12))
        ring = (r2 > RING[0] ** 2) & (r2 < RING[1] ** 2)
        # The unit displacement as a complex number, 0 outside the ring: then
        # Re(unit * conj(g)) is d . g, computed in one pass.
        unit = np.where(ring, (dx + 1j * dy) / r, 0).astype(np.complex64).ravel()
        self.unit = np.ascontiguousarray(unit[::-1])   # slot zero - k holds displacement k


_TABLES = _Tables(CROP_W, CROP_H, 2)
# The refinement's window around a canvas pixel: (flat indices of every pixel within COARSE of it
# in its own eye's crop, in raster order; the window's (x0, y0, x1, y1)). Made on first use and
# kept, rather than built on every frame (nor all 2304 at import: 20 ms of the start).
_WINDOWS = {}


def _window(index):
    found = _WINDOWS.get(index)
    if found is None:
        by, bx = divmod(index, CROP_W)
        top_row = by - by % CROP_H
        y0, y1 = max(top_row, by - COARSE), min(top_row + CROP_H, by + COARSE + 1)
        x0, x1 = max(0, bx - COARSE), min(CROP_W, bx + COARSE + 1)
        found = _WINDOWS[index] = (np.array([y * CROP_W + x for y in range(y0, y1) for x in range(x0, x1)]),
                                   (x0, y0, x1, y1))
    return found


_DILATE_G = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * GRADIENT_MARGIN + 1,) * 2)
_DILATE_C = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * CANDIDATE_MARGIN + 1,) * 2)
_OPEN_HIGHLIGHT = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (HIGHLIGHT, HIGHLIGHT))
# cv2.GaussianBlur(src, (0, 0), DARK_SIGMA) on float32 is this separable filter (the same
# numbers); calling sepFilter2D with it skips building the kernel on every call, and it
# reads the uint8 image directly (the same numbers as converting it to float32 first).
_DARK_KERNEL = cv2.getGaussianKernel(round(8 * DARK_SIGMA + 1) | 1, DARK_SIGMA, cv2.CV_32F)
_U0, _V0 = (CROP_W - 1) / 2.0, (CROP_H - 1) / 2.0   # the crop's centre


def _crop(gray, centre, ex, ey, width, out):
    """Resample the eye into `out` (a CROP_H x CROP_W uint8 view); return the
    crop -> image affine map (a00, a01, a02, a10, a11, a12):
    x = a00 u + a01 v + a02, y = a10 u + a11 v + a12."""
    s = width / EYE_SPAN                     # image px per crop px
    # crop (u, v) -> image: centre + s * ((u - u0) ex + (v - v0) ey)
    a00, a01, a10, a11 = s * ex[0], s * ey[0], s * ex[1], s * ey[1]
    a02 = centre[0] - (a00 * _U0 + a01 * _V0)
    a12 = centre[1] - (a10 * _U0 + a11 * _V0)
    src, x0, y0 = gray, 0, 0
    if s > 1.5:
        # Shrinking a large eye: blur first so the resampling does not alias;
        # only the eye's neighbourhood, to keep the cost independent of the frame.
        r = math.ceil(0.75 * CROP_W * s) + 2
        x0, y0 = int(max(0, centre[0] - r)), int(max(0, centre[1] - r))
        x1, y1 = int(min(gray.shape[1], centre[0] + r)), int(min(gray.shape[0], centre[1] + r))
        src = cv2.GaussianBlur(gray[y0:y1, x0:x1], (0, 0), 0.5 * s)
    warp = np.array(((a00, a01, a02 - x0), (a10, a11, a12 - y0)))
    cv2.warpAffine(src, warp, (CROP_W, CROP_H), dst=out, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                   borderMode=cv2.BORDER_REPLICATE)
    return a00, a01, a02, a10, a11, a12


def _objective(ci, pg, g):
    """mean_i max(0, d_i . g_i)^2 over the ring, for candidates ci and gradients gi
    of one eye.

    ci: flat canvas indices; pg: _TABLES.pos of the gradients; g: conj(unit
    gradient) there, complex64. All displacements come from the table, so this
    is a handful of numpy passes.
    """
    t = _TABLES
    dot = (t.unit.take(np.subtract.outer(t.pos_zero.take(ci), pg)) * g).real
    dot = np.maximum(dot, 0)
    dot *= dot
    return dot.sum(axis=1) / pg.size


def _score(canvas, lids):
    """Timm-Barth scores, coarse then fine, for each eye crop stacked in `canvas`: a
    list of (peak (u, v) in crop pixels, confidence) or None. lids: canvas-sized
    uint8 mask, 1 inside each eye's lid outline.

    The image-wide steps run once for all eyes; then each eye is searched on its
    own share of the gradients and candidates (slices of the sorted flat indices).
    """
    t = _TABLES
    eyes = canvas.shape[0] // CROP_H
    # 3x3 Sobel gradients (spatialGradient: both in one call, as integers).
    gx, gy = cv2.spatialGradient(canvas)
    gx, gy = gx.astype(np.float32), gy.astype(np.float32)
    mag = np.sqrt(gx * gx + gy * gy)
    gmask = cv2.dilate(lids, _DILATE_G)

    # Strong gradients: relative to each eye's own statistics, not a fixed level.
    limit = np.empty((canvas.shape[0], 1), np.float32)
    for k in range(eyes):
        rows = slice(k * CROP_H, (k + 1) * CROP_H)
        mean, std = cv2.meanStdDev(mag[rows], mask=gmask[rows])
        limit[rows] = max(mean.item() + GRADIENT_K * std.item(), 1e-3)
    gi = ((mag > limit) & gmask).ravel().nonzero()[0]
    g = (gx.take(gi) - 1j * gy.take(gi)) / mag.take(gi)    # conj(unit gradient), complex64
    pg = t.pos.take(gi)
    sparse = t.sparse.take(gi)
    # Darkness without the corneal reflection: the catchlight often sits in the
    # pupil, and left in it lowered the weight right at the centre and pushed
    # the peak off it (worst hand-marked error 0.13 -> 0.105 eye widths).
    dark = 255.0 - cv2.sepFilter2D(cv2.morphologyEx(canvas, cv2.MORPH_OPEN, _OPEN_HIGHLIGHT), cv2.CV_32F,
                                   _DARK_KERNEL, _DARK_KERNEL)
    cmask = cv2.dilate(lids, _DILATE_C).view(bool)
    ci = cmask.ravel().nonzero()[0]
    dci = dark.take(ci)
    on_grid = t.coarse.take(ci)
    bounds = [k * CROP_H * CROP_W for k in range(eyes + 1)]
    gcut, ccut = np.searchsorted(gi, bounds).tolist(), np.searchsorted(ci, bounds).tolist()
    return [_score_eye(k, gi[gcut[k]:gcut[k + 1]], pg[gcut[k]:gcut[k + 1]], g[gcut[k]:gcut[k + 1]],
                       sparse[gcut[k]:gcut[k + 1]], ci[ccut[k]:ccut[k + 1]], dci[ccut[k]:ccut[k + 1]],
                       on_grid[ccut[k]:ccut[k + 1]], dark, cmask)
            for k in range(eyes)]


def _score_eye(k, gi, pg, g, sparse, ci, dci, on_grid, dark, cmask):
    """_score for the k-th eye of the canvas, from its strong gradients (flat indices gi, table
    positions pg, conj unit vectors g, the checkerboard subset `sparse`) and its
    candidates (ci, their darkness dci, which of them are on the coarse grid)."""
    if gi.size == 0 or ci.size == 0:
        return None
    # The iris centre is darker than the average of the visible eye (iris plus
    # sclera), so the brighter half of the candidates need not be scored: the
    # darkness weight would sink them anyway.
    keep = dci >= _mean(dci)
    ci, on_grid = ci[keep], on_grid[keep]
    grid = ci[on_grid]
    ci = grid if grid.size else ci
    if np.count_nonzero(sparse) >= 8:
        coarse = _objective(ci, pg[sparse], g[sparse])
    else:
        coarse = _objective(ci, pg, g)
    coarse *= dark.take(ci)
    j = int(coarse.argmax())
    best = int(ci[j])
    peak_coarse = float(coarse[j])

    # Refine on every pixel around the coarse peak (inside the lids): at most 5 x 5.
    win, (x0, y0, x1, y1) = _window(best)
    top_row = k * CROP_H
    win = win[cmask.take(win)]
    fine = _objective(win, pg, g)
    fine *= dark.take(win)
    j = int(fine.argmax())          # win is in raster order: the first best, as argmax on the window
    scores = dict(zip(win.tolist(), fine.tolist()))
    top = int(win[j])
    ly, lx = divmod(top, CROP_W)
    u, v = _subpixel(scores, top, lx - x0, ly - y0, x1 - x0, y1 - y0)

    # Sharpness: a clear iris gives a peak well above the typical candidate.
    conf = 0.0 if peak_coarse <= 0 else 1.0 - float(_mean(coarse)) / peak_coarse
    return (u + x0, v + y0 - top_row), conf


def _mean(a):
    """a.mean() of a float32 array (same sum, same rounding) without numpy's
    per-call overhead: the division on Python floats, not numpy scalars."""
    return np.float32(float(a.sum()) / a.size)


def _subpixel(scores, top, x, y, w, h):
    """Parabola through the peak and its neighbours, per axis. scores: {canvas index:
    score} of the window's scored pixels; top: the peak's index, at (x, y) in the
    w x h window. Neighbours outside the window or not scored leave the axis as is."""
    def offset(a, b, c):
        d = a - 2 * b + c
        if a < 0 or c < 0 or d >= 0:
            return 0.0
        return min(0.5, max(-0.5, 0.5 * (a - c) / d))
    b = scores[top]
    dx = offset(scores.get(top - 1, -1.0), b, scores.get(top + 1, -1.0)) if 0 < x < w - 1 else 0.0
    dy = offset(scores.get(top - CROP_W, -1.0), b, scores.get(top + CROP_W, -1.0)) if 0 < y < h - 1 else 0.0
    return x + dx, y + dy


def locate(gray, eye_points):
    """Pupil/iris centre of one eye: (x, y, confidence) in full-image pixels.

    gray: uint8 grayscale frame. eye_points: that eye's 6 dlib landmarks, (6, 2),
    in iBUG order (36-41 or 42-47). confidence in [0, 1]: how far the best
    centre stands out from the other candidates, times a factor that falls
    from 1 to 0 as the lid gap narrows from OPEN to CLOSED (eye aspect ratio).
    When it is 0 the position is only a guess: for an eye narrower than
    MIN_EYE_WIDTH pixels, or with no usable gradients, it is the lid centre.
    """
    return _examine(gray, [_geometry(eye_points)])[0][:3]


def _examine(gray, geometries):
    """For each eye (its _geometry; one or two, as _TABLES is built for): locate()'s
    (x, y, confidence), then the eye's aspect ratio and eye_closure.appearance()
    (NaN when the eye is too small to see), and its corner-aligned crop (None when
    too small: the blink classifier, eye_state.py, reads it instead of resampling
    the eye a second time)."""
    canvas = np.zeros((len(geometries) * CROP_H, CROP_W), np.uint8)
    lids = np.zeros_like(canvas)
    rows = [slice(k * CROP_H, (k + 1) * CROP_H) for k in range(len(geometries))]
    eyes = [_prepare(gray, geometry, canvas[r], lids[r]) for geometry, r in zip(geometries, rows)]
    found = _score(canvas, lids)
    return [_finish(eye, peak) + (None if eye[3] is None else canvas[r],)
            for eye, peak, r in zip(eyes, found, rows)]


def _prepare(gray, geometry, crop, lids):
    """Resample one eye into `crop` and draw its lid outline into `lids` (views of
    the canvas): (lid centre x, y, openness, crop -> image map or None, contrast,
    iris column)."""
    p, (cx, cy), ex, ey, width, openness = geometry
    if width < MIN_EYE_WIDTH:
        return cx, cy, openness, None, float("nan"), float("nan")   # no lids drawn: nothing to search
    a = _crop(gray, (cx, cy), ex, ey, width, crop)
    s = width / EYE_SPAN
    # The lid outline in crop pixels (rounded to the nearest, as np.round).
    poly = [(round(((x - cx) * ex[0] + (y - cy) * ex[1]) / s + _U0),
             round(((x - cx) * ey[0] + (y - cy) * ey[1]) / s + _V0)) for x, y in p]
    cv2.fillPoly(lids, [np.array(poly, np.int32)], 1)
    contrast, column = eye_closure.appearance(crop, lids)
    return cx, cy, openness, a, contrast, column


def _finish(eye, found):
    """locate()'s answer and the eye's looks, from _prepare() and the eye's _score()."""
    cx, cy, openness, a, contrast, column = eye
    if a is None or found is None:
        return cx, cy, 0.0, openness, contrast, column
    (u, v), sharp = found
    a00, a01, a02, a10, a11, a12 = a
    lid_factor = min(1.0, max(0.0, (openness - CLOSED) / (OPEN - CLOSED)))
    return (a00 * u + a01 * v + a02, a10 * u + a11 * v + a12, min(1.0, max(0.0, sharp)) * lid_factor,
            openness, contrast, column)


def eye_offset(pupil, eye_points, geometry=None):
    """Pupil position in the eye's frame, in half eye widths: (horizontal, vertical).

    horizontal: along the corners from their midpoint, + toward the image-right
    corner (p3), which in an unmirrored camera is toward the subject's own left.
    -1 / +1 put the pupil on a corner. vertical: across the corners from the lid
    centre (mean of the four lid points), + up. Both clipped to [-1, 1].
    """
    p, lid_centre, ex, ey, width, _ = geometry or _geometry(eye_points)   # its centre: the lids' mean
    half = max(width / 2.0, 1e-9)
    x, y = float(pupil[0]), float(pupil[1])
    mx, my = (p[0][0] + p[3][0]) / 2.0, (p[0][1] + p[3][1]) / 2.0
    h = ((x - mx) * ex[0] + (y - my) * ex[1]) / half
    v = -((x - lid_centre[0]) * ey[0] + (y - lid_centre[1]) * ey[1]) / half
    return min(1.0, max(-1.0, h)), min(1.0, max(-1.0, v))


def gaze_offsets(gray, points):
    """Pupil offsets of both eyes of one face, from its (68, 2) landmarks.

    Returns {"right": eye, "left": eye, "horizontal": h, "vertical": v,
    "confidence": c}. "right" is the SUBJECT'S right eye (landmarks 36-41,
    image-left in an unmirrored camera), "left" the subject's left eye (42-47).
    Each eye is {"x", "y": pupil in image pixels, "horizontal", "vertical",
    "confidence", "aspect", "contrast", "iris_column"}:

    horizontal in [-1, 1]: the pupil along the line between the eye corners,
      from their midpoint, in half eye widths. POSITIVE = TOWARD THE SUBJECT'S
      OWN LEFT (image-right in an unmirrored camera; a mirrored image flips the
      sign). -1 / +1 = on the corner on the subject's right / left. Both eyes
      use the same sign, so looking to one side moves both the same way
      (for the right eye + is toward the nose, for the left eye away from it).
    vertical in [-1, 1]: the pupil across the corner line from the lid centre
      (mean of the four lid points), in half eye widths; POSITIVE = UP. A
      straight look does not give 0: the upper lid covers the top of the iris,
      so the lid centre sits lower (+0.0 to +0.2 on the test clips), and the
      lids follow the eye when it looks down. Compare with a neutral frame.
    confidence in [0, 1]: see locate(); 0 for a closed, tiny or featureless eye.
    aspect, contrast, iris_column: how open the eye looks (eye_closure.py);
      contrast and iris_column are NaN for an eye too small to see.
    crop: the eye resampled corner-aligned (CROP_H x CROP_W uint8), None when too small.

    The face-level horizontal / vertical are the confidence-weighted means of
    the two eyes (0 when both confidences are 0); the face confidence is the
    larger of the two.
    """
    points = np.asarray(points, dtype=np.float64).tolist()
    eyes = [points[RIGHT_EYE], points[LEFT_EYE]]
    geometries = [_geometry(eye) for eye in eyes]   # once per eye: locating and offsetting share it
    found = _examine(gray, geometries)
    out = {}
    for name, eye, geometry, (x, y, c, aspect, contrast, column, crop) in zip(("right", "left"), eyes, geometries,
                                                                            found):
        h, v = eye_offset((x, y), eye, geometry)
        out[name] = {"x": x, "y": y, "horizontal": h, "vertical": v, "confidence": c,
                     "aspect": aspect, "contrast": contrast, "iris_column": column, "crop": crop}
    wr, wl = out["right"]["confidence"], out["left"]["confidence"]
    total = wr + wl
    for key in ("horizontal", "vertical"):
        out[key] = 0.0 if total <= 0 else (wr * out["right"][key] + wl * out["left"][key]) / total
    out["confidence"] = max(wr, wl)
    return out
