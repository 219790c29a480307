"""One frame in, one tracking result out: landmarks, smoothing, pose, weights."""

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vstream_addon.shared.arkit import ARKIT_NAMES
from vstream_addon.shared.one_euro import OneEuroVector

from . import blinks, expressions, eye_closure, eye_state, pupils, rotation
from .blinks import BlinkDepth
from .filters import DeadZoneFilter
from .head_pose import HeadPose
from .landmarks import LIDS, LandmarkTracker, inter_ocular

# Landmark smoothing (filters.DeadZoneFilter), distances in inter-ocular units. Chosen by
# measurement (docs/BENCHMARKS.md, jitter): dlib's noise on a still face is ~0.5-1% of
# the eye distance per frame, so moves within 2.5% are smoothed at 0.2 Hz and larger
# ones are followed at once.
LANDMARK_MIN_CUTOFF = 0.2
LANDMARK_BETA = 20.0
LANDMARK_DEAD_ZONE = 0.025
# The eyelids (landmarks.LIDS; not the eye corners, which the head pose uses) get half
# of it. Eyes reopen slowly, the lids moving less than 2.5% of the eye distance a frame:
# the dead zone held them still, and eyes read as shut for 1-3 frames after they had
# reopened. Half is still about twice the lids' own noise (0.4-0.7% a frame on the
# jitter stills). Blink F1 on the seven labelled clips: mean 0.78 -> 0.85.
LID_DEAD_ZONE = 0.0125
# Gaze smoothing in half eye widths: the pupil finder jitters by a pixel or two.
GAZE_MIN_CUTOFF = 1.5
GAZE_BETA = 2.0
HOLD_GAZE_ABOVE_BLINK = 0.3  # a closing lid hides the pupil: keep the last gaze
NO_FACE_EASE_SECONDS = 0.3  # weights and head return to neutral with this time constant
REGION_WORTH_IT = 3         # gray of the face region alone when under 1/3 of the frame's width, else of its rows


@dataclass
class Result:
    face: bool
    weights: dict
    quat: tuple
    euler_deg: tuple          # (pitch, yaw, roll)
    position: tuple           # metres from the neutral position, avatar frame
    landmarks: np.ndarray = None       # raw dlib points, source pixels
    smoothed: np.ndarray = None        # the filtered points the weights come from
    detected: bool = False


