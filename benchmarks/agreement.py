"""How far vstream's expression weights agree with the trained reference: the measures.

One definition for benchmarks/expressions.py, the training script and the tests.
On frames where both found a face, over CHANNELS (every ARKit channel but the
blinks, which human labels judge, and those the reference cannot make either):
- mean |difference| per channel and frame;
- false fires: vstream > 0.4 where the reference < 0.1, share of channel-frames;
- misses: the reference > 0.5 where vstream < 0.2, share of channel-frames;
- correlation per channel (Pearson; 0 where vstream does not move) and its median
  over the channels the reference moves (its 95th percentile above 0.2).
"""

import numpy as np

from vstream_addon.shared.arkit import ARKIT_NAMES

LEFT_OUT = ("eyeBlinkLeft", "eyeBlinkRight", "cheekPuff", "tongueOut", "jawForward")
CHANNELS = tuple(n for n in ARKIT_NAMES if n not in LEFT_OUT)
COLUMNS = np.array([ARKIT_NAMES.index(n) for n in CHANNELS])
FIRE_ABOVE, QUIET_BELOW = 0.4, 0.1
MISS_REFERENCE_ABOVE, MISS_BELOW = 0.5, 0.2
MOVES_P95 = 0.2


def correlation(a, b):
    """Pearson correlation of two columns; 0 where either is constant."""
    a, b = a - a.mean(), b - b.mean()
    d = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / d) if d > 1e-12 else 0.0


def measures(ours, ref):
    """Agreement of `ours` with `ref`, both (frames, 52) in ARKit order on the same frames
    (rows with a NaN in either are left out). Returns a dict of the pooled measures and
    per-channel arrays (in CHANNELS order)."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    keep = ~(np.isnan(ours).any(axis=1) | np.isnan(ref).any(axis=1))
    o, r = ours[keep][:, COLUMNS], ref[keep][:, COLUMNS]
    n = len(o)
    if n == 0:
        return None
    fires = (o > FIRE_ABOVE) & (r < QUIET_BELOW)
    misses = (o < MISS_BELOW) & (r > MISS_REFERENCE_ABOVE)
    corr = np.array([correlation(o[:, k], r[:, k]) for k in range(len(CHANNELS))])
    moves = np.percentile(r, 95, axis=0) > MOVES_P95
    return {
        "frames": n,
        "mad": float(np.abs(o - r).mean()),
        "false_fires": float(fires.mean()),
        "misses": float(misses.mean()),
        "median_corr": float(np.median(corr[moves])) if moves.any() else float("nan"),
        "moving": int(moves.sum()),
        "channel_mad": np.abs(o - r).mean(axis=0),
        "channel_fires": fires.mean(axis=0),
        "channel_misses": misses.mean(axis=0),
        "channel_corr": corr,
        "channel_moves": moves,
        "channel_ref_p95": np.percentile(r, 95, axis=0),
    }
