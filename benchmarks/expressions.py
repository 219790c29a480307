"""Expression weights against a trained reference, per clip and pooled per split.

vstream (the whole tracker, as `vstream-tracker` runs it) and the reference
(MediaPipe FaceLandmarker's ARKit blendshapes, benchmarks/reference.py; needs
.venv-ref, made by tools/reference/setup.sh) run on every clip of
tests/fixtures/expression_split.json. The measures are benchmarks/agreement.py's:
mean |difference|, false fires (vstream > 0.4 where the reference < 0.1), misses
(the reference > 0.5 where vstream < 0.2), the median per-channel correlation
over the channels the reference moves; frames where either finds no face are
left out. The expression model was fitted on the tuning and validation parts
(tools/fit_expressions.py); the test part is scored here and nowhere else.

Run: .venv/bin/python benchmarks/expressions.py [--parts tuning,validation,test]
"""

import os

import numpy as np

from common import one_core, table, tracked

import agreement
import reference

from vstream_addon.shared.arkit import ARKIT_NAMES


def run_clip(path, calibrate_at=None):
    """vstream's weights (frames, 52) for every frame of a clip, NaN where it found no face,
    and the clip's frame rate (Calibrate pressed before frame `calibrate_at`, if given)."""
    fps, results = tracked(path, calibrate_at=calibrate_at)
    rows = [[r.weights[n] for n in ARKIT_NAMES] if r.face else [np.nan] * len(ARKIT_NAMES) for r in results]
    return np.array(rows), fps


def clip_pairs(parts):
    """{part: [(clip name, ours, reference), ...]} on the frames both have."""
    out = {}
    for part, clips in reference.split().items():
        if part not in parts:
            continue
        out[part] = []
        for path in clips:
            ours, _ = run_clip(path)
            ref, _ = reference.weights(path)
            n = min(len(ours), len(ref))
            out[part].append((os.path.basename(path), ours[:n], ref[:n]))
    return out


def row(label, m):
    if m is None:   # people/metrical_duda.mp4: the reference finds no face in any frame
        return [label, 0, "-", "-", "-", "-"]
    return [label, m["frames"], "%.3f" % m["mad"], "%.2f%%" % (100 * m["false_fires"]),
            "%.2f%%" % (100 * m["misses"]), "%.2f" % m["median_corr"]]


def main():
    parts = reference.parts_from_args()
    one_core()
    pairs = clip_pairs(parts)
    header = ["clip", "frames", "mean abs difference", "false fires", "misses", "median correlation"]
    pooled = {}
    for part in parts:
        rows = [row(name, agreement.measures(o, r)) for name, o, r in pairs[part]]
        pooled[part] = agreement.measures(np.vstack([o for _, o, _ in pairs[part]]),
                                          np.vstack([r for _, _, r in pairs[part]]))
        rows.append(row("**%s, pooled**" % part, pooled[part]))
        print("### %s part (%d clips)\n" % (part.capitalize(), len(pairs[part])))
        print(table(header, rows))
        print()
    print("### Per channel, pooled per part: correlation / mean abs difference / false fires / misses "
          "(reference's 95th percentile; * = it moves the channel, p95 > 0.2)\n")
    rows = []
    for k, name in enumerate(agreement.CHANNELS):
        cells = [name]
        for part in parts:
            m = pooled[part]
            cells.append("%s%.2f / %.3f / %.1f%% / %.1f%% (%.2f)" % (
                "*" if m["channel_moves"][k] else "", m["channel_corr"][k], m["channel_mad"][k],
                100 * m["channel_fires"][k], 100 * m["channel_misses"][k], m["channel_ref_p95"][k]))
        rows.append(cells)
    print(table(["channel"] + parts, rows))


if __name__ == "__main__":
    main()
