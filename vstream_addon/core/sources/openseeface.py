"""OpenSeeFace (the webcam tracker behind VSeeFace): UDP, port 11573.

One datagram per frame with one 1785-byte record per tracked face, little-endian,
as facetracker.py packs it (`struct.pack` calls in its main loop):

    f64      time              the sender's clock, seconds
    i32      face id
    2 f32    width, height     of the camera image
    f32      right eye open    0 (shut) .. 1 (open), the subject's own right
    f32      left eye open
    u8       success           1 when the 3D fit (and so the pose) is valid
    f32      PnP error
    4 f32    quaternion        x, y, z, w (see below)
    3 f32    Euler angles      degrees, cv2.RQDecomp3x3 of the same rotation
    3 f32    translation
    68 f32   landmark confidences
    68 x 2 f32  landmarks      (row, column) pixels
    70 x 3 f32  3D points      in the head's frame as (x, -y, -z) of OpenSeeFace's
                               face model (+x the subject's right, +y up, +z out of
                               the face); 66/67 the right/left pupil, 68/69 the
                               right/left eyeball centre
    14 f32   features          eye_l, eye_r, eyebrow_steepness_l, eyebrow_updown_l,
                               eyebrow_quirk_l, eyebrow_steepness_r, eyebrow_updown_r,
                               eyebrow_quirk_r, mouth_corner_updown_l,
                               mouth_corner_inout_l, mouth_corner_updown_r,
                               mouth_corner_inout_r, mouth_open, mouth_wide

With several faces the one with the smallest id is used. Refused, by reason:
`size` (not a positive multiple of 1785 bytes) and `non-finite` (a NaN or
infinity in a field used: time, eye openness, quaternion, 3D eye points,
features).

**Head.** OpenSeeFace fits its face model with cv2.solvePnP on (row, column)
landmarks, so its camera frame is (image down, image right, away from the
camera), and sends the quaternion of the transposed rotation matrix (its
matrix_to_quaternion reads the matrix the other way round; checked against
cv2.Rodrigues). Looking straight at the camera the model sits turned by
REST (model +y up to image up, +x the subject's right to image left, +z out of
the face toward the camera). The head's turn is R @ REST^-1 in that camera
frame, converted to the avatar frame with shared/frames.py (OSF_CAMERA).
Checked on AFLW2000 photos with measured head pose: yaw within 10 degrees of
the truth over -71..+36, pitch the right way wherever it exceeds 15 degrees
(tests/test_source_openseeface.py).

**Weights** (the 14 features are OpenSeeFace's own: roughly -1..1 around a
running median of the user's face, 0 at rest; c(x) clamps to 0..1; l/r are the
subject's own left and right, as in ARKit):

    eyeBlinkLeft/Right          c(1 - left/right eye open)
    eyeWideLeft/Right           c(eye_l / eye_r)             (lids wider than at rest)
    browOuterUpLeft/Right       c(eyebrow_updown_l / _r)
    browDownLeft/Right          c(-eyebrow_updown_l / _r)
    browInnerUp                 c((eyebrow_updown_l + eyebrow_updown_r) / 2)
    mouthSmileLeft/Right        c(-mouth_corner_updown_l / _r)   (corner up)
    mouthFrownLeft/Right        c(mouth_corner_updown_l / _r)    (corner down)
    mouthStretchLeft/Right      c(mouth_corner_inout_l / _r)     (corner outward)
    jawOpen                     c(mouth_open)
    mouthPucker                 c(-mouth_wide)                   (mouth narrower than at rest)

The brows' steepness and quirk have no ARKit channel and are not used; every
other channel is 0. The signs were checked against vstream's own tracker on
six clips: mouth_corner_updown against mouthSmile - mouthFrown correlates
-0.37 to -0.76, mouth_open against jawOpen 0.57 to 0.81. With model 0 its
eye-open values seldom drop (it saw neither of webcam_cap12's two labelled
blinks): model 0 is its fastest and stiffest.

**Eyes.** Each eye's rotation turns straight ahead onto the direction from its
eyeball centre to its pupil (3D points 68 -> 66, 69 -> 67), in the head's frame.
"""

