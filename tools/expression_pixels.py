"""Pixel inputs for the expression model's experiments (tools/fit_expressions.py): the tracker reads none.

The shipped model reads the face's shape, the pupils and the head angles only
(tracker_service/expressions.py). The fit tool may add pixel blocks beside them
(`--set pixels=eyes`, `mouth`, `eyes,mouth`) to try whether they help; none has
passed the tracker's no-regression checks yet (docs/EXPRESSIONS.md), so this code
lives here, where the fit records and scores them, not in the tracker a user runs.
A block that ships one day moves back with the model that reads it.
"""

import numpy as np

from tracker_service import eye_state, expressions

import mouth_region

# "eyes": both eye patches' HOG (eye_state.appearance: the blink stage's own, one row of
# FaceTracker.eye_inputs per eye); "mouth": the mouth patch's HOG (mouth_region).
PIXEL_BLOCKS = ("eyes", "mouth")


def pixel_inputs(blocks, eye_hog, mouth_patch):
    """The pixel inputs of the given blocks: eye_hog (2, eye_state.N_HOG) as the tracker made
    it (NaN for an eye too small to see), the mouth patch (None: not seen, NaN)."""
    parts = []
    if "eyes" in blocks:
        parts.append(np.asarray(eye_hog, np.float64).reshape(-1))
    if "mouth" in blocks:
        parts.append(mouth_region.appearance(mouth_patch))
    return np.concatenate(parts) if parts else np.zeros(0)


def block_size(block):
    return len(pixel_inputs((block,), np.full((2, eye_state.N_HOG), np.nan), None))


def smooth_pixels(pixel_filter, pixels, t):
    """The pixel inputs through a filters.DeadZoneFilter, one row per eye_state.N_HOG values (an
    eye's HOG moves as one): a patch's gradient histograms follow the camera's noise where the
    smoothed landmarks do not. An eye not seen (NaN) restarts it."""
    if np.isnan(pixels).any():
        pixel_filter.reset()
        return pixels
    return pixel_filter(pixels.reshape(-1, eye_state.N_HOG), t).reshape(-1)


class PixelModel(expressions.ExpressionModel):
    """An expression model that may read pixel blocks beside the tracker's inputs (its file's
    "pixel_blocks", and "pixel_smoothing": the filter's (min cutoff, beta, dead zone)), as the
    fit tool scores it; the tracker refuses such a file (its input width)."""

    def __init__(self, path=expressions.MODEL_PATH, arrays=None):
        if arrays is None:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        self.pixel_blocks = tuple(str(b) for b in arrays.get("pixel_blocks", ()))
        self.pixel_smoothing = tuple(float(v) for v in arrays.get("pixel_smoothing", ()))
        super().__init__(arrays=arrays)

    def input_width(self):
        return super().input_width() + sum(block_size(b) for b in self.pixel_blocks)

    def predict(self, x):
        """As ExpressionModel.predict; a pixel input not seen (NaN) reads as its mean."""
        x = np.asarray(x, np.float64)
        return super().predict(np.where(np.isnan(x), self.mean, x))
