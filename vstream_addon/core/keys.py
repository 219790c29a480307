"""Reduce keys: drop keys that linear interpolation between the kept ones reproduces.

numpy only (Blender bundles it from 2.8 on; nothing is installed at run time),
so it is tested without Blender.

The tolerance is in the curve's own unit: a shape-key value (0..1, so 0.01 is
1% of a full shape) or a quaternion component. Every original sample stays
within the tolerance of the reduced curve, measured at the sample's frame; the
first and last keys are always kept.
"""

import numpy as np

# Rounds stop earlier when nothing more can go; this only bounds pathological input.
_MAX_ROUNDS = 200


def reduce_keys(frames, values, tolerance):
    """Indices (ascending numpy int array) of the keys to keep.

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
