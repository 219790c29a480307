"""Live Link Face (Epic's iPhone app): ARKit face capture over UDP, port 11111.

One datagram per frame, big-endian, packet version 6:

    u8   version            6
    i32  n, n bytes         device id (UTF-8)
    i32  n, n bytes         subject name (UTF-8)
    i32  frame number       timecode frames
    f32  subframe           0..1, the fraction of a frame
    i32  fps numerator
    i32  fps denominator
    u8   count              61
    count x f32             the 52 ARKit shapes in Epic's EARFaceBlendShape order (the
                            wire order of vstream's arkit.ARKIT_NAMES, PascalCase there),
                            then HeadYaw, HeadPitch, HeadRoll, LeftEyeYaw, LeftEyePitch,
                            LeftEyeRoll, RightEyeYaw, RightEyePitch, RightEyeRoll

The string lengths are read from the packet, never assumed (device ids are not
all 36 characters). Refused, by reason: `size` (too short for its own lengths,
or bytes left over), `version` (not 6), `length` (a negative string length),
`count` (fewer than 52 or more than 61 values), `time` (a frame rate that is
not positive), `non-finite`. Weights are clamped to 0..1.

Angles are radians. Measured on the app's recordings in LLV's examples
(../shared/peers/llv/examples/dao.gesichter, a real face): head yaw -0.19..0.31,
roll -0.35..0.43; eye yaw -0.22 comes with eyeLookOutLeft 0.26 and
eyeLookInRight 0.36, which as radians is a 13-degree glance, as degrees a
fifth of a degree. Signs, measured the same way: an eye yaw > 0 comes with
eyeLookInLeft/eyeLookOutRight (looking toward the subject's right), an eye
pitch > 0 with eyeLookDown. The app builds all nine angles alike (Unreal's
rotator of the ARKit transform), so the head reads the same way: yaw > 0 turns
toward the subject's right, pitch > 0 looks down, roll > 0 tilts the top of
the head toward the subject's left shoulder. In the avatar frame
(docs/PROTOCOL.md) that is yaw_a = -yaw, pitch_a = -pitch, roll_a = roll,
applied yaw, then pitch, then roll, as the protocol's Euler angles are.
"""

import math
import struct

from ..quaternions import mul as quat_mul, normalized as quat_normalized
from ...shared.arkit import NUM_CHANNELS
from .base import REJECT_NONFINITE, REJECT_SIZE, REJECT_VERSION, SourceDecoder, clamp01

NAME = "Live Link Face"
DEFAULT_PORT = 11111
VERSION = 6
MAX_VALUES = 61  # Epic's EARFaceBlendShape::MAX: 52 shapes + 9 angles

REJECT_LENGTH = "length"
REJECT_COUNT = "count"
REJECT_TIME = "time"
REJECT_REASONS = (REJECT_SIZE, REJECT_VERSION, REJECT_LENGTH, REJECT_COUNT, REJECT_TIME, REJECT_NONFINITE)

_I32 = struct.Struct(">i")
_TIME = struct.Struct(">ifii")


def _about(axis, angle):
    """Unit quaternion turning `angle` radians about avatar axis 0 (X), 1 (Y) or 2 (Z)."""
    q = [math.cos(angle / 2.0), 0.0, 0.0, 0.0]
    q[1 + axis] = math.sin(angle / 2.0)
    return tuple(q)


def avatar_turn(yaw, pitch, roll):
    """Avatar-frame quaternion of the app's (yaw, pitch, roll) radians; signs in the module docstring."""
    # Protocol order: yaw about +Z (toward the subject's left), then pitch (up is a
    # negative turn about +X), then roll about +Y; the app's yaw and pitch run the other way.
    return quat_normalized(quat_mul(quat_mul(_about(2, -yaw), _about(0, pitch)), _about(1, roll)))


class Decoder(SourceDecoder):
    def __init__(self):
        super().__init__()
        self.subject = None  # the subject name of the last packet (the app's "Subject Name")

    def _parse(self, data):
        offset = 1
        if len(data) < offset:
            return REJECT_SIZE, None
        if data[0] != VERSION:
            return REJECT_VERSION, None
        strings = []
        for _ in range(2):  # device id, subject name
            if len(data) < offset + 4:
                return REJECT_SIZE, None
            (n,) = _I32.unpack_from(data, offset)
            offset += 4
            if n < 0:
                return REJECT_LENGTH, None
            if len(data) < offset + n:
                return REJECT_SIZE, None
            strings.append(data[offset:offset + n])
            offset += n
        if len(data) < offset + _TIME.size + 1:
            return REJECT_SIZE, None
        frame_number, subframe, numerator, denominator = _TIME.unpack_from(data, offset)
        offset += _TIME.size
        count = data[offset]
        offset += 1
        if not NUM_CHANNELS <= count <= MAX_VALUES:
            return REJECT_COUNT, None
        if len(data) != offset + 4 * count:
            return REJECT_SIZE, None
        values = struct.unpack_from(">%df" % count, data, offset)
        if numerator <= 0 or denominator <= 0:
            return REJECT_TIME, None
        if not math.isfinite(subframe) or not all(math.isfinite(v) for v in values):
            return REJECT_NONFINITE, None
        self.subject = strings[1].decode("utf-8", "replace")

        angles = values[NUM_CHANNELS:] + (0.0,) * (MAX_VALUES - count)
        eyes = None
        if count == MAX_VALUES:
            eyes = (avatar_turn(*angles[3:6]), avatar_turn(*angles[6:9]))
        return None, [self._frame(
            t=(frame_number + subframe) * denominator / numerator,
            face=True,  # the app sends frames only while ARKit tracks a face
            quat=avatar_turn(*angles[0:3]),
            weights=tuple(clamp01(v) for v in values[:NUM_CHANNELS]),
            eyes=eyes,
        )]
