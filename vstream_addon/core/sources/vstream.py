"""vstream's own datagrams (shared/protocol.py, docs/PROTOCOL.md) as a source like the others.

The decoder is protocol.Decoder (every source decoder's base), its one Frame
handed back in a list as every source decoder does.
"""

from ...shared import protocol

NAME = "vstream"
DEFAULT_PORT = protocol.DEFAULT_PORT


class Decoder(protocol.Decoder):
    def _parse(self, data):
        reason, frame = super()._parse(data)
        return reason, None if frame is None else [frame]
