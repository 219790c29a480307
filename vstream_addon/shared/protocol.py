"""The vstream wire format: one UDP datagram per tracked frame.

Defined once here and used by both the tracker (sender) and the Blender add-on
(receiver); the add-on zip carries this file. Pure Python (struct + math) so it
imports anywhere. docs/PROTOCOL.md describes the same layout for other tools.

Frame datagram, little-endian, 256 bytes:
    4s   magic            b"VSTR"
    H    version          1
    H    flags            bit 0: a face is present; bit 1: the sender calibrates
                          its own neutral (it answers CMD_CALIBRATE)
    I    sequence number  increments per datagram, wraps at 2**32
    d    timestamp        capture time of the source frame, seconds
    4f   head quaternion  w, x, y, z (avatar frame, see PROTOCOL.md)
    3f   head position    x, y, z metres, relative to the neutral position
    52f  weights          0..1, in arkit.ARKIT_NAMES order

Control datagram (receiver -> sender, sent back to the frame's source address):
    4s   magic            b"VSTC"
    H    version          1
    H    command          CMD_CALIBRATE = 1
"""

import math
import struct
from collections import Counter
from dataclasses import dataclass, field

from .arkit import ARKIT_NAMES, NUM_CHANNELS

MAGIC = b"VSTR"
CONTROL_MAGIC = b"VSTC"
VERSION = 1
DEFAULT_PORT = 11580
FLAG_FACE = 1
# The sender measures weights and head pose from its own neutral and
# recalibrates on CMD_CALIBRATE (vstream's tracker does). Receivers use it to
# decide whether to take the neutral themselves; senders without it get the
# add-on's own calibration (vstream_addon/core/neutral.py).
FLAG_SENDER_CALIBRATES = 2

CMD_CALIBRATE = 1
CONTROL_COMMANDS = {CMD_CALIBRATE: "calibrate"}

_HEADER = struct.Struct("<4sHHId")
_BODY = struct.Struct("<4f3f%df" % NUM_CHANNELS)
FRAME_SIZE = _HEADER.size + _BODY.size
_CONTROL = struct.Struct("<4sHH")
CONTROL_SIZE = _CONTROL.size

IDENTITY_QUAT = (1.0, 0.0, 0.0, 0.0)

# Why a datagram was refused; the receiver counts each.
REJECT_SIZE = "size"
REJECT_MAGIC = "magic"
REJECT_VERSION = "version"
REJECT_NONFINITE = "non-finite"
REJECT_REASONS = (REJECT_SIZE, REJECT_MAGIC, REJECT_VERSION, REJECT_NONFINITE)


@dataclass
class Frame:
    seq: int
    t: float
    face: bool
    quat: tuple = IDENTITY_QUAT
    position: tuple = (0.0, 0.0, 0.0)
    weights: tuple = field(default_factory=lambda: (0.0,) * NUM_CHANNELS)
    sender_calibrates: bool = False
    # Eye rotations from sources that measure them (Live Link Face, VMC, OpenSeeFace;
    # core/sources/): ((w, x, y, z) subject's left eye, (w, x, y, z) right eye), avatar
    # frame, relative to looking straight ahead; None when the source has none. Not on
    # the wire: vstream's own datagrams carry gaze as the eyeLook* weights.
    eyes: tuple = None

    def weight_dict(self):
        return dict(zip(ARKIT_NAMES, self.weights))


def encode(frame):
    """Pack a Frame into one datagram."""
    weights = tuple(frame.weights)
    if len(weights) != NUM_CHANNELS:
        raise ValueError("expected %d weights, got %d" % (NUM_CHANNELS, len(weights)))
    flags = (FLAG_FACE if frame.face else 0) | (FLAG_SENDER_CALIBRATES if frame.sender_calibrates else 0)
    return _HEADER.pack(MAGIC, VERSION, flags, frame.seq & 0xFFFFFFFF, frame.t) + _BODY.pack(
        *frame.quat, *frame.position, *weights
    )


def weights_from_dict(values):
    """52-tuple in wire order from {ARKit name: weight}; names not given are 0."""
    return tuple(float(values.get(name, 0.0)) for name in ARKIT_NAMES)


class Decoder:
    """Turns datagrams into Frames; never raises, counts every refusal by reason.

    The add-on's other sources (core/sources/) subclass it with their own
    `_parse(data: bytes)`, which returns (None, result) or (reason, None):
    every decoder counts the same way.
    """

    def __init__(self):
        self.accepted = 0
        self.rejected = Counter()

    @property
    def rejected_total(self):
        return sum(self.rejected.values())

    def decode(self, data):
        """Return what _parse made (here a Frame), or None (and count the reason) for a bad datagram."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            reason, result = self._parse(bytes(data))
        else:
            reason, result = REJECT_SIZE, None
        if result is None:
            self.rejected[reason] += 1
        else:
            self.accepted += 1
        return result

    def _parse(self, data):
        return _parse(data)


def _parse(data):
    if len(data) != FRAME_SIZE:
        return REJECT_SIZE, None
    magic, version, flags, seq, t = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        return REJECT_MAGIC, None
    if version != VERSION:
        return REJECT_VERSION, None
    body = _BODY.unpack_from(data, _HEADER.size)
    if not math.isfinite(t) or not all(math.isfinite(v) for v in body):
        return REJECT_NONFINITE, None
    return None, Frame(
        seq=seq, t=t, face=bool(flags & FLAG_FACE),
        quat=body[0:4], position=body[4:7], weights=body[7:],
        sender_calibrates=bool(flags & FLAG_SENDER_CALIBRATES),
    )


def encode_control(command):
    return _CONTROL.pack(CONTROL_MAGIC, VERSION, command)


def decode_control(data):
    """Return the command name of a control datagram, or None if it is not one."""
    if len(data) != CONTROL_SIZE:
        return None
    magic, version, command = _CONTROL.unpack(data)
    if magic != CONTROL_MAGIC or version != VERSION:
        return None
    return CONTROL_COMMANDS.get(command)
