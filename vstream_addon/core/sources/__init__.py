"""The face protocols the add-on receives, one at a time, into the frames vstream applies.

    vstream      vstream-tracker's own datagrams (UDP 11580)
    vmc          VMC protocol (OSC over UDP, port 39539): VSeeFace, Warudo, VMC apps,
                 `vstream-tracker --vmc`
    livelink     Epic's Live Link Face iPhone app (UDP 11111)
    openseeface  OpenSeeFace's facetracker (UDP 11573)

Each module has NAME, DEFAULT_PORT and a Decoder (base.py: `decode(datagram)`
returns a list of Frames, or None for a refused datagram counted by reason).
Every decoder yields the same `protocol.Frame` that vstream's own datagrams
decode to (52 ARKit weights in wire order, 0..1; the head rotation in the
avatar frame of docs/PROTOCOL.md; the face flag; the capture time in seconds),
plus the eye rotations in `Frame.eyes` where the source has them, so
everything after the decoder (mapping, neutral, smoothing, Record) is the same
for every source. Only vstream's tracker calibrates itself (its frames carry
FLAG_SENDER_CALIBRATES and it answers the calibrate control datagram); the
others leave `sender_calibrates` False and the add-on takes their neutral
itself. Head position is carried by vstream only: none of the others sends
one in metres from a neutral.

SOURCES lists them in the panel's order; `by_key` finds one by the key the
panel stores.
"""

from collections import namedtuple

from . import livelink, openseeface, vmc, vstream

Source = namedtuple("Source", "key name default_port module answers_calibrate sender")
Source.__doc__ = """One source: `key` is what the panel stores, `module` has the Decoder;
`answers_calibrate`: the sender takes the calibrate control datagram; `sender`:
what the sender must be set to, for the panel's tooltip."""

SOURCES = (
    Source("VSTREAM", vstream.NAME, vstream.DEFAULT_PORT, vstream, True,
           "vstream-tracker --port <Port> (Start can launch it: Tracker section)"),
    Source("VMC", vmc.NAME, vmc.DEFAULT_PORT, vmc, False,
           "A VMC performer sending to <Port>: VSeeFace (VMC protocol sender), Warudo, "
           "XR Animator, or vstream-tracker --vmc <Port>"),
    Source("LIVELINK", livelink.NAME, livelink.DEFAULT_PORT, livelink, False,
           "Epic's Live Link Face app: add this computer's IP address and <Port> as a target "
           "(Listen on LAN: the phone is another computer)"),
    Source("OPENSEEFACE", openseeface.NAME, openseeface.DEFAULT_PORT, openseeface, False,
           "OpenSeeFace: facetracker.py --ip 127.0.0.1 --port <Port>"),
)
DEFAULT = SOURCES[0]
DEFAULT_PORTS = frozenset(s.default_port for s in SOURCES)


def by_key(key):
    """The Source stored as `key`; ValueError naming the known keys."""
    for source in SOURCES:
        if source.key == key:
            return source
    raise ValueError("unknown source %r (known: %s)" % (key, ", ".join(s.key for s in SOURCES)))


def port_for(new_source, port):
    """The port after picking `new_source`: a port that is some source's default follows
    the source; any other port was typed by the user and stays."""
    return new_source.default_port if port in DEFAULT_PORTS else port
