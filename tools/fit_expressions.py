"""Fit the expression model (tracker_service/models/expressions.npz) against the reference.

    .venv/bin/python tools/fit_expressions.py [--parts tuning] [--cv | --validate] [--set l2=1e-3 ...] [--out PATH]

For every clip of the chosen parts of tests/fixtures/expression_split.json, and
for its mirror image, the real tracker runs frame by frame and the expression
stage's inputs are recorded (the smoothed landmarks, the pupils' offsets, the
head angles: what expressions.ExpressionModel sees); the trained reference
(benchmarks/reference.py: MediaPipe FaceLandmarker, run in .venv-ref) gives the
target weights of the same frames. A small network (expressions.inputs -> one
tanh layer -> sigmoid per channel) is fitted to them by Adam on the squared
error with weight decay; several seeds are averaged.

The eye patches and a mouth patch are recorded too: `--set pixels=eyes` (or
`mouth`, `eyes,mouth`) adds their gradient histograms to the inputs (each block
seen through its `components` leading principal components); `pixel_cutoff`,
`pixel_beta`, `pixel_dead_zone` run them through a dead-zone filter first (as the
tracker would: expression_pixels.smooth_pixels, simulated frame by frame in time
order); `pixel_channels` feeds them to some channels only (through `pixel_hidden`
units of their own); `balance` weighs people's frames alike, `jaw_weight`
jawOpen's error. docs/EXPRESSIONS.md says what each measured and which was chosen.
--validate also plays tests/tracker/test_weight_neutral.py's held expressions
through the fitted model (from the cached inputs) and says which would fail.

--cv: instead of writing a model, score the settings by cross-validation over
the chosen clips, grouped by person (a person's clips and their mirror images
are always on the same side), with the measures of benchmarks/agreement.py.
--validate: fit on the tuning part and score on the validation part, as sent
and the model alone. The settings in FIT were first chosen by --cv over the
tuning and validation parts, then (with the people/ clips added) by --validate;
the test part is never used here.

Development only: needs the reference's virtualenv (tools/reference/setup.sh)
and the footage in ../shared/data; the tracker only reads the .npz it writes.
"""

import argparse
import hashlib
import os
import re
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import agreement  # noqa: E402
import reference  # noqa: E402
from expression_pixels import PIXEL_BLOCKS, PixelModel, block_size, pixel_inputs, smooth_pixels  # noqa: E402
import mouth_region  # noqa: E402
from tracker_service import expressions, eye_state, face_shape, filters  # noqa: E402
from tracker_service.pipeline import FaceTracker  # noqa: E402
from vstream_addon.shared.arkit import ARKIT_NAMES  # noqa: E402

CACHE = os.path.join(ROOT, ".cache", "expression_inputs")
# What the model makes: the channels its agreement with the reference is measured on
# (every ARKit channel but the blinks, judged by human labels in blinks.py, and those the
# reference does not make either (tongueOut) or hardly moves).
CHANNELS = agreement.CHANNELS
FIT = {"hidden": 256, "l2": 1e-3, "epochs": 60, "batch": 256, "rate": 2e-3, "seeds": (0, 1, 2), "pixels": "",
       "components": 32, "balance": 0.0, "jaw_weight": 1.0,
       # The pixel inputs' filter (expression_pixels.smooth_pixels; cutoff 0 = none) and the channels
       # they feed ("" = every channel; else comma-separated name prefixes, fed through
       # pixel_hidden units of their own while the other channels see the shape alone).
       "pixel_cutoff": 0.0, "pixel_beta": 0.0, "pixel_dead_zone": 0.0, "pixel_channels": "", "pixel_hidden": 64}
FOLDS = 5


class _Recorder:
    """Stands in for the expression model while a clip is tracked: keeps each frame's inputs until taken."""

    rest_cap = np.zeros(len(ARKIT_NAMES))

    def __init__(self):
        self.rows = []

    def __call__(self, points, gaze, euler_deg):
        self.rows.append((np.array(points, np.float64), tuple(gaze), tuple(euler_deg)))
        return np.zeros(len(ARKIT_NAMES))


