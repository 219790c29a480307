"""VMC protocol (sh-akira/VirtualMotionCaptureProtocol): OSC over UDP, port 39539.

What a VMC performer (VSeeFace, Warudo, XR Animator, iFacialMocap bridges,
`vstream-tracker --vmc`) sends to a marionette, as far as a face needs it:

    /VMC/Ext/Blend/Val   (s name, f value)   one blendshape; held until Apply
    /VMC/Ext/Blend/Apply ()                  the values so far make one frame
    /VMC/Ext/Bone/Pos    (s bone, f px, py, pz, qx, qy, qz, qw)
                                             Head, Neck, LeftEye, RightEye used
    /VMC/Ext/OK          (i loaded[, i calibration state, i calibration mode[, i tracking]])
                                             tracking 0 (v2.7): no face
    /VMC/Ext/T           (f seconds)         the sender's clock

Messages come alone or in bundles (nested too), parsed by python-osc. Each
/VMC/Ext/Blend/Apply yields a Frame with every channel's latest value
(channels keep their value until the sender changes it), the head and the
eyes as last received, and the time on the sender's clock (its last
/VMC/Ext/T plus the time since; this receiver's clock before any T came).

Blendshape names match ignoring case and separators (mapping.detect_arkit):
ARKit camelCase (`eyeBlinkLeft`), Perfect Sync PascalCase (`EyeBlinkLeft`),
Apple's `eyeBlink_L`... VRM presets (0.x `A`, `Blink_L`, `Joy`...; 1.0 `aa`,
`blinkLeft`, `happy`...) map onto ARKit channels by shared/vrm.py's
`arkit_from_vrm` rule, for the channels the sender never sent by ARKit name
(a sender sending both gets its ARKit values).

Bones: VRM's normalized humanoid bones, which VMC performers send, rest at
the identity, so a bone's local rotation is its turn in Unity's frame; the
head's turn relative to the body is Neck x Head (the Neck counts as identity
until one arrives), converted with shared/frames.py. Bone positions and the
other bones are not used.

Refused datagrams (`rejected`, by reason): `osc` (not an OSC packet python-osc
can parse, or a bundle with an element of negative size: python-osc 1.10
loops forever on those, so they are refused before it sees them). Messages inside an accepted datagram that are not used are counted
in `ignored` by reason, never raised: `address` (an address this receiver does
not use, e.g. /VMC/Ext/Root/Pos), `bone` (a bone other than the four above),
`arguments` (too few arguments or wrong types; extra arguments are ignored, as
the protocol asks), `non-finite`, `name` (a blendshape name that is neither an
ARKit channel nor a VRM preset).
"""

import logging
import math
import os
import struct
import time
from collections import Counter

import pythonosc
from pythonosc.osc_packet import OscPacket

from ..quaternions import mul as quat_mul, normalized as quat_normalized
from ...shared.arkit import INDEX, NUM_CHANNELS
from ..mapping import detect_arkit, detect_vrm
from ...shared import frames
from ...shared.vrm import arkit_from_vrm
from .base import SourceDecoder, clamp01

NAME = "VMC"
DEFAULT_PORT = 39539  # a marionette (receiver) listens here

BLEND_VAL = "/VMC/Ext/Blend/Val"
BLEND_APPLY = "/VMC/Ext/Blend/Apply"
BONE_POS = "/VMC/Ext/Bone/Pos"
OK = "/VMC/Ext/OK"
TIME = "/VMC/Ext/T"

REJECT_OSC = "osc"
IGNORE_ADDRESS = "address"
IGNORE_BONE = "bone"
IGNORE_ARGUMENTS = "arguments"
IGNORE_NONFINITE = "non-finite"
IGNORE_NAME = "name"

_BONES = ("Head", "Neck", "LeftEye", "RightEye")
_IDENTITY = (1.0, 0.0, 0.0, 0.0)


class _QuietPythonOsc(logging.Filter):
    """Drops python-osc's own warnings about a malformed packet.

    python-osc logs one root-logger warning per unknown type tag or content
    (printed to stderr with no logging set up, as in Blender) and raises for
    the rest; this decoder counts every such datagram or message by reason
    instead, so a stream of junk would otherwise print a line per datagram.
    """

    _folder = os.path.dirname(os.path.abspath(pythonosc.__file__))

    def filter(self, record):
        return not record.pathname.startswith(self._folder)


def _install_quiet_filter():
    root = logging.getLogger()
    if not any(isinstance(f, _QuietPythonOsc) for f in root.filters):
        root.addFilter(_QuietPythonOsc())


_install_quiet_filter()


_BUNDLE = b"#bundle\x00"
_SIZE = struct.Struct(">i")


