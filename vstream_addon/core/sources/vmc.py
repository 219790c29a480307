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

python-osc (pure Python) is imported when the first Decoder is made: the
add-on's zips carry its wheel (core/wheels.py), and a Python without it gets a
clear ImportError then, not when the add-on loads. Any python-osc from 1.7 on
works (OscPacket, TimedMessage, OscMessage.address/params/dgram).

Speed: python-osc takes 0.4 to 1 ms (as the machine is loaded) to parse one
frame of a face (56 messages), more than a whole live tick may cost.
Performers send the same bundle layout every frame, only the numbers change,
so the decoder learns a datagram's layout from python-osc's parse (`osc_layout.Layout`:
which bytes are the f/i arguments) when the size repeats, once it has checked
that encoding python-osc's messages back gives the datagram byte for byte. A
later datagram of the same length whose every other byte is the same is read
with one struct call, its blendshape values set in one loop with their names
looked up when the layout was learned (`_Values`), and its other messages go
through the same handlers. Anything else goes through python-osc. The
tracker's frame, measured in one process: 1.15 ms through python-osc and the
handlers, 0.05 ms through a learned layout (benchmarks/addon_bpy.py has the
whole tick per source).
"""


import logging
import math
import time
from collections import Counter

from ..quaternions import mul as quat_mul, normalized as quat_normalized
from ...shared.arkit import ARKIT_NAMES, INDEX, NUM_CHANNELS
from ..mapping import detect_arkit, detect_vrm
from .. import wheels
from ...shared import frames
from ...shared.vmc import BLEND_APPLY, BLEND_VAL, BONE_POS, DEFAULT_PORT, OK, TIME  # noqa: F401 (DEFAULT_PORT)
from ...shared.vrm import VRM_CHANNELS, arkit_from_vrm
from . import osc_layout
from .base import SourceDecoder

NAME = "VMC"

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

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def filter(self, record):
        return not record.pathname.startswith(self.folder)


_packet_class = None


def _osc_packet():
    """python-osc's OscPacket, imported (and its warnings quietened) on first use."""
    global _packet_class
    if _packet_class is None:
        pythonosc = wheels.require("pythonosc", "python-osc", "receiving VMC")
        from pythonosc.osc_packet import OscPacket
        root = logging.getLogger()
        if not any(isinstance(f, _QuietPythonOsc) for f in root.filters):
            root.addFilter(_QuietPythonOsc(pythonosc.__path__[0]))
        _packet_class = OscPacket
    return _packet_class


_UNKNOWN = object()  # a blendshape name that is neither an ARKit channel nor a VRM preset
MAX_NAMES = 4096

class _Values:
    """A run of /VMC/Ext/Blend/Val messages of a learned layout, names already looked up:
    [(position of the value among the layout's numbers, ARKit index, VRM preset or _UNKNOWN)]."""

    def __init__(self, entries):
        self.entries = entries
        self.values = osc_layout.picker([index for index, _ in entries])
        self.arkit = [(k, t) for k, (_, t) in enumerate(entries) if type(t) is int]
        self.vrm = [(k, t) for k, (_, t) in enumerate(entries) if type(t) is not int and t is not _UNKNOWN]
        self.direct = frozenset(ARKIT_NAMES[t] for _, t in self.arkit)
        self.unknown = sum(1 for _, t in entries if t is _UNKNOWN)

    def apply(self, decoder, numbers):
        values = self.values(numbers)
        if not math.isfinite(sum(values)):
            # Some value is NaN or infinite (a finite sum of float32s cannot overflow): one by one.
            for value, (_, target) in zip(values, self.entries):
                self._one(decoder, float(value), target)
            return
        values = [0.0 if v < 0.0 else (1.0 if v > 1.0 else float(v)) for v in values]  # clamp01
        arkit, vrm = decoder._arkit, decoder._vrm
        for k, target in self.arkit:
            arkit[target] = values[k]
        for k, preset in self.vrm:
            vrm[preset] = values[k]
        decoder._direct |= self.direct
        if self.unknown:
            decoder.ignored[IGNORE_NAME] += self.unknown

    @staticmethod
    def _one(decoder, value, target):
        # _blend_val's checks, in its order.
        if not math.isfinite(value):
            decoder.ignored[IGNORE_NONFINITE] += 1
        elif target is _UNKNOWN:
            decoder.ignored[IGNORE_NAME] += 1
        else:
            value = 0.0 if value < 0.0 else (1.0 if value > 1.0 else value)
            if type(target) is int:
                decoder._arkit[target] = value
                decoder._direct.add(ARKIT_NAMES[target])
            else:
                decoder._vrm[target] = value