# Tracker modules that act only after the expression model's inputs are made (or
# outside the frame loop): editing them leaves the cached inputs valid.
AFTER_THE_INPUTS = {"expressions.py", "calibration.py", "blinks.py", "cli.py", "link.py", "preview.py",
                    "vmc_sender.py", "__main__.py"}


def _tracker_version():
    """A hash of the tracker's code that makes the model's inputs: they depend on it."""
    h = hashlib.sha256()
    folder = os.path.join(ROOT, "tracker_service")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py") and name not in AFTER_THE_INPUTS:
            with open(os.path.join(folder, name), "rb") as f:
                h.update(f.read())
    return h.hexdigest()[:12]


def stage_inputs(path, mirror=False):
    """Per frame of a clip: points (n, 68, 2), gaze (n, 4), head angles (n, 3), face (n,) as the
    tracker gives them to the expression model, and for experiments the eyes' HOG (n, 2,
    eye_state.N_HOG: the blink stage's, FaceTracker.eye_inputs) and the mouth patch (n, h, w)
    with whether it was seen (mouth_seen (n,)); NaN or zeros where no face; cached."""
    name = "%s%s.%s.npz" % (os.path.basename(path), ".mirror" if mirror else "", _tracker_version())
    cached = os.path.join(CACHE, name)
    if os.path.exists(cached):
        with np.load(cached) as d:
            return {k: d[k] for k in d.files}
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    recorder = _Recorder()
    tracker = FaceTracker(int(cap.get(3)), int(cap.get(4)), fps, expressions_model=recorder)
    no_mouth = np.zeros((mouth_region.PATCH_H, mouth_region.PATCH_W), np.uint8)
    points, gaze, angles, face, eyes, mouth, mouth_seen = [], [], [], [], [], [], []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frame = cv2.flip(frame, 1) if mirror else frame
        tracker.process(frame, len(face) / fps)
        if recorder.rows:
            p, g, a = recorder.rows.pop()
            m = mouth_region.patch(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), p)
            points.append(p), gaze.append(g), angles.append(a), face.append(True)
            eyes.append(tracker.eye_inputs[:, :eye_state.N_HOG])
            mouth.append(no_mouth if m is None else m), mouth_seen.append(m is not None)
        else:
            points.append(np.full((68, 2), np.nan)), gaze.append((np.nan,) * 4), angles.append((np.nan,) * 3)
            face.append(False), eyes.append(np.full((2, eye_state.N_HOG), np.nan))
            mouth.append(no_mouth), mouth_seen.append(False)
    data = {"points": np.array(points), "gaze": np.array(gaze), "angles": np.array(angles),
            "face": np.array(face), "fps": np.array(fps), "eyes": np.array(eyes, np.float32),
            "mouth": np.array(mouth), "mouth_seen": np.array(mouth_seen)}
    os.makedirs(CACHE, exist_ok=True)
    np.savez_compressed(cached, **data)
    return data


def person(clip):
    """Who a clip shows, so cross-validation never has one person on both sides."""
    actor = re.search(r"_(W0\d\d|M0\d\d)_", clip)
    if actor:
        return "MEAD " + actor.group(1)
    if "AlexandriaOcasioCortez" in clip or clip == "retalking_face3.mp4":
        return "the same woman"
    return clip


def dataset(clips):
    """One record per clip and mirror: inputs, reference weights and a usable-frame mask."""
    records = []
    for path in clips:
        for mirror in (False, True):
            d = stage_inputs(path, mirror)
            ref, found = reference.weights(path, mirror)
            n = min(len(ref), len(d["face"]))
            if not (d["face"][:n] & found[:n]).any():
                # metrical_duda.mp4: the reference finds no face in any frame (nothing to fit on)
                print("%s%s: no frame where both find a face, left out" % (os.path.basename(path),
                                                                        " (mirrored)" if mirror else ""))
                continue
            use = d["face"][:n] & found[:n]
            records.append({"clip": os.path.basename(path), "mirror": mirror, "person": person(os.path.basename(path)),
                            "points": d["points"][:n], "gaze": d["gaze"][:n], "angles": d["angles"][:n],
                            "use": use, "face": d["face"][:n], "reference": ref[:n], "fps": float(d["fps"]),
                            "pixels": pixel_features(d, np.flatnonzero(d["face"][:n]), n)})
    return records


