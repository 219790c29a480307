"""Non-blocking UDP receiver for tracker frames. Pure Python (no bpy).

The add-on calls `drain()` once per timer tick. Blender's UI runs on one
thread, so the socket is never read from a background thread: each tick
empties whatever the OS buffered since the last one.
"""

import errno
import socket
import time
from collections import deque

from ..shared import protocol

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
    """Owns one UDP socket bound to host:port and the statistics shown to the user."""

    def __init__(self, port=protocol.DEFAULT_PORT, host=LOCALHOST, clock=time.monotonic):
        self.port = int(port)
        self.host = host
        self._clock = clock
        self._sock = None
        self.decoder = protocol.Decoder()
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
            frame = self.decoder.decode(data)
            if frame is None:
                continue
            frames.append(frame)
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
        """Send a control datagram back to the newest sender; False if there is none yet."""
        if self._sock is None or self.last_sender is None:
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
