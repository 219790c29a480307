"""What every source decoder shares: protocol.Decoder's counting, and Frame numbering.

`decode(datagram)` returns a list of Frames (empty when the datagram completed
none, e.g. VMC values waiting for their Apply) or None when the datagram is
refused, counted in `rejected` by reason; `accepted` counts the others. A
decoder never raises.
"""

from ...shared import protocol
from ...shared.vrm import clamp01  # noqa: F401 (the decoders clamp weights with it)

# Why a datagram was refused, shared by the decoders that have the same problem.
REJECT_SIZE = protocol.REJECT_SIZE
REJECT_VERSION = protocol.REJECT_VERSION
REJECT_NONFINITE = protocol.REJECT_NONFINITE


class SourceDecoder(protocol.Decoder):
    """protocol.Decoder's counting, and sequence numbers; subclasses write `_parse`.

    _parse(data: bytes) returns (None, [Frame...]) or (reason, None).
    """

    def __init__(self):
        super().__init__()
        self._seq = 0

    def _frame(self, **fields):
        """A Frame numbered in the order this decoder made them (the sources' own counters differ)."""
        frame = protocol.Frame(seq=self._seq, **fields)
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        return frame

    def _parse(self, data):
        raise NotImplementedError
