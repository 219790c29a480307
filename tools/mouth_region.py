"""The mouth's pixels, in the face's own frame: what the lips' 20 points cannot say.

dlib's lip points give the lips' outline, but not whether the lips between them are
rolled in or pressed, nor how dark and deep the opening is (a jaw dropped behind
parted lips against lips parted over a closed jaw). The patch is taken in a frame
set by the parts of the face that do not move with the mouth (the eye corners for
the axis and the size, the nose's base for the place), so an opening jaw moves the
lips inside the patch instead of moving the patch.
"""

import math

import cv2
import numpy as np

PATCH_W, PATCH_H = 32, 32
# The patch in units of the eye-corner distance (36 to 45), from the nose's base (33):
# across +-HALF_WIDTH, down from TOP to BOTTOM (a wide-open jaw's lower lip included).
HALF_WIDTH = 0.55
TOP, BOTTOM = 0.05, 1.15
NOSE_BASE, RIGHT_CORNER, LEFT_CORNER = 33, 36, 45


def patch(gray, points):
    """PATCH_H x PATCH_W uint8: the mouth region of one face, its (68, 2) points in `gray`."""
    p = np.asarray(points, np.float64)
    axis = p[LEFT_CORNER] - p[RIGHT_CORNER]
    d = max(math.hypot(*axis), 1e-6)
    ex = axis / d
    ey = np.array((-ex[1], ex[0]))          # image-down on a level face
    s = 2 * HALF_WIDTH * d / PATCH_W         # image px per patch px
    origin = p[NOSE_BASE] + d * (-HALF_WIDTH * ex + TOP * ey)
    src, x0, y0 = gray, 0, 0
    if s > 1.5:
        # Shrinking: blur the mouth's neighbourhood first so the resampling does not alias.
        corners = np.array([origin, origin + PATCH_W * s * ex, origin + PATCH_H * s * ey,
                            origin + PATCH_W * s * ex + PATCH_H * s * ey])
        (x0, y0), (x1, y1) = np.floor(corners.min(0)) - 2, np.ceil(corners.max(0)) + 2
        x0, y0 = int(max(0, x0)), int(max(0, y0))
        x1, y1 = int(min(gray.shape[1], x1)), int(min(gray.shape[0], y1))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        src = cv2.GaussianBlur(gray[y0:y1, x0:x1], (0, 0), 0.5 * s)
    warp = np.array(((s * ex[0], s * ey[0], origin[0] - x0), (s * ex[1], s * ey[1], origin[1] - y0)))
    return cv2.warpAffine(src, warp, (PATCH_W, PATCH_H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


# Gradient directions in 8x8-pixel cells, blocks of 16x16 (3x3 blocks, 324 numbers): the
# lips' edges and the opening's outline whatever the light and skin.
HOG = cv2.HOGDescriptor((PATCH_W, PATCH_H), (16, 16), (8, 8), (8, 8), 9)
N_HOG = HOG.getDescriptorSize()


def appearance(mouth):
    """HOG of a patch() (NaN for None)."""
    if mouth is None:
        return np.full(N_HOG, np.nan)
    return HOG.compute(mouth).reshape(-1).astype(np.float64)