def pixel_features(d, frames, n):
    """{block: (n, k) float32}: expression_pixels.pixel_inputs of each block on the given frames
    (those with a face; NaN elsewhere), unsmoothed."""
    out = {}
    for block in PIXEL_BLOCKS:
        rows = np.full((n, block_size(block)), np.nan, np.float32)
        for i in frames:
            rows[i] = pixel_inputs((block,), d["eyes"][i], d["mouth"][i] if d["mouth_seen"][i] else None)
        out[block] = rows
    return out


def smoothed_pixels(record, block, smoothing):
    """A record's pixel block on its usable frames, through the filter the tracker would run
    them through (expression_pixels.smooth_pixels, frame by frame in time order,
    restarted wherever the face was lost, as the stage restarts its smoothing)."""
    rows = record["pixels"][block].astype(np.float64)
    if smoothing:
        pixel_filter = filters.DeadZoneFilter(*smoothing)
        rows = rows.copy()
        for i in range(len(rows)):
            if record["face"][i]:
                rows[i] = smooth_pixels(pixel_filter, rows[i], i / record["fps"])
            else:
                pixel_filter.reset()
    return rows[record["use"]]


def fit_template(records, rounds=3):
    """The mean face the shapes are aligned to: the mean of the aligned shapes, refined."""
    shapes = np.concatenate([r["points"][r["use"]] for r in records])
    # Start from the eye corners' frame: 36 at (-1, 0), 45 at (1, 0).
    first = shapes[0]
    template = (first - (first[36] + first[45]) / 2) / (np.linalg.norm(first[45] - first[36]) / 2)
    for _ in range(rounds):
        template = np.mean([face_shape.align(s, template) for s in shapes[::3]], axis=0)
    return template


def matrices(records, template, blocks=(), smoothing=()):
    """(inputs, reference weights) of the records' usable frames: expressions.inputs, then
    the pixel blocks' (expression_pixels.pixel_inputs, in PIXEL_BLOCKS order, through
    the pixel filter of the given (min cutoff, beta, dead zone), if any)."""
    x = np.concatenate([np.hstack([np.array([expressions.inputs(p, g, a, template)
                                             for p, g, a in zip(r["points"][r["use"]], r["gaze"][r["use"]],
                                                                r["angles"][r["use"]])])]
                                  + [smoothed_pixels(r, b, smoothing) for b in PIXEL_BLOCKS if b in blocks])
                        for r in records])
    columns = [ARKIT_NAMES.index(c) for c in CHANNELS]
    y = np.concatenate([r["reference"][r["use"]][:, columns] for r in records])
    return x, y.astype(np.float64)


def pixel_projection(z, blocks, components):
    """(inputs, fitted inputs): identity on the shape, pupils and head angles; each pixel
    block to its first `components` principal components, whitened. Hundreds of gradient
    histograms from 50-odd people are mostly who they are (skin, glasses, lashes): the
    leading components are what varies most across all frames (a mouth opening, a lid
    closing) and keep the network from learning faces by heart."""
    width = expressions.shape_input_width()
    columns = [np.eye(z.shape[1])[:, :width]]
    start = width
    for block in blocks:
        size = block_size(block)
        part = z[::4, start:start + size]
        _, sv, vt = np.linalg.svd(part - part.mean(axis=0), full_matrices=False)
        k = min(components, size)
        basis = np.zeros((z.shape[1], k))
        basis[start:start + size] = vt[:k].T / (sv[:k, None].T / np.sqrt(len(part)))
        columns.append(basis)
        start += size
    return np.hstack(columns)


