"""What every source decoder shares: the counting of accepted and refused datagrams.

`decode(datagram)` returns a list of Frames (empty when the datagram completed
none, e.g. VMC values waiting for their Apply) or None when the datagram is
refused, counted in `rejected` by reason; `accepted` counts the others. A
decoder never raises.
"""

from collections import Counter

from ...shared import protocol
from ...shared.vrm import clamp01  # noqa: F401 (the decoders clamp weights with it)

# Why a datagram was refused, shared by the decoders that have the same problem.
REJECT_SIZE = protocol.REJECT_SIZE
REJECT_VERSION = protocol.REJECT_VERSION
REJECT_NONFINITE = protocol.REJECT_NONFINITE


class SourceDecoder:
    """Counting and sequence numbers for every source; subclasses write `_parse`.

    _parse(data: bytes) returns (None, [Frame...]) or (reason, None).
    """

    def __init__(self):
        self.accepted = 0
        self.rejected = Counter()
        self._seq = 0

    @property
    def rejected_total(self):
        return sum(self.rejected.values())

    def decode(self, data):
        """A list of Frames (maybe empty), or None (the reason counted) for a refused datagram."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            self.rejected[REJECT_SIZE] += 1
            return None
        reason, frames = self._parse(bytes(data))
        if frames is None:
            self.rejected[reason] += 1
            return None
        self.accepted += 1
        return frames

    def _frame(self, **fields):
        """A Frame numbered in the order this decoder made them (the sources' own counters differ)."""
        frame = protocol.Frame(seq=self._seq, **fields)
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        return frame

    def _parse(self, data):
        raise NotImplementedError
