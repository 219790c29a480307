"""The face's shape with the head's pose taken out: the expression model's input.

The 68 points are mapped onto a mean face (the model's template) by the affine
transform that best fits the points that do not move with expressions: the eye
corners and the nose. Affine rather than a similarity: a head turned or nodded
a little is, to first order, the frontal face squeezed along one axis, and the
affine fit takes that squeeze out as well as position, size and roll. What is
left (lids, brows, lips, jaw moving relative to the eyes and nose) is the
expression, plus what a larger turn does beyond first order, which the model
learns from the head angles it is also given.
"""

import numpy as np

# Eye corners, nose bridge, nose tip and base: they stay put when the face moves.
STABLE = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)


def align(points, template, part=None):
    """(68, 2) points mapped by the least-squares affine fit of their STABLE points
    onto the template's (both (68, 2) arrays). part: template_part(template), for a
    caller that aligns many faces to one template (it is the same for every frame)."""
    points = np.asarray(points, dtype=np.float64)
    dst_mean, d = template_part(template) if part is None else part
    src = points.take(_STABLE_INDEX, axis=0)
    # The sum over the count is what .mean() computes (the same bits), without its
    # Python-level overhead (a third of this function's time).
    src_mean = src.sum(axis=0) / len(STABLE)
    s = src - src_mean
    # Centred, the fit's linear part is (s'A = d) in least squares: a 2x2 system,
    # solved in closed form (np.linalg.lstsq costs ten times more here).
    (a, b), (_, c) = (s.T @ s).tolist()
    det = a * c - b * b
    if abs(det) < 1e-12:
        return points - src_mean + dst_mean
    inverse = np.array([[c, -b], [-b, a]]) / det
    linear = inverse @ (s.T @ d)
    return (points - src_mean) @ linear + dst_mean


_STABLE_INDEX = np.array(STABLE, dtype=np.intp)


def template_part(template):
    """The template's side of the fit: its STABLE points' mean, and those points centred."""
    dst = np.asarray(template, dtype=np.float64).take(_STABLE_INDEX, axis=0)
    dst_mean = dst.sum(axis=0) / len(STABLE)
    return dst_mean, dst - dst_mean
