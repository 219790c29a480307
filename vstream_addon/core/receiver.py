"""Where frames come from, decoded into protocol.Frame: the UDP socket live apply
drains every tick (`Receiver`, datagrams decoded by the chosen source's
decoder, core/sources: vstream's own protocol by default), and take
files written by `vstream-tracker --out` (`frames_from_take`), so an imported
take bakes exactly as a recorded one.

The add-on calls `drain()` once per timer tick. Blender's UI runs on one
thread, so the socket is never read from a background thread: each tick
empties whatever the OS buffered since the last one.
"""

import errno
import math
import socket
import time
from collections import deque

from ..shared import protocol
from . import sources
from ..shared.arkit import ARKIT_NAMES, NUM_CHANNELS
from ..shared.take import TakeError, read_take

LOCALHOST = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"

# Ask the OS for a deep queue: a tick can be held back by a slow redraw for a
# second or more, and at 60 datagrams/s a default-sized buffer is fine, but a
# burst (a tracker catching up, a stall) would overflow it and drop frames
# of a take being recorded. The kernel caps the request (net.core.rmem_max).
RECV_BUFFER_BYTES = 4 * 1024 * 1024

# A tick reads until the socket is empty. The cap only matters against a
# sender flooding faster than we can read; what is left waits for the next
# tick (the OS keeps it), so nothing is dropped by us.
MAX_DATAGRAMS_PER_DRAIN = 10000

RATE_WINDOW = 1.0  # seconds over which packets/s is counted


class ReceiverError(RuntimeError):
    """A receiver could not start; the message is meant for the user."""


class PortInUseError(ReceiverError):
    pass


def port_in_use_message(port):
    return ("Port %d is already in use by another program: choose another port or stop it"
            % port)


class Receiver:
    """Owns one UDP socket bound to host:port and the statistics shown to the user.

    `source` (a core.sources.Source) says how datagrams decode; one receiver
    takes one source, as one session does.
    """

    def __init__(self, port=protocol.DEFAULT_PORT, host=LOCALHOST, clock=time.monotonic,
                 source=sources.DEFAULT):
        self.port = int(port)
        self.host = host
        self._clock = clock
        self._sock = None
        self.source = source
        try:
            self.decoder = source.module.Decoder()
        except ImportError as e:
            # A decoder's library missing (python-osc for VMC in a copy of the add-on
            # without its wheel): the user sees why Start failed, not a traceback.
            raise ReceiverError(str(e)) from e
        self.latest = None          # newest accepted Frame
        self.last_frame_time = None  # clock() when the newest Frame arrived
        self.last_sender = None     # address the newest Frame came from
        self._batches = deque()     # (previous drain, this drain, frames) for packets/s
        self._batched = 0           # sum of the frames in _batches
        self._last_drain = None

    # -- lifetime ---------------------------------------------------------

    def open(self):
        if self._sock is not None:
            return self
        if not 1 <= self.port <= 65535:
            raise ReceiverError("Port %d is not a valid UDP port (1-65535)" % self.port)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            # No SO_REUSEADDR: two Blenders (or a stale one) on the same port
            # would silently split the stream, so a busy port must fail loudly.
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER_BYTES)
            except OSError:
                pass  # a smaller buffer still works
            sock.bind((self.host, self.port))
            sock.setblocking(False)
        except OSError as e:
            sock.close()
            if e.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
                raise PortInUseError(port_in_use_message(self.port)) from e
            if e.errno in (errno.EACCES, getattr(errno, "WSAEACCES", -1)):
                raise ReceiverError("Port %d cannot be used (permission denied): choose another port"
                                    % self.port) from e
            raise ReceiverError("Cannot listen on UDP %s:%d: %s" % (self.host, self.port, e.strerror or e)) from e
        self._sock = sock
        return self

    def close(self):
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    @property
    def is_open(self):
        return self._sock is not None

    def address(self):
        """(host, port) the socket is bound to, or None when closed."""
        return self._sock.getsockname() if self._sock is not None else None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # Last resort only; owners close explicitly.
        try:
            self.close()
        except Exception:
            pass

    # -- per tick ---------------------------------------------------------

    def drain(self):
        """Read every pending datagram; return the accepted Frames in arrival order.

        Never raises for bad data: refusals are counted in `decoder.rejected`.
        """
        frames = []
        sock = self._sock
        if sock is None:
            return frames
        for _ in range(MAX_DATAGRAMS_PER_DRAIN):
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # e.g. ICMP port-unreachable from an earlier control datagram
                # surfacing as ECONNREFUSED on some systems: not fatal.
                continue
            decoded = self.decoder.decode(data)
            if decoded is None:
                continue
            # A datagram may complete no frame (VMC values before their Apply) or several.
            frames += decoded
            self.last_sender = addr
        now = self._clock()
        if frames:
            self.latest = frames[-1]
            self.last_frame_time = now
            since = self._last_drain if self._last_drain is not None else now
            self._batches.append((since, now, len(frames)))
            self._batched += len(frames)
        self._last_drain = now
        return frames

    def send_control(self, command):
        """Send a control datagram back to the newest sender; False if there is none yet,
        or when the source's senders do not take vstream's control datagrams."""
        if self._sock is None or self.last_sender is None or not self.source.answers_calibrate:
            return False
        try:
            self._sock.sendto(protocol.encode_control(command), self.last_sender)
        except OSError:
            return False
        return True

    # -- statistics -------------------------------------------------------

    def packets_per_second(self):
        """Frames received per second over the last RATE_WINDOW seconds.

        Ticks are irregular (a slow viewport redraw can hold the next one back
        for a second), so one drain may bring frames that arrived over a long
        interval. Each batch is spread evenly over the interval since the
        previous drain; only the part inside the window counts.
        """
        now = self._clock()
        start = now - RATE_WINDOW
        batches = self._batches
        while batches and batches[0][1] < start:
            self._batched -= batches.popleft()[2]
        # Batches cover disjoint intervals in order (each starts where the
        # previous drain was), so only the oldest can straddle the window's
        # start; the rest count whole. Called every tick: keep it O(1).
        total = float(self._batched)
        for since, until, count in batches:
            if since >= start:
                break
            if until > since:
                total -= count * (start - since) / (until - since)
        return total / RATE_WINDOW

    def last_frame_age(self):
        """Seconds since the newest accepted frame arrived, or None if none yet."""
        if self.last_frame_time is None:
            return None
        return self._clock() - self.last_frame_time

    @property
    def rejected(self):
        return dict(self.decoder.rejected)

    @property
    def rejected_total(self):
        return self.decoder.rejected_total

    @property
    def accepted_total(self):
        return self.decoder.accepted