class Decoder(SourceDecoder):
    def __init__(self, clock=time.monotonic):
        super().__init__()
        self._packet = _osc_packet()  # ImportError (for the user) where python-osc is missing
        self.ignored = Counter()
        self._clock = clock
        self._arkit = [0.0] * NUM_CHANNELS
        self._direct = set()   # channels the sender has set by an ARKit name
        self._vrm = {}         # VRM 1.0 preset -> latest value
        self._names = {}       # blendshape name -> ARKit index, VRM 1.0 preset or _UNKNOWN
        self._bones = {}       # bone name -> avatar-frame rotation
        self._tracking = True
        self._sender_time = None  # (sender seconds, our clock then)
        self._layout = None    # the last datagram layout learned from python-osc's parse
        self._plan = None      # its messages as steps (_plan_for)
        self._last_size = None  # size of the last datagram python-osc parsed

    def _parse(self, data):
        made = []
        numbers = self._layout.read(data) if self._layout is not None else None
        if numbers is not None:
            self._run_plan(self._plan, numbers, made)
            return None, made
        if osc_layout.message_spans(data) is None:
            return REJECT_OSC, None
        try:
            timed = self._packet(data).messages
        except Exception:  # noqa: BLE001 - python-osc raises ParseError, UnicodeDecodeError,
            # RecursionError (deeply nested bundles)... on hostile input; any of them means
            # "not an OSC packet", which is counted, never raised into the receiver.
            return REJECT_OSC, None
        if len(data) == self._last_size:
            # Learning costs about as much as python-osc's parse: only for a size seen
            # twice in a row, which a performer's frames are and junk seldom is.
            layout = osc_layout.Layout.learn(data, timed)
            if layout is not None:
                self._layout, self._plan = layout, self._plan_for(layout)
        self._last_size = len(data)
        for t in timed:
            self._handle(t.message.address, t.message.params, made)
        return None, made

    def _handle(self, address, params, made):
        handler = self._HANDLERS.get(address)
        if handler is None:
            self.ignored[IGNORE_ADDRESS] += 1
            return
        reason = handler(self, params, made)
        if reason:
            self.ignored[reason] += 1

    # A learned layout's messages as steps: runs of /VMC/Ext/Blend/Val whose name is fixed
    # by the layout become one _VALUES step with each name's meaning looked up already
    # (what _blend_val does per message, in the same order of checks), the rest go through
    # their handlers with their arguments rebuilt.
    _VALUES = "values"
    _MESSAGE = "message"

    def _plan_for(self, layout):
        plan = []
        for address, strings, a, b in layout.messages:
            if address == BLEND_VAL and len(strings) == 1 and b > a:
                target = self._names.get(strings[0])
                if target is None:
                    target = self._name_target(strings[0])
                if not plan or plan[-1][0] != self._VALUES:
                    plan.append((self._VALUES, []))
                plan[-1][1].append((a, target))
            else:
                plan.append((self._MESSAGE, address, strings, a, b))
        return [step if step[0] == self._MESSAGE else (self._VALUES, _Values(step[1])) for step in plan]

    def _run_plan(self, plan, numbers, made):
        for step in plan:
            if step[0] == self._VALUES:
                step[1].apply(self, numbers)
            else:
                _, address, strings, a, b = step
                self._handle(address, strings + numbers[a:b], made)

    # Each handler returns None, or the reason the message was ignored.

    def _blend_val(self, args, made):
        # The hot path: a face sends 52+ of these per frame, always the same names, so the
        # name's meaning is looked up once (self._names) and a float is checked by its type.
        if len(args) < 2:
            return IGNORE_ARGUMENTS
        name, value = args[0], args[1]
        if type(value) is not float:
            if not osc_layout.number(value):
                return IGNORE_ARGUMENTS
            value = float(value)
        if not isinstance(name, str):
            return IGNORE_ARGUMENTS
        if not math.isfinite(value):
            return IGNORE_NONFINITE
        target = self._names.get(name)
        if target is None:
            target = self._name_target(name)
        if target is _UNKNOWN:
            return IGNORE_NAME
        value = 0.0 if value < 0.0 else (1.0 if value > 1.0 else value)  # clamp01, inlined
        if type(target) is int:
            self._arkit[target] = value
            self._direct.add(ARKIT_NAMES[target])
        else:
            self._vrm[target] = value
        return None

    def _name_target(self, name):
        """A blendshape name's ARKit channel index, VRM 1.0 preset or _UNKNOWN; remembered
        for the first MAX_NAMES names (a sender of junk names cannot grow it without end)."""
        channel = detect_arkit(name)
        target = INDEX[channel] if channel is not None else (detect_vrm(name) or _UNKNOWN)
        if len(self._names) < MAX_NAMES:
            self._names[name] = target
        return target

    def _blend_apply(self, args, made):
        weights = list(self._arkit)
        # Every frame: skip the VRM table when it has nothing to add (an ARKit-only sender, or
        # one that also sends VRM presets for channels it already set by their ARKit names).
        if self._vrm and not self._direct.issuperset(VRM_CHANNELS):
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
        if len(args) < 8 or not isinstance(args[0], str) or not all(osc_layout.number(a) for a in args[1:8]):
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
        if not args or not osc_layout.number(args[0]):
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
