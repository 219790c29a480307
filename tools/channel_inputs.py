"""Which of the expression model's inputs each channel leans on: a table for docs/EXPRESSIONS.md.

    .venv/bin/python tools/channel_inputs.py [--part validation] [--model PATH]

For every usable frame of the chosen part (the tracked inputs and the reference,
cached by tools/fit_expressions.py), the gradient of each channel's output with
respect to the model's standardized inputs (the network is small: the gradient is
exact, by hand); an input group's share is its mean gradient norm over the
frames, as a share of all groups'. Groups: the 68 points by face part, the
pupils' offsets, the head angles, and the pixel blocks the model reads, if any
(a fit tool experiment's: the eye patches' HOG, the mouth patch's). Every channel gets every input; this says
which ones move it. Development only (needs the footage and the reference cache).
"""

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import fit_expressions  # noqa: E402
import reference  # noqa: E402
from common import table  # noqa: E402
from expression_pixels import PixelModel, block_size  # noqa: E402
from tracker_service import expressions  # noqa: E402

# The 68 points (iBUG order) by face part; each point is two inputs (x, y), then 4 pupil and 3 head inputs.
POINT_GROUPS = (("jaw line", range(0, 17)), ("brows", range(17, 27)), ("nose", range(27, 36)),
                ("eyes and lids", range(36, 48)), ("outer lips", range(48, 60)), ("inner lips", range(60, 68)))


def groups(model):
    out = [(name, [2 * p + k for p in points for k in (0, 1)]) for name, points in POINT_GROUPS]
    out += [("pupils", list(range(136, 140))), ("head angles", list(range(140, 143)))]
    start = 143
    for block in model.pixel_blocks:
        size = block_size(block)
        out.append((block + " (pixels)", list(range(start, start + size))))
        start += size
    return out


def gradient_norms(model, x):
    """(frames, channels, inputs): |d output / d standardized input|, averaged over the nets."""
    z = np.nan_to_num((x - model.mean) / model.scale)
    total = 0.0
    for w1, b1, w2, b2 in zip(model.hidden_w, model.hidden_b, model.out_w, model.out_b):
        h = np.tanh(z @ w1 + b1)                                  # (m, hidden)
        y = 1.0 / (1.0 + np.exp(-(h @ w2 + b2)))                  # (m, out)
        # dy/dz = y(1-y) * sum_h w2[h, c] (1 - h^2) w1[i, h]
        total = total + np.einsum("mh,ih,hc->mci", 1 - h * h, w1, w2, optimize=True) * (y * (1 - y))[:, :, None]
    return np.abs(total / len(model.hidden_w) * model.gain[None, :, None])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", default="validation")
    p.add_argument("--model", default=expressions.MODEL_PATH, help="the model file (default: the shipped one)")
    args = p.parse_args()
    model = PixelModel(args.model)
    records = [r for r in fit_expressions.dataset(reference.split()[args.part]) if not r["mirror"]]
    x, _ = fit_expressions.matrices(records, model.template, model.pixel_blocks, model.pixel_smoothing)
    share = np.zeros((len(model.channels), len(groups(model))))
    for start in range(0, len(x), 200):
        g = gradient_norms(model, x[start:start + 200])
        for k, (_, cols) in enumerate(groups(model)):
            share[:, k] += np.sqrt((g[:, :, cols] ** 2).sum(axis=2)).sum(axis=0)
    share /= share.sum(axis=1, keepdims=True)
    names = [name for name, _ in groups(model)]
    rows = [[c] + ["**%.0f%%**" % (100 * s) if s == row.max() else "%.0f%%" % (100 * s) for s in row]
            for c, row in zip(model.channels, share)]
    print(table(["channel"] + names, rows))


if __name__ == "__main__":
    main()
