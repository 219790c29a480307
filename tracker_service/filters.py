"""Smoothing that holds still values still and follows real moves at once.

A One Euro variant (Casiez, Roussel and Vogel, CHI 2012) for the landmarks and
for the expression weights. The plain One Euro filter (cutoff rising with
speed: strong smoothing at rest, little lag on fast moves) is the add-on's,
vstream_addon/shared/one_euro.py, which the tracker also uses for the gaze: one
definition for both sides of the wire.
"""

import numpy as np

from vstream_addon.shared.one_euro import alpha


class DeadZoneFilter:
    """One Euro variant for a set of values, driven by each one's innovation.

    Plain One Euro raises its cutoff with the filtered speed, and camera noise
    alone makes dlib's points "move" at a speed close to that of slow real
    motion, so it cannot both hold a still face steady and follow a sudden
    mouth opening (benchmarks: at best 0.46% of the eye distance jitter for a
    2-frame step). Here the speed term is each value's distance from its
    filtered position beyond a dead zone the size of the noise: inside it the
    cutoff stays at `min_cutoff`; a real move leaves the dead zone at once and
    is followed within a frame.

    Values are the rows of an (n, d) array: points (d = 2; the distance is
    Euclidean) or channels (d = 1). Distances are in units of `scale` (for the
    landmarks the inter-ocular distance, so the parameters hold at any face
    size). dead_zone: one value for every row, or one per row.

    Right after a (re)start the filter has nothing to average yet, and at the
    slow cutoff it took a second or two to forget its first, noisy sample (on a
    still face the weights drifted by up to 0.08 over the first 5 s). So it
    averages at least as fast as a running mean of its samples would: the n-th
    sample since the start gets a weight of at least 1/n.
    """

    def __init__(self, min_cutoff, beta, dead_zone):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.dead_zone = np.reshape(np.asarray(dead_zone, dtype=np.float64), (-1, 1))   # a column, as innovation
        self.x = None
        self.t = None
        self.samples = 0

    def reset(self):
        self.x = self.t = None
        self.samples = 0

    def __call__(self, values, t, scale=1.0):
        values = np.asarray(values, dtype=np.float64)
        if self.x is None:
            self.x, self.t, self.samples = values.copy(), t, 1
            return self.x.copy()
        dt = t - self.t
        if dt <= 0:
            return self.x.copy()
        self.t = t
        self.samples += 1
        step = values - self.x
        squared = step * step
        # Per row, as a column. One value a row (the weights) is its own sum; two (the points)
        # are added as two columns, the same bits as .sum() at less cost per frame.
        if step.shape[1] == 1:
            distance = squared
        elif step.shape[1] == 2:
            distance = squared[:, :1] + squared[:, 1:2]
        else:
            distance = squared.sum(axis=1, keepdims=True)
        innovation = np.sqrt(distance)
        if scale != 1.0:   # (x / 1.0 is x: the weights skip a pass)
            innovation /= scale
        cutoff = self.min_cutoff + self.beta * np.maximum(0.0, innovation - self.dead_zone) / dt
        a = np.maximum(alpha(cutoff, dt), 1.0 / self.samples)
        self.x = self.x + a * step
        return self.x.copy()
