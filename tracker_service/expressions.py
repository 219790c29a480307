"""ARKit weights from the face's pose-compensated shape: a learned mapping.

A small neural network (one hidden layer, tanh; an average of a few trained
with different seeds) maps the shape of the face (face_shape.align: the 68
smoothed points with the head's pose taken out, relative to the model's mean
face), the pupils' offsets in the eyes and the head angles to the ARKit
channels. It was fitted against a trained reference (MediaPipe FaceLandmarker's
blendshapes) on real footage by tools/fit_expressions.py; the coefficients are
tracker_service/models/expressions.npz. docs/EXPRESSIONS.md says what it was
fitted on and how well each channel agrees.

Channels the model does not make stay 0: eyeBlink (the blink stage, blinks.py,
judged against human labels) and the channels 68 points cannot see
(EXPRESSIONS.md).
"""

import os

import numpy as np

from vstream_addon.shared.arkit import ARKIT_NAMES, INDEX

from .calibration import WeightNeutral
from .face_shape import align, template_part
from .filters import DeadZoneFilter

MODEL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "expressions.npz")
POSE_SCALE_DEG = 30.0   # head angles enter the model in units of 30 degrees
# Weights are read relative to the user's neutral (calibration.WeightNeutral), all but
# the gaze (where the eyes look is not an expression; the reference reads it against
# the camera) and the blinks (their own stage, blinks.py).
RELATIVE_COLUMNS = [i for i, n in enumerate(ARKIT_NAMES) if not n.startswith(("eyeLook", "eyeBlink"))]
# Where a face rests is partly its build: the brows and lids may settle above the population's
# rest caps (calibration.WeightNeutral).
SETTLING_COLUMNS = [i for i, n in enumerate(ARKIT_NAMES) if n.startswith(("brow", "eyeSquint", "eyeWide"))]
# Weight smoothing (filters.DeadZoneFilter, one row per channel, weights in 0..1).
WEIGHT_MIN_CUTOFF = 1.0
WEIGHT_BETA = 5.0
WEIGHT_DEAD_ZONE = 0.03


def inputs(points, gaze, euler_deg, template, template_part=None):
    """The model's input vector: the aligned shape's offsets from the template (136),
    the pupils' offsets (right h, v, left h, v) and the head's (pitch, yaw, roll) / 30 deg.
    template_part: face_shape.template_part(template), computed once by the caller."""
    shape = align(points, template, template_part) - template
    return np.concatenate([shape.reshape(-1), np.asarray(gaze, np.float64),
                           np.asarray(euler_deg, np.float64) / POSE_SCALE_DEG])


def shape_input_width():
    """How many inputs inputs() makes (the tracker's inputs for any model)."""
    return len(inputs(np.zeros((68, 2)), (0,) * 4, (0,) * 3, np.zeros((68, 2))))