def pixel_smoothing(settings):
    """The pixel filter's (min cutoff, beta, dead zone), () for none."""
    if settings["pixel_cutoff"] <= 0:
        return ()
    return (settings["pixel_cutoff"], settings["pixel_beta"], settings["pixel_dead_zone"])


def pixel_masks(width, pixel_start, settings):
    """train_net's masks when the pixels feed only some channels: the first `hidden` units see
    the shape, pupils and head angles alone and feed every channel; `pixel_hidden` more see
    the pixel components too and feed only the channels named by settings["pixel_channels"]
    (so the jaw, mouth and brows read as a shape-only model would)."""
    hidden, extra = settings["hidden"], settings["pixel_hidden"]
    inputs_mask = np.ones((width, hidden + extra))
    inputs_mask[pixel_start:, :hidden] = 0.0
    fed = np.array([c.startswith(tuple(settings["pixel_channels"].split(","))) for c in CHANNELS])
    outputs_mask = np.ones((hidden + extra, len(CHANNELS)))
    outputs_mask[hidden:, ~fed] = 0.0
    return inputs_mask, outputs_mask


def train_net(z, y, hidden, l2, epochs, batch, rate, seed, row_weight=None, channel_weight=None, masks=None):
    """One tanh layer and sigmoid outputs, Adam on the mean squared error (each row and
    channel weighted, if given) plus l2 * |W|^2 / 2. masks: (inputs x hidden, hidden x
    outputs) of 0/1, the connections the two weight matrices may have (the rest stay 0)."""
    rng = np.random.default_rng(seed)
    row_weight = np.ones(len(z)) if row_weight is None else row_weight
    channel_weight = np.ones(y.shape[1]) if channel_weight is None else channel_weight
    params = [rng.normal(0.0, 1.0 / np.sqrt(z.shape[1]), (z.shape[1], hidden)), np.zeros(hidden),
              rng.normal(0.0, 1.0 / np.sqrt(hidden), (hidden, y.shape[1])), np.zeros(y.shape[1])]
    if masks is not None:
        params[0] *= masks[0]
        params[2] *= masks[1]
    moment = [np.zeros_like(p) for p in params]
    square = [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(z))
        for start in range(0, len(z), batch):
            rows = order[start:start + batch]
            w1, b1, w2, b2 = params
            h = np.tanh(z[rows] @ w1 + b1)
            out = 1.0 / (1.0 + np.exp(-(h @ w2 + b2)))
            g_out = 2.0 * (out - y[rows]) / len(rows) * out * (1.0 - out) * row_weight[rows, None] * channel_weight
            g_h = (g_out @ w2.T) * (1.0 - h * h)
            grads = [z[rows].T @ g_h + l2 * w1, g_h.sum(0), h.T @ g_out + l2 * w2, g_out.sum(0)]
            if masks is not None:
                grads[0] *= masks[0]
                grads[2] *= masks[1]
            step += 1
            for k, (p, g) in enumerate(zip(params, grads)):
                moment[k] = 0.9 * moment[k] + 0.1 * g
                square[k] = 0.999 * square[k] + 0.001 * g * g
                p -= rate * (moment[k] / (1 - 0.9 ** step)) / (np.sqrt(square[k] / (1 - 0.999 ** step)) + 1e-8)
    return params