import math
import struct

from ..quaternions import mul as quat_mul, normalized as quat_normalized
from ...shared.arkit import INDEX, NUM_CHANNELS
from ...shared import frames
from .base import REJECT_NONFINITE, REJECT_SIZE, SourceDecoder, clamp01

NAME = "OpenSeeFace"
DEFAULT_PORT = 11573

_RECORD = struct.Struct("<di2f2fBf4f3f3f68f136f210f14f")
RECORD_SIZE = _RECORD.size
assert RECORD_SIZE == 1785, RECORD_SIZE

FEATURES = ("eye_l", "eye_r", "eyebrow_steepness_l", "eyebrow_updown_l", "eyebrow_quirk_l",
            "eyebrow_steepness_r", "eyebrow_updown_r", "eyebrow_quirk_r",
            "mouth_corner_updown_l", "mouth_corner_inout_l", "mouth_corner_updown_r",
            "mouth_corner_inout_r", "mouth_open", "mouth_wide")

# Field positions in an unpacked record.
_TIME, _ID, _RIGHT_OPEN, _LEFT_OPEN, _SUCCESS = 0, 1, 4, 5, 6
_QUAT = slice(8, 12)
_POINTS3D = 8 + 4 + 3 + 3 + 68 + 136
_FEATURES = slice(_POINTS3D + 210, _POINTS3D + 224)

# OpenSeeFace's fit is the depth-inverted one (its translation has z < 0: the model
# sits mirrored behind the camera, which projects like a hollow face in front of
# it). A hollow face turned one way looks like the real face turned the other way
# about the image axes (the hollow-mask illusion), the same way about the depth
# axis: the real turn is the fitted one conjugated by a flip of depth. Then:
# avatar +X (subject's left) is image right (camera axis 1), avatar +Y (behind the
# head) is away from the camera (axis 2, flipped back), avatar +Z (up) is image up
# (minus axis 0). avatar = OSF_CAMERA @ camera.
OSF_CAMERA = frames.check_frame(((0, 1, 0), (0, 0, -1), (-1, 0, 0)))
# The fitted rotation when the face looks straight at the camera: model +y (up) to
# axis 0, +x (the subject's right) to axis 1, +z (out of the face) to -axis 2 (the
# mean over a frontal clip is within 0.1 of it). A half turn about (1, 1, 0) / sqrt(2).
REST = (0.0, math.sqrt(0.5), math.sqrt(0.5), 0.0)
# avatar = OSF_POINTS @ point for the 3D points: (x, -y, -z) of a model with +x the
# subject's right, +y up, +z out of the face.
OSF_POINTS = frames.check_frame(((-1, 0, 0), (0, 0, 1), (0, -1, 0)))
_FORWARD = (0.0, -1.0, 0.0)  # avatar frame: the face looks along -Y


_REST_INVERSE = (REST[0], -REST[1], -REST[2], -REST[3])


def head_turn(packet_quat):
    """Avatar-frame head rotation from the (x, y, z, w) OpenSeeFace sends."""
    x, y, z, w = packet_quat
    r = quat_normalized((w, -x, -y, -z))  # the rotation the solvePnP matrix makes
    q = quat_normalized(frames.quat_to_avatar(OSF_CAMERA, quat_mul(r, _REST_INVERSE)))
    # q and -q are the same turn; w >= 0 as vstream's tracker sends it, so smoothing never flips.
    return q if q[0] >= 0.0 else (-q[0], -q[1], -q[2], -q[3])


