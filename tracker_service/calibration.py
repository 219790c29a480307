"""Neutral-face calibration: a running estimate of the user's resting face.

Two are kept: of the eye cues the blink stage reads (blinks.cue_neutral) and of
the expression weights (WeightNeutral: a resting face reads some weight on many
channels: brows set high, a mouth that rests a little pressed or smiling; those
are the user's neutral and must read 0).
Automatic: each value's neutral is a percentile of the last HISTORY_SECONDS of
tracked frames, leaning on a prior over the first frames where there is one.
Explicit: calibrate() replaces the history with the next CAPTURE_SECONDS of
frames, so "calibrate now" takes effect at once and automatic adaptation goes
on from there; what the user calibrated is their neutral, whatever it reads
(the weights' population caps bound only the automatic neutral).
"""

import numpy as np

from vstream_addon.shared.neutral_rule import MAX_NEUTRAL, rescale

HISTORY_SECONDS = 20.0
CAPTURE_SECONDS = 0.5
MIN_SAMPLES = 5
UPDATE_EVERY = 5  # frames between percentile updates (a partial sort of the whole history)

# The weights' neutral: a low percentile, because every expression moves a weight up
# from rest, and with one second of "0" as its prior so the first frames of a session
# are not taken as the neutral.
WEIGHT_REST_PERCENTILE = 20
WEIGHT_PRIOR_SECONDS = 1.0
# The first frames of a session read a little off: the landmarks settle as the tracked box
# converges from the detector's (on a still photo with camera noise, eyeSquint read 0.37
# for 20 frames, then 0.42 for good). Kept in the history, those frames sat at its 20th
# percentile and the neutral crept up for 5 s after (weight SD 0.018). So the weight
# neutral drops them from its history once, WEIGHT_SETTLE_SECONDS in.
WEIGHT_SETTLE_SECONDS = 1.0
REST_ALLOWANCE = 0.1
# Brows and lids rest where a face's build puts them: some rest far above the caps
# (brows low behind glasses, high-set brows). Their neutral settles on what the face
# reads while the rest of it is at rest (every other channel below LOWER_FACE_AT_REST;
# the WEIGHT_REST_PERCENTILE of those frames, without the allowance: the resting face
# reads 0), once such frames make up SETTLE_SHARE of the history and last SETTLE_SECONDS:
# a reading that stays put while nothing else moves is a resting face. A held smile,
# frown or surprise moves the mouth, nose or cheeks too (MEAD's held emotions: the
# lower face at rest on 12-61% of frames; resting talkers 77-100%), so it never settles.
LOWER_FACE_AT_REST = 0.3
SETTLE_SHARE = 0.75
SETTLE_SECONDS = 5.0


class NeutralEstimator:
    """Running neutral of a vector of values: per value a percentile of the recent
    history, leaning on a prior (NaN: none) over the first frames."""

    def __init__(self, fps, percentiles, prior, prior_seconds):
        """prior_seconds: the user's own share grows linearly and is all that counts
        after this long (no slow drift of the neutral after the start)."""
        self.capacity = max(MIN_SAMPLES, int(HISTORY_SECONDS * fps))
        self.capture_frames = max(MIN_SAMPLES, int(CAPTURE_SECONDS * fps))
        self.prior = np.asarray(prior, float)
        # One row per value, one column per frame (_percentiles: each value's samples contiguous).
        self.history = np.zeros((len(self.prior), self.capacity))
        self.count = 0
        self.next = 0
        self.percentiles = np.asarray(percentiles, float)
        self.prior_weight = np.asarray(prior_seconds, float) * fps
        self.neutral = None
        self.calibrated = None       # the last explicit calibration's neutral (median of its frames)
        self.capturing = 0           # frames left to capture for an explicit calibration
        self._since_update = 0
        self.explicit_calibrations = 0

    def calibrate(self):
        """Start an explicit calibration: the next frames are the neutral face."""
        self.capturing = self.capture_frames
        self.count = 0
        self.next = 0

    def forget(self):
        """Drop the history so far from the percentiles (the prior's ramp goes on counting it).
        Not what the user asked to be their neutral: an explicit calibration is kept."""
        if self.capturing or self.explicit_calibrations:
            return
        self.history[:, :self.count] = np.nan

    def update(self, values):
        """Feed one tracked frame's values; return the current neutral."""
        self.history[:, self.next] = values
        self.next = (self.next + 1) % self.capacity
        self.count = min(self.count + 1, self.capacity)
        if self.capturing:
            self.capturing -= 1
            if self.capturing == 0:
                self.explicit_calibrations += 1
                self.calibrated = _percentiles(self.history[:, :self.count], np.full(len(self.prior), 50.0))
                self.neutral = self.calibrated
            return self.neutral if self.neutral is not None else values
        self._since_update += 1
        if self.neutral is None or self._since_update >= UPDATE_EVERY or self.count < MIN_SAMPLES:
            self._since_update = 0
            own = _percentiles(self.history[:, :self.count], self.percentiles)
            # The prior stands in for a user not seen yet: once they have calibrated, it has no say.
            a = 1.0 if self.explicit_calibrations else np.minimum(1.0, self.count / np.maximum(self.prior_weight, 1.0))
            self.neutral = np.where(np.isnan(self.prior), own, a * own + (1.0 - a) * self.prior)
        return self.neutral