# -- take files ----------------------------------------------------------

def _number(value, where, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TakeError("%s: %s is not a finite number (%r)" % (where, what, value))
    return float(value)


def frame_from_record(record, where):
    """One take record -> protocol.Frame; TakeError naming `where` (path:line) if malformed."""
    if not isinstance(record, dict):
        raise TakeError("%s: expected a JSON object per line" % where)
    t = _number(record.get("t"), where, '"t"')
    face = record.get("face")
    if not isinstance(face, bool):
        raise TakeError('%s: "face" must be true or false' % where)
    weights = record.get("weights") or {}
    if not isinstance(weights, dict):
        raise TakeError('%s: "weights" must be an object of ARKit names' % where)
    values = [0.0] * NUM_CHANNELS
    for i, name in enumerate(ARKIT_NAMES):
        if name in weights:
            values[i] = _number(weights[name], where, "weight %s" % name)
    quat = protocol.IDENTITY_QUAT
    position = (0.0, 0.0, 0.0)
    head = record.get("head")
    if head is not None:
        q = head.get("quat") if isinstance(head, dict) else None
        if not isinstance(q, list) or len(q) != 4:
            raise TakeError('%s: "head.quat" must be 4 numbers (w, x, y, z)' % where)
        quat = tuple(_number(c, where, "head.quat") for c in q)
        p = head.get("position")
        if p is not None:
            # Optional (Move Head uses it); metres, as on the wire.
            if not isinstance(p, list) or len(p) != 3:
                raise TakeError('%s: "head.position" must be 3 numbers (x, y, z)' % where)
            position = tuple(_number(c, where, "head.position") for c in p)
    seq = record.get("frame", 0)
    return protocol.Frame(seq=seq if isinstance(seq, int) else 0, t=t, face=face,
                          quat=quat, position=position, weights=tuple(values))


def frames_from_take(path, progress=None):
    """Read and check a take file; return (header, [Frame]). Raises TakeError with the line.

    `progress(fraction)`, if given, is called with 0..1 as the records are converted.
    """
    try:
        head, records = read_take(path)
    except AttributeError:
        # A first line that is JSON but not an object (e.g. a list).
        raise TakeError("%s:1: not a vstream-take header" % path) from None
    frames = []
    n = len(records)
    for i, record in enumerate(records):
        # read_take numbers lines from 1 with the header first.
        frames.append(frame_from_record(record, "%s:%d" % (path, i + 2)))
        if progress is not None and i % 2000 == 0:
            progress(i / max(1, n))
    if not frames:
        raise TakeError("%s: the take has a header but no frames" % path)
    return head, frames
