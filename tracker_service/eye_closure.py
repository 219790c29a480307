"""How closed an eye looks, from its shape and from its pixels.

dlib's lid points alone cannot tell a blink on a small webcam eye: on a 15-pixel
eye the points close only 30-50% in a blink, as much as when the user looks
down at a laptop or squints. The pixels can: an open eye shows a dark iris
between bright sclera, so the eye has contrast and one column of it is much
darker than the rest; a closed lid is even skin. So three cues, each divided
by the user's neutral (calibration.py) and averaged (blinks.py):

- aspect: lid gap over eye width (the eye aspect ratio of Soukupova and Cech);
- contrast: standard deviation of the pixels inside the lid outline;
- iris column: the range of the column means over a band through the eye
  centre, a fixed box relative to the eye corners so a closing lid does not
  shrink it.

None is a threshold on intensity: skin tone and the light cancel in the ratio
to the user's own neutral. The two pixel cues are also divided by the face's
mean brightness (face_brightness), because the light changes during a session:
a lamp switched off or the webcam's exposure catching up scales every pixel,
and measured against a neutral from brighter frames the dimmer eyes read as
shut until the neutral caught up: with the light halved, the avatar's eyes
stayed shut for 10 s. The face's mean moves with the light but hardly with
the eyes, which are a small part of it.
"""

import cv2

# Band through the eye centre, in crop pixels of pupils.CROP_W x CROP_H (where the
# corners are pupils.EYE_SPAN apart): about one eye width wide and a third of it tall.
BAND_ROWS = slice(6, 18)
BAND_COLS = slice(8, 40)


def face_brightness(gray, points):
    """Mean gray level inside the bounds of a face's (68, 2) landmarks (at least 1)."""
    h, w = gray.shape[:2]
    (x0, y0), (x1, y1) = points.min(axis=0).tolist(), points.max(axis=0).tolist()   # plain floats: cheaper
    x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(w, int(x1) + 1), min(h, int(y1) + 1)
    if x1 <= x0 or y1 <= y0:
        return 1.0
    return max(1.0, cv2.mean(gray[y0:y1, x0:x1])[0])


def appearance(crop, lid_mask):
    """(contrast, iris column) of one eye crop (uint8); lid_mask: crop-sized uint8,
    nonzero inside the lids."""
    # OpenCV's masked standard deviation: one call (numpy's masked std takes five,
    # each costing more than the arithmetic on these ~250 pixels).
    contrast = cv2.meanStdDev(crop, mask=lid_mask)[1].item() if cv2.countNonZero(lid_mask) > 1 else float("nan")
    # Column sums of whole pixels are exact in float64, so this equals the column means' range.
    sums = cv2.reduce(crop[BAND_ROWS, BAND_COLS], 0, cv2.REDUCE_SUM, dtype=cv2.CV_64F)
    low, high, _, _ = cv2.minMaxLoc(sums)
    rows = BAND_ROWS.stop - BAND_ROWS.start
    return contrast, high / rows - low / rows
