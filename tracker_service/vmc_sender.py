"""VMC output (`vstream-tracker --vmc`): the tracked face for VTuber apps, as a VMC performer.

VMC protocol (sh-akira/VirtualMotionCaptureProtocol), OSC over UDP to a
marionette (VSeeFace, VNyan, Warudo, VMC4B...; they listen on 39539). One
bundle per frame, in this order (docs/PROTOCOL.md, "VMC output"):

    /VMC/Ext/OK        (i 1, i 3, i 0, i tracking)   loaded, calibrated, normal mode,
                                                     tracking 1 with a face, 0 without
    /VMC/Ext/T         (f t)                         the frame's capture time
    /VMC/Ext/Bone/Pos  (s "Head", f 0, 0, 0, qx, qy, qz, qw)
    /VMC/Ext/Blend/Val (s name, f weight)            every ARKit channel, Perfect Sync names;
                                                     then the VRM presets asked for
    /VMC/Ext/Blend/Apply ()

The head's rotation is the avatar-frame quaternion of the vstream protocol
converted to Unity's frame (shared/frames.py) as the local rotation of a
VRM-normalized Head bone (identity at rest). Its position is zero: a face
tracker does not know the avatar's bone lengths (receivers that copy bone
positions, such as EVMC4U with position sync on, should take rotations only).
No Neck: the whole turn is on the Head; receivers split it onto the neck
themselves if they want to. The bundle's messages are the same every frame
(the names are chosen at start), so it is packed from a template
(shared/vmc.BundleTemplate: python-osc's bytes, 0.01 ms instead of python-osc's
1.6-2.3 ms for its 56+ builders a frame).
"""

import socket

from vstream_addon.shared.arkit import ARKIT_NAMES
from vstream_addon.shared import frames
from vstream_addon.shared.vmc import (BLEND_APPLY, BLEND_VAL, BONE_POS, DEFAULT_HOST, DEFAULT_PORT, OK, TIME,
                                      BundleTemplate)
from vstream_addon.shared.vrm import VRM0_TO_VRM1, VRM_NAMES, vrm_weights

DEFAULT_TARGET = "%s:%d" % (DEFAULT_HOST, DEFAULT_PORT)
NAME_SETS = ("arkit", "vrm0", "vrm1", "both")

# Perfect Sync (VRM avatars made for iPhone tracking) spells the ARKit names in PascalCase.
PERFECT_SYNC_NAMES = tuple(n[0].upper() + n[1:] for n in ARKIT_NAMES)
_VRM1_TO_VRM0 = {v1: v0 for v0, v1 in VRM0_TO_VRM1.items()}  # "surprised" has no 0.x name


class VmcError(RuntimeError):
    """A --vmc option that cannot be used; the message is shown as is."""


def parse_target(text):
    """(host, port) from "[HOST:]PORT" (an IPv6 host in brackets); "" gives the default."""
    text = (text or "").strip()
    if not text:
        return DEFAULT_HOST, DEFAULT_PORT
    host, port_text = DEFAULT_HOST, text
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not text[end + 1:].startswith(":"):
            raise VmcError("--vmc %s: expected [HOST]:PORT for an IPv6 host" % text)
        host, port_text = text[1:end], text[end + 2:]
    elif ":" in text:
        host, port_text = text.rsplit(":", 1)
    if not host:
        raise VmcError("--vmc %s: the host is empty (give [HOST:]PORT, e.g. 127.0.0.1:%d)" % (text, DEFAULT_PORT))
    if not port_text.isdigit():
        raise VmcError("--vmc %s: %r is not a port number (give [HOST:]PORT, e.g. %s)"
                       % (text, port_text, DEFAULT_TARGET))
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise VmcError("--vmc %s: port %d is not a valid UDP port (1-65535)" % (text, port))
    return host, port


def blend_names(name_set):
    """[(name sent, ARKit channel or VRM 1.0 preset)] for --vmc-names, in sending order."""
    if name_set not in NAME_SETS:
        raise VmcError("--vmc-names %s: choose one of %s" % (name_set, ", ".join(NAME_SETS)))
    names = list(zip(PERFECT_SYNC_NAMES, ARKIT_NAMES))
    if name_set in ("vrm0", "both"):
        names += [(_VRM1_TO_VRM0[p], p) for p in VRM_NAMES if p in _VRM1_TO_VRM0]
    if name_set in ("vrm1", "both"):
        names += [(p, p) for p in VRM_NAMES]
    return names


class VmcSender:
    def __init__(self, target="", name_set="arkit"):
        host, port = parse_target(target)
        self.names = blend_names(name_set)
        self._vrm = any(source not in ARKIT_NAMES for _, source in self.names)
        try:
            family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except (OSError, UnicodeError) as e:
            raise VmcError("--vmc %s: cannot resolve host %r (%s)" % (target, host, getattr(e, "strerror", None) or e))
        self.target = (host, port)
        self._address = address
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sent = 0
        self.send_errors = 0
        self._template = BundleTemplate(
            [(OK, (), "iiii"), (TIME, (), "f"), (BONE_POS, ("Head",), "fffffff")]
            + [(BLEND_VAL, (sent,), "f") for sent, _ in self.names] + [(BLEND_APPLY, (), "")])
        self._sources = [source for _, source in self.names]

    def datagram(self, t, face, quat, weights):
        """The OSC bundle's bytes for one frame; weights {ARKit name: 0..1}:

            OK (1, 3, 0, tracking), T (t), Bone/Pos ("Head", 0, 0, 0, qx, qy, qz, qw),
            Blend/Val (name, weight) for each of self.names, Apply
        """
        w, x, y, z = frames.quat_from_avatar(frames.UNITY, quat)
        values = dict(weights)
        if self._vrm:
            values.update(vrm_weights(weights))
        get = values.get
        return self._template.pack((1, 3, 0, 1 if face else 0, float(t), 0.0, 0.0, 0.0, x, y, z, w)
                                   + tuple([float(get(source, 0.0)) for source in self._sources]))

    def send(self, t, face, quat, weights):
        try:
            self.sock.sendto(self.datagram(t, face, quat, weights), self._address)
            self.sent += 1
        except OSError:
            # Nobody listening yet (ICMP port unreachable) or a full buffer: a live
            # stream carries on with the next frame, as the native link does.
            self.send_errors += 1

    def close(self):
        self.sock.close()