class ExpressionModel:
    """One frame's inputs in, {ARKit name: 0..1} out."""

    def __init__(self, path=MODEL_PATH, arrays=None):
        """The model in the file at `path`, or in `arrays` (what tools/fit_expressions.fit returns)."""
        if arrays is None:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        arrays = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in arrays.items()}
        self.template = arrays["template"]
        self.template_part = template_part(self.template)   # align()'s, the same for every frame
        self.mean, self.scale = arrays["input_mean"], arrays["input_scale"]
        self.hidden_w, self.hidden_b = arrays["hidden_w"], arrays["hidden_b"]   # (nets, in, h), (nets, h)
        self.out_w, self.out_b = arrays["out_w"], arrays["out_b"]               # (nets, h, out), (nets, out)
        self.channels = [str(c) for c in arrays["channels"]]
        self.rest_cap = arrays["rest_cap"]   # (52,): calibration.WeightNeutral
        # Per channel, undoes the fit's shrinkage toward the mean (tools/fit_expressions.py).
        self.gain, self.offset = arrays["out_gain"], arrays["out_offset"]
        self.columns = np.array([INDEX[c] for c in self.channels])
        width = self.input_width()
        if width != len(self.mean):
            # (tools/fit_expressions.py's experiments may add pixel inputs the tracker does not make.)
            raise ValueError("the expression model reads %d inputs, the tracker makes %d "
                             "(refit it: tools/fit_expressions.py)" % (len(self.mean), width))
        # What predict() computes with, in float32: the weights are stored in float16, so float64
        # arithmetic adds nothing but time. The nets' hidden layers side by side, (in, nets * h),
        # make one matrix-vector product a frame instead of one per net; the output biases
        # shaped to broadcast over the rows once, not on every frame.
        nets, width, hidden = self.hidden_w.shape
        self._mean, self._scale = self.mean.astype(np.float32), self.scale.astype(np.float32)
        self._hidden_w = np.ascontiguousarray(self.hidden_w.transpose(1, 0, 2).reshape(width, nets * hidden),
                                              dtype=np.float32)
        self._hidden_b = self.hidden_b.reshape(-1).astype(np.float32)
        # The output layer halved, for the sigmoid as 0.5 + 0.5 tanh(o / 2) (one ufunc instead of
        # four passes); the nets' mean, the 0.5s, the gain and the offset folded into one a y + b.
        self._out_w = (0.5 * self.out_w).astype(np.float32)
        self._out_b = (0.5 * self.out_b[:, None, :]).astype(np.float32)
        self._gain = (0.5 / nets * self.gain).astype(np.float32)
        self._offset = (0.5 * self.gain + self.offset).astype(np.float32)

    def input_width(self):
        """How many inputs the tracker makes for the model."""
        return shape_input_width()

    def predict(self, x):
        """Weights in self.channels order: (out,) for one input vector, (m, out) for m rows."""
        x = np.asarray(x, np.float32)
        z = (x.reshape(1, -1) if x.ndim == 1 else x) - self._mean
        z /= self._scale
        h = np.tanh(z @ self._hidden_w + self._hidden_b)       # (m, nets * hidden)
        nets, hidden = self._out_w.shape[:2]
        h = h.reshape(len(z), nets, hidden).transpose(1, 0, 2)  # (nets, m, hidden)
        o = np.tanh(h @ self._out_w + self._out_b)             # (nets, m, out), 2 sigmoid - 1
        y = o.sum(axis=0, dtype=np.float64)
        y *= self._gain
        y += self._offset
        y = np.minimum(np.maximum(y, 0.0, out=y), 1.0, out=y)   # np.clip's Python layer costs more
        return y[0] if x.ndim == 1 else y

    def __call__(self, points, gaze, euler_deg):
        """The 52 weights (ARKit order) of one face; channels the model does not make are 0."""
        x = inputs(points, gaze, euler_deg, self.template, self.template_part)
        values = np.zeros(len(ARKIT_NAMES))
        values[self.columns] = self.predict(x)
        return values


class Expressions:
    """The expression stage: the model's weights, read from the user's neutral and smoothed."""

    def __init__(self, fps, model=None):
        self.model = model or ExpressionModel()
        self.neutral = WeightNeutral(fps, RELATIVE_COLUMNS, self.model.rest_cap, SETTLING_COLUMNS)
        self.filter = DeadZoneFilter(WEIGHT_MIN_CUTOFF, WEIGHT_BETA, WEIGHT_DEAD_ZONE)

    def calibrate(self):
        self.neutral.calibrate()

    def reset(self):
        """No face: the next one starts the smoothing afresh (the neutral is kept)."""
        self.filter.reset()

    def __call__(self, points, gaze, euler_deg, t):
        """The 52 weights (ARKit order) of one tracked face at time t (ExpressionModel's arguments)."""
        return self.finish(self.model(points, gaze, euler_deg), t)

    def finish(self, raw, t):
        """What the stage makes of the model's raw weights at time t."""
        return self.filter(self.neutral(raw)[:, None], t)[:, 0]
