"""Optional add-on side smoothing: One Euro filters for the weights and the head rotation.

For senders that do not smooth (vstream's own tracker already does, so this is
off by default). Pure Python: the add-on must not need numpy or the tracker.

One Euro (Casiez, Roussel and Vogel, CHI 2012): a low-pass filter whose
cutoff rises with the signal's speed, cutoff = min_cutoff + beta * |speed|,
so a still face is held steady (min_cutoff, Hz) and a fast move is followed
with little lag (beta, per unit of speed). Weights are in 0..1, rotations in
radians, so one (min_cutoff, beta) pair suits both.
"""

import math

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
        values = [float(v) for v in values]
        if self.x is None or len(values) != len(self.x):
            self.x, self.dx, self.t = values, [0.0] * len(values), t
            return list(values)
        dt = t - self.t
        if not dt > 0.0:
            dt = FALLBACK_DT
        self.t = t
        a_d = alpha(D_CUTOFF, dt)
        min_cutoff, beta = max(1e-3, self.min_cutoff), max(0.0, self.beta)
        x, dx = self.x, self.dx
        for i, v in enumerate(values):
            d = dx[i] + a_d * ((v - x[i]) / dt - dx[i])
            dx[i] = d
            a = alpha(min_cutoff + beta * abs(d), dt)
            x[i] += a * (v - x[i])
        return list(x)


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
        dot = sum(a * b for a, b in zip(self.q, q))
        if dot < 0.0:
            q, dot = tuple(-c for c in q), -dot
        angle = 2.0 * math.acos(min(1.0, dot))
        self.speed += alpha(D_CUTOFF, dt) * (angle / dt - self.speed)
        a = alpha(max(1e-3, self.min_cutoff) + max(0.0, self.beta) * self.speed, dt)
        self.q = _normalized(tuple(p + a * (n - p) for p, n in zip(self.q, q)))
        return self.q


def _normalized(q):
    n = math.sqrt(sum(c * c for c in q))
    if not math.isfinite(n) or n < 1e-9:
        return (1.0, 0.0, 0.0, 0.0)
    return tuple(float(c) / n for c in q)
