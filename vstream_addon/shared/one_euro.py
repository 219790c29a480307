"""Optional add-on side smoothing: One Euro filters for the weights and the head rotation.

For senders that do not smooth (vstream's own tracker already does, so this is
off by default). Pure Python: the add-on must not need numpy or the tracker.
OneEuroVector also takes a numpy array (the bake smooths a whole take's
weights a frame at a time that way): the same step, done on every component
at once, gives the same numbers (IEEE double either way).

One Euro (Casiez, Roussel and Vogel, CHI 2012): a low-pass filter whose
cutoff rises with the signal's speed, cutoff = min_cutoff + beta * |speed|,
so a still face is held steady (min_cutoff, Hz) and a fast move is followed
with little lag (beta, per unit of speed). Weights are in 0..1, rotations in
radians, so one (min_cutoff, beta) pair suits both.
"""

import math

from ..core.neutral import normalized as _normalized

try:
    import numpy as np
except ImportError:  # see recorder.py: a system-Python Blender may lack numpy
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


class OneEuroQuat:
    """One Euro on a unit quaternion (w, x, y, z).

    The speed is the angular speed between filtered and new rotation; the
    step towards the new rotation is a normalised lerp on the same
    hemisphere (q and -q are one rotation, and a sender may flip between them).
    """

    def __init__(self, min_cutoff=1.0, beta=0.5):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.reset()

    def reset(self):
        self.q = None
        self.speed = 0.0
        self.t = None

    def __call__(self, q, t):
        q = _normalized(q)
        if self.q is None:
            self.q, self.speed, self.t = q, 0.0, t
            return q
        dt = t - self.t
        if not dt > 0.0:
            dt = FALLBACK_DT
        self.t = t
        (pw, px, py, pz), (w, x, y, z) = self.q, q
        dot = pw * w + px * x + py * y + pz * z
        if dot < 0.0:
            q, dot = (-w, -x, -y, -z), -dot
        angle = 2.0 * math.acos(min(1.0, dot))
        self.speed += alpha(D_CUTOFF, dt) * (angle / dt - self.speed)
        a = alpha(max(1e-3, self.min_cutoff) + max(0.0, self.beta) * self.speed, dt)
        self.q = _normalized(tuple(p + a * (n - p) for p, n in zip(self.q, q)))
        return self.q