def _element_sizes_ok(data):
    """False when a bundle (at any depth) holds an element of negative size.

    python-osc 1.10's bundle parser adds each element's size to its position; a
    negative size steps back onto the size field it just read, and it loops
    forever (20 bytes are enough to hang the receiver). Nested bundles are
    walked with a stack, on memoryviews, so deep nesting costs neither
    recursion nor copies.
    """
    stack = [memoryview(data)]
    while stack:
        d = stack.pop()
        if bytes(d[:8]) != _BUNDLE:
            continue
        i = 16  # "#bundle\0" and the time tag
        while i + 4 <= len(d):
            (size,) = _SIZE.unpack_from(d, i)
            if size < 0:
                return False
            stack.append(d[i + 4:i + 4 + size])
            i += 4 + size
    return True


def _number(value):
    # OSC ints and floats both carry numbers; bool (OSC T/F) is an int to Python but not a number here.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Decoder(SourceDecoder):
    def __init__(self, clock=time.monotonic):
        super().__init__()
        self.ignored = Counter()
        self._clock = clock
        self._arkit = [0.0] * NUM_CHANNELS
        self._direct = set()   # channels the sender has set by an ARKit name
        self._vrm = {}         # VRM 1.0 preset -> latest value
        self._bones = {}       # bone name -> avatar-frame rotation
        self._tracking = True
        self._sender_time = None  # (sender seconds, our clock then)

    def _parse(self, data):
        if not _element_sizes_ok(data):
            return REJECT_OSC, None
        try:
            messages = OscPacket(data).messages
        except Exception:  # noqa: BLE001 - python-osc raises ParseError, UnicodeDecodeError,
            # RecursionError (deeply nested bundles)... on hostile input; any of them means
            # "not an OSC packet", which is counted, never raised into the receiver.
            return REJECT_OSC, None
        made = []
        for timed in messages:
            message = timed.message
            handler = self._HANDLERS.get(message.address)
            if handler is None:
                self.ignored[IGNORE_ADDRESS] += 1
                continue
            reason = handler(self, message.params, made)
            if reason:
                self.ignored[reason] += 1
        return None, made

    # Each handler returns None, or the reason the message was ignored.

    def _blend_val(self, args, made):
        if len(args) < 2 or not isinstance(args[0], str) or not _number(args[1]):
            return IGNORE_ARGUMENTS
        value = float(args[1])
        if not math.isfinite(value):
            return IGNORE_NONFINITE
        channel = detect_arkit(args[0])
        if channel is not None:
            self._arkit[INDEX[channel]] = clamp01(value)
            self._direct.add(channel)
            return None
        preset = detect_vrm(args[0])
        if preset is None:
            return IGNORE_NAME
        self._vrm[preset] = clamp01(value)
        return None

    def _blend_apply(self, args, made):
        weights = list(self._arkit)
        for channel, value in arkit_from_vrm(self._vrm).items():
            if channel not in self._direct:
                weights[INDEX[channel]] = value
        head = quat_mul(self._bones.get("Neck", _IDENTITY), self._bones.get("Head", _IDENTITY))
        eyes = None
        if "LeftEye" in self._bones and "RightEye" in self._bones:
            eyes = (self._bones["LeftEye"], self._bones["RightEye"])
        made.append(self._frame(t=self._time(), face=self._tracking, quat=quat_normalized(head),
                                weights=tuple(weights), eyes=eyes))
        return None

    def _bone_pos(self, args, made):
        if len(args) < 8 or not isinstance(args[0], str) or not all(_number(a) for a in args[1:8]):
            return IGNORE_ARGUMENTS
        if args[0] not in _BONES:
            return IGNORE_BONE
        qx, qy, qz, qw = (float(a) for a in args[4:8])
        norm = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
        if not math.isfinite(norm) or not all(math.isfinite(float(a)) for a in args[1:4]):
            return IGNORE_NONFINITE
        if norm < 1e-6:
            return IGNORE_ARGUMENTS  # a zero quaternion is no rotation at all
        self._bones[args[0]] = quat_normalized(frames.quat_to_avatar(frames.UNITY, (qw, qx, qy, qz)))
        return None

    def _ok(self, args, made):
        if not args or not all(isinstance(a, int) and not isinstance(a, bool) for a in args[:4]):
            return IGNORE_ARGUMENTS
        if len(args) >= 4:  # v2.7: tracking status
            self._tracking = args[3] != 0
        return None

    def _sender_clock(self, args, made):
        if not args or not _number(args[0]):
            return IGNORE_ARGUMENTS
        if not math.isfinite(float(args[0])):
            return IGNORE_NONFINITE
        self._sender_time = (float(args[0]), self._clock())
        return None

    def _time(self):
        now = self._clock()
        if self._sender_time is None:
            return now
        sender, then = self._sender_time
        return sender + (now - then)

    _HANDLERS = {
        BLEND_VAL: _blend_val,
        BLEND_APPLY: _blend_apply,
        BONE_POS: _bone_pos,
        OK: _ok,
        TIME: _sender_clock,
    }