def resting_caps(records, share=0.1, quantile=90, floor=0.1):
    """Per channel, how much the reference reads on a resting face: the most the user's
    neutral may take out (pipeline: a held smile must not become the neutral).

    A person's resting face: per clip, the median of the `share` of frames on which
    the reference reads least in all (the clip's calmest frames). The cap is the
    `quantile` over people of that (a few clips are an emotion from start to end),
    at least `floor`, and the same for both sides of the face."""
    relative = [ARKIT_NAMES.index(c) for c in CHANNELS if not c.startswith("eyeLook")]
    resting = {}
    for r in records:
        if r["mirror"]:
            continue
        ref = r["reference"][r["use"]]
        calm = np.argsort(ref[:, relative].sum(axis=1))[:max(3, int(share * len(ref)))]
        resting.setdefault(r["person"], []).append(np.median(ref[calm], axis=0))
    caps = np.maximum(np.percentile([np.mean(v, axis=0) for v in resting.values()], quantile, axis=0), floor)
    for k, name in enumerate(ARKIT_NAMES):
        for a, b in (("Left", "Right"), ("Right", "Left")):
            if name.endswith(a):
                caps[k] = max(caps[k], caps[ARKIT_NAMES.index(name[:-len(a)] + b)])
    return caps


def fit(records, settings=FIT, recalibrate=True):
    """The model's arrays (what expressions.ExpressionModel loads) fitted on `records`.

    recalibrate: also fit each channel's output gain and offset on out-of-fold
    predictions (folds by person, one seed each): weight decay shrinks a network's
    outputs toward the mean (jawOpen, smiles and looks up read about 1.2-1.5 times
    too little on held-out people), and person-linked brows read too much; an affine
    correction per channel undoes that without changing any correlation."""
    template = fit_template(records)
    blocks = tuple(b for b in PIXEL_BLOCKS if b in settings["pixels"].split(","))
    smoothing = pixel_smoothing(settings) if blocks else ()
    x, y = matrices(records, template, blocks, smoothing)
    mean, scale = np.nanmean(x, axis=0), np.nanstd(x, axis=0) + 1e-9
    z = np.nan_to_num((x - mean) / scale)   # as PixelModel.predict: a patch not seen reads as the mean
    into = pixel_projection(z, blocks, settings["components"])
    # Every person's frames may weigh alike whatever their clips' length (balance 1) or as many as they are (0).
    frames = {}
    for r in records:
        frames[r["person"]] = frames.get(r["person"], 0) + int(r["use"].sum())
    rows = np.concatenate([np.full(int(r["use"].sum()), float(frames[r["person"]])) for r in records])
    row_weight = rows ** -settings["balance"]
    row_weight /= row_weight.mean()
    channel_weight = np.array([settings["jaw_weight"] if c == "jawOpen" else 1.0 for c in CHANNELS])
    masks = (pixel_masks(into.shape[1], expressions.shape_input_width(), settings)
             if blocks and settings["pixel_channels"] else None)
    hidden = settings["hidden"] + (settings["pixel_hidden"] if masks is not None else 0)
    nets = [train_net(z @ into, y, hidden, settings["l2"], settings["epochs"],
                      settings["batch"], settings["rate"], seed, row_weight, channel_weight, masks)
            for seed in settings["seeds"]]
    arrays = {"template": template, "input_mean": mean, "input_scale": scale,
              # The projection folded into the first layer: the tracker multiplies once.
              "hidden_w": np.array([into @ n[0] for n in nets]), "hidden_b": np.array([n[1] for n in nets]),
              "out_w": np.array([n[2] for n in nets]), "out_b": np.array([n[3] for n in nets]),
              "channels": np.array(CHANNELS), "rest_cap": resting_caps(records),
              "out_gain": np.ones(len(CHANNELS)), "out_offset": np.zeros(len(CHANNELS)),
              "pixel_blocks": np.array(blocks, dtype=str), "pixel_smoothing": np.array(smoothing, np.float64)}
    if recalibrate:
        arrays["out_gain"], arrays["out_offset"] = output_calibration(records, dict(settings, seeds=(0,)))
    return arrays


GAIN_RANGE = (0.5, 2.5)


