"""The One Euro filter, defined once for both sides of the wire: the tracker smooths
the gaze with it (its landmark filter builds on `alpha`), the add-on, for senders
that do not smooth, the weights and head pose (off by default).

Standard library only: the tracker and a Blender without numpy both import it.
OneEuroVector also takes a numpy array (the bake smooths a whole take's
weights a frame at a time that way): the same step, done on every component
at once, gives the same numbers (IEEE double either way). The quaternion
version is core/face_transform.OneEuroQuat.

One Euro (Casiez, Roussel and Vogel, CHI 2012): a low-pass filter whose
cutoff rises with the signal's speed, cutoff = min_cutoff + beta * |speed|,
so a still face is held steady (min_cutoff, Hz) and a fast move is followed
with little lag (beta, per unit of speed). Weights are in 0..1, rotations in
radians, so one (min_cutoff, beta) pair suits both.
"""

import math

try:
    import numpy as np
except ImportError:  # a system-Python Blender may lack numpy (core/arrays.py)
    np = None

# Used when the sender's timestamps do not advance (a replayed or broken
# clock): one 60 fps frame, so the filter still moves.
FALLBACK_DT = 1.0 / 60.0
D_CUTOFF = 1.0  # Hz, for the speed estimate itself (the paper's default)


def alpha(cutoff, dt):
    """Smoothing factor of a first-order low-pass at `cutoff` Hz for a step of dt seconds."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroVector:
    """One Euro over a fixed-length vector, one filter per component."""

    def __init__(self, min_cutoff=1.0, beta=0.5):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.reset()

    def reset(self):
        self.x = None
        self.dx = None
        self.t = None

    def __call__(self, values, t):
        """Filter one sample taken at time t (seconds); a list, or a numpy array in and out."""
        array = np is not None and isinstance(values, np.ndarray)
        if not array:
            values = [float(v) for v in values]
        if self.x is None or len(values) != len(self.x):
            self.x, self.t = (values.astype(np.float64) if array else values), t
            self.dx = self.x * 0.0 if array else [0.0] * len(values)
            return self.x.copy() if array else list(values)
        dt = t - self.t
        if not dt > 0.0:
            dt = FALLBACK_DT
        self.t = t
        a_d = alpha(D_CUTOFF, dt)
        min_cutoff, beta = max(1e-3, self.min_cutoff), max(0.0, self.beta)
        if array:
            # State kept from list samples (live ticks before a bake) becomes arrays.
            x, dx = np.asarray(self.x, dtype=np.float64), np.asarray(self.dx, dtype=np.float64)
            self.x, self.dx = _step(x, dx, values, dt, a_d, min_cutoff, beta)
            return self.x.copy()
        x, dx = self.x, self.dx
        for i, v in enumerate(values):
            x[i], dx[i] = _step(x[i], dx[i], v, dt, a_d, min_cutoff, beta)
        return list(x)


def _step(x, dx, v, dt, a_d, min_cutoff, beta):
    """One One Euro step of value(s) x with speed dx towards v: (new x, new dx); floats or arrays."""
    d = dx + a_d * ((v - x) / dt - dx)
    a = alpha(min_cutoff + beta * abs(d), dt)
    return x + a * (v - x), d
