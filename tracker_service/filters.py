"""Landmark smoothing: a One Euro variant (Casiez, Roussel and Vogel, CHI 2012).

The plain One Euro filter (cutoff rising with speed: strong smoothing at rest,
little lag on fast moves) is the add-on's, vstream_addon/smoothing.py, which the
tracker also uses for the gaze: one definition for both sides of the wire.
"""

import numpy as np

from vstream_addon.shared.one_euro import alpha


class LandmarkFilter:
    """One Euro variant for landmark sets, driven by each point's innovation.

    Plain One Euro raises its cutoff with the filtered speed, and camera noise
    alone makes dlib's points "move" at a speed close to that of slow real
    motion, so it cannot both hold a still face steady and follow a sudden
    mouth opening (benchmarks: at best 0.46% of the eye distance jitter for a
    2-frame step). Here the speed term is each point's distance from its
    filtered position beyond a dead zone the size of the noise: inside it the
    cutoff stays at `min_cutoff`; a real move leaves the dead zone at once and
    is followed within a frame. Distances are in units of `scale` (the
    inter-ocular distance), so the parameters hold at any face size.
    dead_zone: one value for every point, or one per point.
    """

    def __init__(self, min_cutoff, beta, dead_zone):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.dead_zone = np.reshape(np.asarray(dead_zone, dtype=np.float64), (-1, 1))   # a column, as innovation
        self.x = None
        self.t = None

    def reset(self):
        self.x = self.t = None

    def __call__(self, points, t, scale):
        points = np.asarray(points, dtype=np.float64)
        if self.x is None:
            self.x, self.t = points.copy(), t
            return self.x.copy()
        dt = t - self.t
        if dt <= 0:
            return self.x.copy()
        self.t = t
        step = points - self.x
        squared = step * step
        innovation = np.sqrt(squared[:, :1] + squared[:, 1:]) / scale   # per point, as a column
        cutoff = self.min_cutoff + self.beta * np.maximum(0.0, innovation - self.dead_zone) / dt
        a = alpha(cutoff, dt)
        self.x = self.x + a * step
        return self.x.copy()
