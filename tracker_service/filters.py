"""One Euro filter (Casiez, Roussel and Vogel, CHI 2012), vectorised with numpy.

The cutoff rises with speed: strong smoothing at rest, little lag on fast moves.
Parameters are in the units of the signal they filter, per second.
"""

import math

import numpy as np


def _alpha(cutoff, dt):
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    def __init__(self, min_cutoff=1.0, beta=0.0, d_cutoff=1.0):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.x = None
        self.dx = None
        self.t = None

    def reset(self):
        self.x = self.dx = self.t = None

    def __call__(self, x, t, scale=1.0):
        """Filter sample `x` at time `t` (seconds). `scale` is the signal's unit
        (e.g. the face size in pixels): speeds are measured in it, so the same
        parameters work for a near and a far face."""
        x = np.asarray(x, dtype=np.float64)
        return np.array(self.filter_values(x.ravel().tolist(), t, scale)).reshape(x.shape)

    def filter_values(self, values, t, scale=1.0):
        """__call__ on a list of floats, returning a new list (the same numbers)."""
        # Element by element on Python floats: the samples are a few numbers, where
        # numpy's per-call overhead would cost more than the arithmetic.
        if self.x is None:
            self.x, self.dx, self.t = list(values), [0.0] * len(values), t
            return list(self.x)
        dt = t - self.t
        if dt <= 0:
            return list(self.x)
        self.t = t
        a_d = _alpha(self.d_cutoff, dt)
        new_x, new_dx = [], []
        for xi, pi, dpi in zip(values, self.x, self.dx):
            dxi = dpi + a_d * ((xi - pi) / dt - dpi)
            a = _alpha(self.min_cutoff + self.beta * abs(dxi) / scale, dt)
            new_dx.append(dxi)
            new_x.append(pi + a * (xi - pi))
        self.x, self.dx = new_x, new_dx
        return list(new_x)


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
    """

    def __init__(self, min_cutoff, beta, dead_zone):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.dead_zone = dead_zone
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
        a = _alpha(cutoff, dt)
        self.x = self.x + a * step
        return self.x.copy()
