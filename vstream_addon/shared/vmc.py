"""The VMC protocol's names, for both sides: the tracker's `--vmc` sender and the add-on's VMC source.

VMC (sh-akira/VirtualMotionCaptureProtocol) is OSC over UDP; a marionette
(the receiver) listens on DEFAULT_PORT. docs/PROTOCOL.md ("VMC output") has
the bundle vstream-tracker sends.

`BundleTemplate` writes an OSC bundle whose messages are fixed and whose
numbers change, the way a performer sends the same bundle every frame: the
bytes python-osc's builders make (tests/tracker/test_vmc_output.py compares
them), packed with one struct call. Pure Python (struct), like the rest of shared/.
"""

import struct
from operator import itemgetter

DEFAULT_PORT = 39539
DEFAULT_HOST = "127.0.0.1"

BLEND_VAL = "/VMC/Ext/Blend/Val"      # (s name, f value): one blendshape, held until Apply
BLEND_APPLY = "/VMC/Ext/Blend/Apply"  # (): the values so far make one frame
BONE_POS = "/VMC/Ext/Bone/Pos"        # (s bone, f px, py, pz, qx, qy, qz, qw)
OK = "/VMC/Ext/OK"                    # (i loaded[, i calibration state, i mode[, i tracking]])
TIME = "/VMC/Ext/T"                   # (f seconds): the sender's clock

_BUNDLE_HEAD = b"#bundle\x00" + struct.pack(">Q", 1)   # time tag 1: "immediately"


def osc_string(text):
    """An OSC string: UTF-8, then 1-4 NULs to a multiple of 4 bytes."""
    raw = text.encode("utf-8")
    return raw + b"\x00" * (4 - len(raw) % 4)


class BundleTemplate:
    """One OSC bundle (time tag immediately) of fixed messages; only their numbers change.

    messages: [(address, (string arguments...), number tags)], number tags a string of
    "i" (int32) and "f" (float32) for the arguments after the strings. A message's
    arguments are its strings then its numbers (what VMC's messages are).
    """

    def __init__(self, messages):
        fmt, constants, order = [">"], [], []   # order: struct field -> index in numbers + constants
        pending = [_BUNDLE_HEAD]
        count = sum(len(tags) for _, _, tags in messages)

        def flush():
            if pending:
                chunk = b"".join(pending)
                fmt.append("%ds" % len(chunk))
                order.append(count + len(constants))
                constants.append(chunk)
                pending.clear()

        number = 0
        for address, strings, tags in messages:
            head = osc_string(address) + osc_string("," + "s" * len(strings) + tags)
            head += b"".join(osc_string(s) for s in strings)
            pending.append(struct.pack(">i", len(head) + 4 * len(tags)) + head)
            if tags:
                flush()
                fmt.append(tags)
                order.extend(range(number, number + len(tags)))
                number += len(tags)
        flush()
        self.count = count
        self._struct = struct.Struct("".join(fmt))
        self._constants = tuple(constants)
        self._order = itemgetter(*order) if len(order) > 1 else (lambda values: (values[order[0]],))

    def pack(self, numbers):
        """The bundle's bytes with `numbers` (a tuple, every message's numbers in order)."""
        return self._struct.pack(*self._order(numbers + self._constants))
