"""Where a take's keys go: each recorded frame onto a scene frame (`plan_keys`), and
Reduce Keys (`reduce_keys`), which drops the keys linear interpolation between the
kept ones reproduces.
"""

import math

from . import arrays

# Rounds stop earlier when nothing more can go; this only bounds pathological input.
_MAX_ROUNDS = 200


class KeyPlan:
    """Where each kept sample goes: `keys` is [(scene frame offset, sample index)]."""

    def __init__(self, keys, merged):
        self.keys = keys
        self.merged = merged

    @property
    def offsets(self):
        return [f for f, _ in self.keys]

    @property
    def samples(self):
        return [i for _, i in self.keys]


def _round_half_up(x):
    # round() rounds halves to even, which would make 0.5 and 1.5 collide less
    # predictably; frames are easier to reason about with half-up.
    return int(math.floor(x + 0.5))


def plan_keys(times, fps, t0=None):
    """Map capture times (seconds) to scene-frame offsets from t0 (default: the earliest).

    Each sample goes to round((t - t0) * fps). When that frame is already
    keyed, the sample moves to the next free frame if that is within one
    frame of its true time; otherwise it replaces the value on the latest
    keyed frame (newest wins) and counts as merged. Keys therefore stay in
    time order and never sit more than one frame from their true time.
    """
    if fps <= 0:
        raise ValueError("fps must be positive, got %r" % fps)
    if not len(times):
        return KeyPlan([], 0)
    np = arrays.np
    if np is not None:
        t = np.asarray(times, dtype=np.float64)
        order = np.argsort(t, kind="stable")
        if t0 is None:
            t0 = float(t[order[0]])
        # The usual case, no two samples on one frame, in one go (a 10-minute
        # take is 36,000 samples); the same double arithmetic as the loop below.
        frames = np.floor((t[order] - t0) * fps + 0.5)
        if len(frames) < 2 or bool(np.all(np.diff(frames) > 0)):
            return KeyPlan(list(zip(frames.astype(np.int64).tolist(), order.tolist())), 0)
        times = t.tolist()
    order = sorted(range(len(times)), key=lambda i: times[i])
    if t0 is None:
        t0 = times[order[0]]
    keys = []
    merged = 0
    for i in order:
        exact = (times[i] - t0) * fps
        frame = _round_half_up(exact)
        if not keys or frame > keys[-1][0]:
            keys.append([frame, i])
            continue
        candidate = keys[-1][0] + 1
        if candidate - exact <= 1.0 + 1e-9:
            keys.append([candidate, i])
        else:
            keys[-1][1] = i
            merged += 1
    return KeyPlan([tuple(k) for k in keys], merged)


def reduce_keys(frames, values, tolerance):
    """Indices (ascending numpy int array) of the keys to keep; needs numpy.

    The tolerance is in the curve's own unit: a shape-key value (0..1, so 0.01
    is 1% of a full shape), a quaternion component or a location. Every
    original sample stays within the tolerance of the reduced curve, measured
    at the sample's frame; the first and last keys are always kept.

    `frames` must be strictly increasing. Works in rounds over the whole curve
    at once instead of key by key (a 10-minute take is 36,000 keys a curve):
    each round proposes every other interior kept key for removal, so no two
    proposals are neighbours and each can be judged alone, and removes the
    ones whose neighbours' straight line still passes within `tolerance` of
    every original sample between them (samples dropped in earlier rounds
    included). Rounds alternate which half is proposed and end when two in a
    row remove nothing. Greedy, so not the fewest possible keys, but never
    outside the tolerance.
    """
    np = arrays.np
    x = np.asarray(frames, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    n = len(x)
    if len(y) != n:
        raise ValueError("frames and values differ in length")
    if n <= 2 or not tolerance > 0.0:
        return np.arange(n)
    kept = np.arange(n)
    idle_rounds = 0
    parity = 1
    for _ in range(_MAX_ROUNDS):
        if len(kept) <= 2 or idle_rounds >= 2:
            break
        interior = np.arange(1, len(kept) - 1)
        proposed = interior[(interior % 2) == parity]
        parity ^= 1
        if len(proposed) == 0:
            idle_rounds += 1
            continue
        trial = np.delete(kept, proposed)
        # Error of the trial curve at every original sample.
        err = np.abs(np.interp(x, x[trial], y[trial]) - y)
        # Trial segments tile the curve; each proposal sits alone in one of
        # them (its neighbours' span). reduceat gives each segment's worst
        # error over [start, next start), which leaves out only the segment's
        # end key, an exact key with zero error.
        seg_worst = np.maximum.reduceat(err, trial[:-1])
        worst = seg_worst[np.searchsorted(trial, kept[proposed]) - 1]
        ok = worst <= tolerance
        if not ok.any():
            idle_rounds += 1
            continue
        idle_rounds = 0
        kept = np.delete(kept, proposed[ok])
    return kept