def output_calibration(records, settings, folds=FOLDS):
    """Per channel (gain, offset) with reference ~ gain * prediction + offset, least squares
    over every record's out-of-fold predictions (its person left out of the fit)."""
    fold = _folds(records, folds)
    predicted, wanted = [], []
    for k in range(folds):
        train = [r for r in records if fold[r["person"]] != k]
        model = PixelModel(arrays=fit(train, settings, recalibrate=False))
        held = [r for r in records if fold[r["person"]] == k]
        ours, ref = predict_records(model, held)
        predicted.append(ours[:, model.columns])
        wanted.append(ref[:, model.columns])
    p, w = np.concatenate(predicted), np.concatenate(wanted)
    gain, offset = np.ones(p.shape[1]), np.zeros(p.shape[1])
    for c in range(p.shape[1]):
        a, b = np.polyfit(p[:, c], w[:, c], 1)
        gain[c] = np.clip(a, *GAIN_RANGE)
        offset[c] = np.mean(w[:, c] - gain[c] * p[:, c])
    return gain, offset


def _folds(records, folds):
    """{person: fold}: every person's clips (and their mirror images) in one fold."""
    people = sorted({r["person"] for r in records})
    return {p: i % folds for i, p in enumerate(np.random.default_rng(42).permutation(people))}


def predict_records(model, records, shipped=False):
    """(ours, reference) as (frames, 52) arrays over the records' usable frames. shipped:
    ours as the tracker sends them (the model's weights through expressions.Expressions:
    the user's neutral and the smoothing, frame by frame in time order)."""
    ours, ref = [], []
    for r in records:
        x, _ = matrices([r], model.template, model.pixel_blocks, model.pixel_smoothing)
        raw = np.zeros((len(x), len(ARKIT_NAMES)))
        raw[:, model.columns] = model.predict(x)
        if shipped:
            stage = expressions.Expressions(r["fps"], model)
            frames = np.flatnonzero(r["use"])
            raw = np.array([stage.finish(w, i / r["fps"]) for w, i in zip(raw, frames)])
        ours.append(raw)
        ref.append(r["reference"][r["use"]])
    return np.concatenate(ours), np.concatenate(ref)


def cross_validate(records, settings=FIT, folds=FOLDS):
    fold = _folds(records, folds)
    scores = []
    for k in range(folds):
        train = [r for r in records if fold[r["person"]] != k]
        held = [r for r in records if fold[r["person"]] == k and not r["mirror"]]
        model = PixelModel(arrays=fit(train, settings, recalibrate=False))
        for shipped in (False, True):
            s = agreement.measures(*predict_records(model, held, shipped))
            scores.append((shipped, s))
            print("fold %d (%d people), %s: mean |diff| %.4f, false fires %.4f, misses %.4f, median correlation %.3f"
                  % (k, len({r["person"] for r in held}), "as sent" if shipped else "the model alone", s["mad"],
                     s["false_fires"], s["misses"], s["median_corr"]), flush=True)
    for shipped in (False, True):
        print("mean over folds, %s: mean |diff| %.4f, false fires %.4f, misses %.4f, median correlation %.3f" % (
            ("as sent" if shipped else "the model alone",) + tuple(
                np.mean([s[key] for sh, s in scores if sh == shipped])
                for key in ("mad", "false_fires", "misses", "median_corr"))))
    return scores


def held_expressions(model, records):
    """tests/tracker/test_weight_neutral.py's held expressions as the cached inputs give them:
    each clip's usable frames played forwards and backwards for its HELD_SECONDS through the
    stage (the neutral and the smoothing; the pixel filter ran forwards only). Returns
    [(clip, channel, early, late, passes)] as that test judges them."""
    sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "tracker")]
    import test_weight_neutral as held_test
    out = []
    for clip, names in held_test.HELD:
        record = next(r for r in records if r["clip"] == clip and not r["mirror"])
        x, _ = matrices([record], model.template, model.pixel_blocks, model.pixel_smoothing)
        raw = np.zeros((len(x), len(ARKIT_NAMES)))
        raw[:, model.columns] = model.predict(x)
        fps = record["fps"]
        order = np.arange(len(raw))
        while len(order) < held_test.HELD_SECONDS * fps:
            order = np.concatenate([order, order[::-1]])
        order = order[:int(held_test.HELD_SECONDS * fps)]
        stage = expressions.Expressions(fps, model)
        w = np.array([stage.finish(raw[i], k / fps) for k, i in enumerate(order)])
        early, late = slice(int(1.5 * fps), int(4 * fps)), slice(int((held_test.HELD_SECONDS - 5) * fps), None)
        for name in names:
            k = ARKIT_NAMES.index(name)
            first, last = np.median(w[early, k]), np.median(w[late, k])
            out.append((clip, name, first, last, last > held_test.RELAXED_MAX and last >= 0.7 * first))
    return out


