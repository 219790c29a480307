"""What happens to a face frame before it is posed: the add-on's neutral comes out, then
optional One Euro smoothing. Live apply and the bake share it.

Live apply puts each frame through `FaceTransform.values`; the Record/Import
bake puts a whole take through `FaceTransform.take_values`: the same stages, in
capture-time order, with the smoothing continued from where live stood when
Record was pressed, so a take holds the poses live apply showed.
"""

import copy
import math

from . import arrays, neutral, quaternions
from ..shared.one_euro import D_CUTOFF, FALLBACK_DT, OneEuroVector, alpha


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
        q = quaternions.normalized(q)
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
        self.q = quaternions.normalized(tuple(p + a * (n - p) for p, n in zip(self.q, q)))
        return self.q


class Filters:
    """One Euro state for weights, head rotation and head position."""

    def __init__(self):
        self.weights = OneEuroVector()
        self.quat = OneEuroQuat()
        self.position = OneEuroVector()

    def reset(self):
        for filt in (self.weights, self.quat, self.position):
            filt.reset()

    def copy(self):
        """An independent copy: Record keeps one so the bake resumes where live stood."""
        return copy.deepcopy(self)


class FaceTransform:
    """The live options as plain values: what happens to a face frame before it is posed.

    Live apply builds one per tick from scene.vstream.live; Record keeps the
    one in effect when it was pressed, and the bake runs every recorded frame
    through it as live apply did. The head options (neck, Move Head) travel
    with it for core/rig.py.
    """

    __slots__ = ("neutral", "q0", "has_q0", "p0", "smooth", "min_cutoff", "beta", "move", "location_scale",
                 "neck_bone", "neck_split")

    def __init__(self, neutral_weights=None, q0=quaternions.IDENTITY, p0=(0.0, 0.0, 0.0), smooth=False,
                 min_cutoff=1.0, beta=0.5, move=False, location_scale=1.0, neck_bone="", neck_split=0.0):
        self.neutral = list(neutral_weights) if neutral_weights else None
        self.q0 = tuple(float(c) for c in q0)
        # Identity (or unset) neutral rotation: skip the product, values stay bit for bit.
        self.has_q0 = abs(self.q0[0]) < 1.0 - 1e-9 or any(self.q0[1:])
        self.p0 = tuple(float(c) for c in p0)
        self.smooth = bool(smooth)
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.move = bool(move)
        self.location_scale = float(location_scale)
        self.neck_bone = neck_bone or ""
        self.neck_split = float(neck_split)

    @classmethod
    def from_options(cls, options, neutral_weights=None):
        """From the live options' values (scene.vstream.live; None: frames pass unchanged), the neutral already parsed."""
        if options is None:
            return cls()
        return cls(neutral_weights, tuple(options.neutral_rotation), tuple(options.neutral_position),
                   options.smooth, options.smooth_min_cutoff, options.smooth_beta, options.head_location,
                   options.location_scale, getattr(options, "neck_bone", ""), options.neck_split)

    def key(self):
        """Every value as one tuple, to tell whether the options changed."""
        return tuple(getattr(self, name) if name != "neutral" else tuple(self.neutral or ())
                     for name in self.__slots__)

    @property
    def changes_weights(self):
        """False when `values` hands the weights back untouched (no neutral, no smoothing)."""
        return bool(self.neutral) or self.smooth

    @property
    def changes_frames(self):
        """False when every frame is posed as it came (nothing to take out, nothing to smooth)."""
        return self.changes_weights or self.has_q0 or self.move

    def values(self, frame, filters):
        """(weights, quat, position) live apply poses for `frame`; advances `filters` when smoothing.

        The neutral comes out first (weights rescaled, rotation and position
        measured from the neutral pose), then smoothing, in the sender's time.
        """
        return self.smoothed(self.weights_from_neutral(frame.weights), *self.head_from_neutral(frame),
                             frame.t, filters)

    # The stages of `values`, apart so the bake can run the stateless one on a whole take at once.

    def weights_from_neutral(self, weights):
        """One frame's weights, or (numpy) a take's frames x channels matrix, measured from the neutral."""
        return neutral.rescale(weights, self.neutral) if self.neutral else weights

    def head_from_neutral(self, frame):
        """(rotation, position) of a frame measured from the neutral pose."""
        quat = neutral.relative_rotation(frame.quat, self.q0) if self.has_q0 else frame.quat
        position = neutral.relative_position(frame.position, self.p0) if self.move else frame.position
        return quat, position

    def smoothed(self, weights, quat, position, t, filters):
        """One Euro on every value when Smooth is on (position only when it moves the head)."""
        if not self.smooth:
            return weights, quat, position
        for filt in (filters.weights, filters.quat, filters.position):
            filt.min_cutoff, filt.beta = self.min_cutoff, self.beta
        weights = filters.weights(weights, t)
        quat = filters.quat(quat, t)
        if self.move:
            position = filters.position(position, t)
        return weights, quat, position

    def take_values(self, faces, samples, filters, matrix=None, need_weights=True):
        """(weights or None, head rotations, positions) of the frames faces[i] for i in `samples`, as live posed them.

        The same stages as `values`, frame by frame in capture-time order
        (the order the keys are placed in), so smoothing sees the sequence
        live did; `filters` is copied, not advanced. Without smoothing nothing
        carries over between frames and only the sampled ones are computed.
        With numpy the neutral stage runs on the whole (frames x 52) `matrix`
        of the faces' weights at once and the weights are smoothed as one array
        a frame. Weights come back as None when the transform leaves them
        untouched (the bake then reads the recorded matrix directly) or nothing
        needs them (no face mesh), else as a numpy array or a list of rows.
        """
        if not self.changes_frames:
            kept = [faces[i] for i in samples]
            return None, [f.quat for f in kept], [f.position for f in kept]
        filters = filters.copy()
        if self.smooth:
            todo = sorted(range(len(faces)), key=lambda i: faces[i].t)  # stable, as keys.plan_keys
        else:
            todo = samples
        np = arrays.np
        use_np = np is not None and matrix is not None
        if not need_weights:
            weights = {i: () for i in todo}  # an empty vector: smoothing has nothing to do
        elif use_np:
            weights = self.weights_from_neutral(matrix)
        else:
            weights = {i: self.weights_from_neutral(faces[i].weights) for i in todo}
        posed = {}
        for i in todo:
            f = faces[i]
            posed[i] = self.smoothed(weights[i], *self.head_from_neutral(f), f.t, filters)
        picked = [posed[i] for i in samples]
        rows = None
        if self.changes_weights and need_weights:
            rows = np.array([p[0] for p in picked], dtype=np.float64) if use_np else [p[0] for p in picked]
        return rows, [p[1] for p in picked], [p[2] for p in picked]