def gaze_turn(pupil, centre):
    """Rotation taking straight ahead onto the eyeball-centre -> pupil direction, or None."""
    d = frames.vector_to_avatar(OSF_POINTS, tuple(p - c for p, c in zip(pupil, centre)))
    n = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    if n < 1e-9:
        return None  # OpenSeeFace zeroes points it could not place
    d = (d[0] / n, d[1] / n, d[2] / n)
    f = _FORWARD
    dot = f[0] * d[0] + f[1] * d[1] + f[2] * d[2]
    if dot < -0.999999:
        return None  # looking straight backwards: no eye does that
    # Shortest arc: (1 + f.d, f x d), normalised.
    return quat_normalized((1.0 + dot, f[1] * d[2] - f[2] * d[1], f[2] * d[0] - f[0] * d[2],
                            f[0] * d[1] - f[1] * d[0]))


def _feature_table():
    """(ARKit index, feature index, sign) of each channel read from one feature (the docstring's table)."""
    rows = [("jawOpen", "mouth_open", 1.0), ("mouthPucker", "mouth_wide", -1.0)]
    for side, s in (("Left", "l"), ("Right", "r")):
        rows += [("eyeWide" + side, "eye_" + s, 1.0),
                 ("browOuterUp" + side, "eyebrow_updown_" + s, 1.0),
                 ("browDown" + side, "eyebrow_updown_" + s, -1.0),
                 ("mouthSmile" + side, "mouth_corner_updown_" + s, -1.0),
                 ("mouthFrown" + side, "mouth_corner_updown_" + s, 1.0),
                 ("mouthStretch" + side, "mouth_corner_inout_" + s, 1.0)]
    return tuple((INDEX[channel], FEATURES.index(feature), sign) for channel, feature, sign in rows)


# Built once: a datagram only looks its features up.
_FROM_FEATURE = _feature_table()
_BLINK_LEFT, _BLINK_RIGHT, _BROW_INNER_UP = INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"], INDEX["browInnerUp"]
_BROW_L, _BROW_R = FEATURES.index("eyebrow_updown_l"), FEATURES.index("eyebrow_updown_r")


def weights(left_open, right_open, features):
    """The 52 ARKit weights (wire order) OpenSeeFace's values express; the table in the docstring."""
    out = [0.0] * NUM_CHANNELS
    for channel, feature, sign in _FROM_FEATURE:
        out[channel] = clamp01(sign * features[feature])
    out[_BLINK_LEFT] = clamp01(1.0 - left_open)
    out[_BLINK_RIGHT] = clamp01(1.0 - right_open)
    out[_BROW_INNER_UP] = clamp01((features[_BROW_L] + features[_BROW_R]) / 2.0)
    return tuple(out)


class Decoder(SourceDecoder):
    def _parse(self, data):
        if not data or len(data) % RECORD_SIZE:
            return REJECT_SIZE, None
        records = [_RECORD.unpack_from(data, offset) for offset in range(0, len(data), RECORD_SIZE)]
        r = min(records, key=lambda rec: rec[_ID])
        points = r[_POINTS3D:_POINTS3D + 210]
        eye_points = points[66 * 3:70 * 3]
        used = (r[_TIME], r[_RIGHT_OPEN], r[_LEFT_OPEN]) + r[_QUAT] + eye_points + r[_FEATURES]
        if not all(math.isfinite(v) for v in used):
            return REJECT_NONFINITE, None

        quat = r[_QUAT]
        # A failed fit sends a zero quaternion: no pose this frame.
        face = bool(r[_SUCCESS]) and sum(c * c for c in quat) > 1e-6
        right_eye = gaze_turn(eye_points[0:3], eye_points[6:9])
        left_eye = gaze_turn(eye_points[3:6], eye_points[9:12])
        return None, [self._frame(
            t=r[_TIME],
            face=face,
            quat=head_turn(quat) if face else (1.0, 0.0, 0.0, 0.0),
            weights=weights(r[_LEFT_OPEN], r[_RIGHT_OPEN], r[_FEATURES]),
            eyes=(left_eye, right_eye) if left_eye and right_eye else None,
        )]