class WeightNeutral:
    """Expression weights read from the user's resting face: w' = (w - n) / (1 - n), with
    n the running neutral of each channel (vstream_addon.shared.neutral_rule.rescale, the add-on's
    rule for senders that do not calibrate), at most `caps`: how much a resting face
    reads on that channel in the reference's data (the model file's rest_cap), so a
    smile held for long never becomes the neutral; on the settling columns (brows, lids)
    at least what a face that stays put reads at rest. After an explicit calibration the
    neutral is what the user calibrated (the caps and the allowance no longer apply
    to it): Calibrate is how a user whose resting face reads more than the caps says so."""

    def __init__(self, fps, columns, caps, settling=()):
        """settling: the columns (brows, lids) whose automatic neutral is at least the face's
        settled rest, once it has one (LOWER_FACE_AT_REST, SETTLE_SHARE, SETTLE_SECONDS)."""
        self.columns = np.asarray(columns)
        self.caps = np.asarray(caps, float)[self.columns]
        n = len(self.columns)
        self.estimator = NeutralEstimator(fps, np.full(n, WEIGHT_REST_PERCENTILE), np.zeros(n),
                                          np.full(n, WEIGHT_PRIOR_SECONDS))
        self.settling = np.flatnonzero(np.isin(self.columns, settling))
        self.lower_face = np.delete(self.columns, self.settling)
        # The settling columns' last HISTORY_SECONDS of frames, NaN where the rest of the face was
        # not at rest: a column per frame, written at the estimator's slot for that frame, so the
        # estimator's ring (its write index and count) is this one's too.
        self.resting = np.full((len(self.settling), self.estimator.capacity), np.nan)
        self.at_rest = 0              # columns of `resting` that are not NaN
        self.has_settled = False
        self.settled = np.zeros(n)    # each column's settled rest, 0 where it has none
        self.settle_after = SETTLE_SECONDS * fps
        # A rest takes seconds to settle: looking again once a second is enough (a percentile
        # of the history costs 0.1-0.3 ms here; every frame it would double the stage's neutral).
        self.settle_every = max(1, int(round(fps)))
        self.settle_frames = int(round(WEIGHT_SETTLE_SECONDS * fps))
        self.frames = 0

    def calibrate(self):
        self.estimator.calibrate()

    def __call__(self, weights):
        """A copy of one frame's weights (array) with `columns` read from the neutral."""
        out = np.array(weights, dtype=np.float64)
        values = out[self.columns]
        self.frames += 1
        if self.frames == self.settle_frames:
            self.estimator.forget()
            self.resting[:] = np.nan
            self.at_rest = 0
        slot = self.estimator.next
        neutral = self.estimator.update(values)
        calibrated = self.estimator.calibrated
        if calibrated is None:
            rest = np.maximum(np.clip(neutral - REST_ALLOWANCE, 0.0, self.caps), self.settled)
        else:
            # The user said "this is my resting face": it reads 0, even where it reads more
            # than most people's (brows that rest low behind glasses read browDown 0.4-0.55).
            # The automatic neutral goes on adapting from there, up to that or the cap.
            rest = np.clip(neutral, 0.0, np.maximum(self.caps, calibrated))
        out[self.columns] = rescale(values, rest)
        self._rest_of_face(slot, values, out[self.lower_face].max() < LOWER_FACE_AT_REST)
        return out

    def _rest_of_face(self, slot, values, at_rest):
        """Keep the settling columns' values of a frame (if the rest of the face is at rest)
        at the estimator's `slot` for it, and update what they have settled on: on the first
        frame the face has rested long enough, then every settle_every frames. (Looking only
        once a second, a resting frame or two missing when the second came round delayed the
        settling by a whole second.) From an explicit calibration on, what the user calibrated
        stands for the settled rest (__call__), so the settled rest stays as it was."""
        if self.estimator.capturing or self.estimator.calibrated is not None:
            return
        self.at_rest += bool(at_rest) - (not np.isnan(self.resting[0, slot]))
        self.resting[:, slot] = values[self.settling] if at_rest else np.nan
        count = self.estimator.count
        ready = self.at_rest >= self.settle_after and self.at_rest >= SETTLE_SHARE * count
        if self.frames % self.settle_every and not (ready and not self.has_settled):
            return
        self.has_settled = ready
        self.settled[:] = 0.0
        if ready:
            history = self.resting[:, :count]
            resting = history[:, ~np.isnan(history[0])]
            level = _percentiles(resting, np.full(resting.shape[0], WEIGHT_REST_PERCENTILE))
            self.settled[self.settling] = np.minimum(level, MAX_NEUTRAL)


def _percentiles(history, percentiles):
    """Per row (a value's samples), the given percentile of the non-NaN samples (NaN if
    there are none). Nearest rank, and one partial sort: np.nanpercentile costs several
    times more. np.partition puts every requested rank where a full sort would (NaN
    last, as np.sort) and costs about half as much (1.2 -> 0.7 ms for 20 s of history at
    30 fps, once every UPDATE_EVERY frames). Rows, not columns: partitioning and counting
    along contiguous memory took 30% and 60% less time than along the columns of the
    same history (the same numbers: each is an element of the history)."""
    valid = np.count_nonzero(~np.isnan(history), axis=1)
    ranks = np.rint(percentiles / 100.0 * np.maximum(valid - 1, 0)).astype(int)
    ranked = np.partition(history, np.unique(ranks), axis=1)
    own = ranked[np.arange(ranked.shape[0]), ranks]
    own[valid == 0] = np.nan
    return own