def validate(tuning, validation, settings, out=None):
    """Fit on the tuning records (one seed) and score on the validation part's clips (not their
    mirror images): how the settings were chosen once the people/ clips came (2026-12-07).
    out: also write that model there (expression_pixels.PixelModel reads it, to try it further)."""
    arrays = fit(tuning, dict(settings, seeds=(0,)), recalibrate=False)
    if out:
        save(arrays, out)
    model = PixelModel(arrays=arrays)
    jaw = list(CHANNELS).index("jawOpen")
    for shipped in (False, True):
        s = agreement.measures(*predict_records(model, [r for r in validation if not r["mirror"]], shipped))
        print("%s, %s: mean |diff| %.4f, false fires %.4f, misses %.4f, median correlation %.3f, jawOpen %.3f"
              % (settings, "as sent" if shipped else "the model alone", s["mad"], s["false_fires"], s["misses"],
                 s["median_corr"], s["channel_corr"][jaw]), flush=True)
        print("  correlation per channel the reference moves: " + ", ".join(
            "%s %.2f" % (c, s["channel_corr"][k]) for k, c in enumerate(CHANNELS) if s["channel_moves"][k]),
            flush=True)
    for clip, name, first, last, passes in held_expressions(model, tuning):
        print("  held %s %s: %.2f early, %.2f late%s" % (clip, name, first, last, "" if passes else "  FAILS"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parts", default="tuning,validation",
                   help="comma-separated parts of the split to use (never test; default: tuning,validation)")
    p.add_argument("--cv", action="store_true", help="cross-validate the settings instead of writing a model")
    p.add_argument("--validate", action="store_true",
                   help="fit on the tuning part (one seed), score on the validation part and the held expressions; "
                        "writes the model only to --out")
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                   help="override settings of FIT (hidden, l2, epochs, batch, rate, pixels, components, "
                        "pixel_cutoff, pixel_beta, pixel_dead_zone, pixel_channels, pixel_hidden, ...)")
    p.add_argument("--out", help="where to write the model (default: the tracker's; with --validate: nowhere)")
    args = p.parse_args()
    parts = args.parts.split(",")
    if "test" in parts:
        p.error("the test part is for scoring once, never for fitting")
    settings = dict(FIT)
    for item in args.set:
        name, value = item.split("=")
        settings[name] = type(FIT[name])(value)
    split = reference.split()
    if args.validate:
        validate(dataset(split["tuning"]), dataset(split["validation"]), settings, args.out)
        return
    clips = [c for part in parts for c in split[part]]
    records = dataset(clips)
    print("%d clips (and their mirror images), %d people, %d usable frames"
          % (len(clips), len({r["person"] for r in records}), sum(int(r["use"].sum()) for r in records)), flush=True)
    if args.cv:
        cross_validate(records, settings)
        return
    arrays = fit(records, settings)
    arrays["fitted_on"] = np.array(sorted({r["clip"] for r in records}))
    save(arrays, args.out or expressions.MODEL_PATH)


def save(arrays, path):
    # Half precision is ample for the network's weight matrices (outputs move by under 0.002)
    # and halves the file; the template and the input scaling stay single precision.
    np.savez_compressed(path, **{k: (v.astype(np.float16 if k in ("hidden_w", "out_w") else np.float32)
                                     if v.dtype == np.float64 else v) for k, v in arrays.items()})
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)), flush=True)


if __name__ == "__main__":
    main()