class FaceTracker:
    def __init__(self, width, height, fps=30.0, expressions_model=None):
        """expressions_model: called with (points, gaze, head angles) per tracked face for
        the non-blink weights; default the learned expressions.ExpressionModel (the
        training script passes a recorder instead)."""
        self.landmarks = LandmarkTracker()
        self.pose = HeadPose(width, height)
        self.eye_neutral = blinks.cue_neutral(fps)
        self.blink_depth = BlinkDepth(fps, blinks.CLOSURE_FULL)
        # The eyes' open/closed classifier; None: the cue stage's weights alone (blinks.weights),
        # which tools/fit_blinks.py uses while it records the classifier's inputs.
        self.eye_state = eye_state.EyeState()
        self.eye_inputs = None   # the last face's eye_state.inputs() rows (tools/fit_blinks.py records them)
        self.expressions = expressions.Expressions(fps, expressions_model)
        dead_zone = np.full(68, LANDMARK_DEAD_ZONE)
        dead_zone[list(LIDS)] = LID_DEAD_ZONE
        self.filter = DeadZoneFilter(LANDMARK_MIN_CUTOFF, LANDMARK_BETA, dead_zone)
        self.gaze_filter = OneEuroVector(GAZE_MIN_CUTOFF, GAZE_BETA)
        self.gaze = None    # last trusted (right h, right v, left h, left v)
        self.neutral_rotation = np.eye(3)
        self.neutral_position = None
        self._calibrate_pose = False
        self.weights = dict.fromkeys(ARKIT_NAMES, 0.0)
        self.rotation = np.eye(3)
        self.position = np.zeros(3)
        self.t = None
        self._gray_buffer = None

    def calibrate(self):
        """Take the coming frames as the neutral face, and the current head pose as straight."""
        self.eye_neutral.calibrate()
        self.expressions.calibrate()
        self.blink_depth.reset()   # its closures were measured against the old neutral
        self._calibrate_pose = True

    def process(self, bgr, t):
        gray, full = (bgr, None) if bgr.ndim == 2 else self._gray(bgr)
        restarts_before = self.landmarks.restarts
        raw = self.landmarks.track(gray, full)
        detected = self.landmarks.restarts != restarts_before
        dt = 0.0 if self.t is None else max(0.0, t - self.t)
        self.t = t
        if raw is None:
            return self._no_face(dt)

        if detected:
            self.filter.reset()  # a fresh detection (or re-anchoring) may be a different place or face
        points = self.filter(raw, t, scale=max(inter_ocular(raw), 1e-6))

        solved = self.pose.solve(points)
        if solved is None:
            return self._no_face(dt)
        r_head, position = solved
        if self._calibrate_pose or self.neutral_position is None:
            if self._calibrate_pose:
                self.neutral_rotation = r_head
            self.neutral_position = position
            self._calibrate_pose = False
        self.rotation = self.neutral_rotation.T @ r_head
        self.position = position - self.neutral_position

        eyes = pupils.gaze_offsets(gray, points)
        light = eye_closure.face_brightness(gray, points)   # the pixel cues relative to it
        cues = np.array([eyes[side]["aspect"] for side in ("right", "left")] + [
            eyes[side][cue] / light for cue in ("contrast", "iris_column") for side in ("right", "left")])
        gaze = self._gaze(eyes, t)
        cue_neutral = self.eye_neutral.update(cues)
        closures = blinks.eye_closures(cues, cue_neutral)
        closed = self.blink_depth.update((closures["r"] + closures["l"]) / 2.0)
        eye_patches = eye_state.patches([eyes["right"]["crop"], eyes["left"]["crop"]])
        self.eye_inputs = np.array([eye_state.inputs(eye_patches[k], eye_state.geometry(
            cues[k], cue_neutral[k], closures[side], closed)) for k, side in enumerate(("r", "l"))])
        # The head's angles to the camera (not to the calibrated rest pose): they say
        # how the camera sees the face's shape.
        weights = self.expressions(points, gaze, rotation.to_euler_deg(r_head), t)
        self.weights = dict(zip(ARKIT_NAMES, weights.tolist()))
        if self.eye_state is None:
            self.weights.update(blinks.weights(closures, closed))
        else:
            self.weights.update(eye_state.weights(self.eye_state.logits(self.eye_inputs),
                                                  self.eye_inputs[:, eye_state.RELATIVE_ASPECT]))
        return self._result(True, raw, points, detected)

    def _gray(self, bgr):
        """(gray, full) for landmarks.track: while a face is followed only the rows
        around it are converted (or, when it is narrow in the frame, only the region
        around it); full() converts the rest when the tracker needs the whole frame.
        One buffer for all frames: outside the converted part it holds older pixels
        that nothing reads."""
        h, w = bgr.shape[:2]
        if self._gray_buffer is None or self._gray_buffer.shape != (h, w):
            self._gray_buffer = np.empty((h, w), np.uint8)
        buffer = self._gray_buffer
        done = []

        def full():
            if not done:
                cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY, dst=buffer)
                done.append(True)
            return buffer
        roi = self.landmarks.region(buffer.shape)
        if roi is None or (roi[1] == 0 and roi[3] == h):
            return full(), None
        x0, y0, x1, y1 = roi
        # A region is converted row by row, about 2.6 times slower per pixel than
        # whole rows (one contiguous block, at the full-frame speed per pixel):
        # only worth it when it is under a third of the frame's width. (At 640x480
        # a webcam face's rows are ~0.8 of the frame and its region ~0.45 of it,
        # which used to mean converting the whole frame.)
        if (x1 - x0) * REGION_WORTH_IT < w:
            cv2.cvtColor(bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY, dst=buffer[y0:y1, x0:x1])
        else:
            cv2.cvtColor(bgr[y0:y1], cv2.COLOR_BGR2GRAY, dst=buffer[y0:y1])
        return buffer, full

    def _gaze(self, found, t):
        """Pupil offsets (from pupils.gaze_offsets); while an eye is closing or its pupil
        is not found, its last gaze holds, so a blink never reads as looking down."""
        gaze = list(self.gaze) if self.gaze is not None else [0.0, 0.0, 0.0, 0.0]
        for i, (side, Side) in enumerate((("right", "Right"), ("left", "Left"))):
            eye = found[side]
            closing = self.weights["eyeBlink" + Side] > HOLD_GAZE_ABOVE_BLINK
            if eye["confidence"] > 0 and not (closing and self.gaze is not None):
                gaze[2 * i:2 * i + 2] = eye["horizontal"], eye["vertical"]
        self.gaze = self.gaze_filter(gaze, t)
        return tuple(self.gaze)

    def _no_face(self, dt):
        keep = math.exp(-dt / NO_FACE_EASE_SECONDS)
        self.weights = {k: v * keep for k, v in self.weights.items()}
        self.rotation = _slerp_to_identity(self.rotation, 1.0 - keep)
        self.position = self.position * keep
        self.filter.reset()
        self.expressions.reset()
        self.gaze_filter.reset()
        self.gaze = None
        self.pose.reset()
        return self._result(False, None, None, False)

    def _result(self, face, raw, smoothed, detected):
        return Result(face=face, weights=dict(self.weights), quat=rotation.to_quat(self.rotation),
                      euler_deg=rotation.to_euler_deg(self.rotation),
                      position=tuple(self.position.tolist()),
                      landmarks=raw, smoothed=smoothed, detected=detected)


def _slerp_to_identity(r, amount):
    """Rotate `r` toward identity by `amount` (0..1) of its angle."""
    rvec = cv2.Rodrigues(r)[0] * (1.0 - amount)
    return cv2.Rodrigues(rvec)[0]
