"""The tracker's UDP socket: frames out to the receiver, control messages in.

One socket bound to a known local port does both, so the add-on can answer
to the address its frames come from (docs/PROTOCOL.md, control messages).
"""

import errno
import socket

from vstream_addon.shared import protocol

HOST = "127.0.0.1"   # vstream streams on this machine only
DEFAULT_LISTEN_PORT = protocol.DEFAULT_PORT + 1


class LinkError(RuntimeError):
    pass


def _check_port(port, what, lowest):
    if not lowest <= int(port) <= 65535:
        raise LinkError("%s %s is not a valid UDP port (%d-65535)" % (what, port, lowest))


class Link:
    def __init__(self, port, listen_port):
        # Nothing can be sent to port 0; listening on it takes any free port.
        _check_port(port, "port", 1)
        _check_port(listen_port, "listen port", 0)
        self.target = (HOST, int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((HOST, int(listen_port)))
        except OSError as e:
            self.sock.close()
            if e.errno == errno.EADDRINUSE:
                raise LinkError("listen port %d is already in use: another vstream-tracker may be "
                                "running; pick another with --listen-port" % listen_port)
            raise LinkError("cannot bind UDP port %d: %s" % (listen_port, e.strerror))
        self.sock.setblocking(False)
        self.seq = 0
        self.sent = 0
        self.send_errors = 0

    def send(self, t, face, quat, position, weights):
        frame = protocol.Frame(seq=self.seq, t=t, face=face, quat=quat, position=position,
                               weights=protocol.weights_from_dict(weights),
                               # This tracker measures from its own neutral and answers calibrate.
                               sender_calibrates=True)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        try:
            self.sock.sendto(protocol.encode(frame), self.target)
            self.sent += 1
        except OSError:
            # Nobody listening yet (ICMP port unreachable) or a full buffer: a live
            # stream just carries on with the next frame.
            self.send_errors += 1

    def poll_commands(self):
        """Control commands received since the last call, e.g. ["calibrate"]."""
        commands = []
        while True:
            try:
                data, _ = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return commands
            except OSError:
                continue  # an ICMP error from an earlier send: not a message
            command = protocol.decode_control(data)
            if command:
                commands.append(command)

    def close(self):
        self.sock.close()
