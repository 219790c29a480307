"""Reading OSC datagrams of one repeated layout without python-osc (the VMC decoder's fast path).

A VMC performer sends the same bundle every frame with other numbers in it.
`Layout.learn` takes one datagram and python-osc's parse of it and, only when
encoding python-osc's messages back (address, type tags s/f/i, strings before
numbers) gives the datagram byte for byte, notes which bytes are numbers;
`Layout.read` then reads a datagram of the same size whose every other byte is
the same with one struct call. Anything else is left to python-osc.

`message_spans` also guards python-osc: it finds where a bundle's messages sit
and refuses a bundle element of negative size, which python-osc 1.10 loops on
forever.
"""

import struct
from operator import itemgetter

from ...shared.vmc import osc_string

_BUNDLE = b"#bundle\x00"
_SIZE = struct.Struct(">i")


def message_spans(data):
    """(offset, length) of each message in `data`, in datagram order, found as python-osc
    finds them; None when a bundle (at any depth) holds an element of negative size.

    python-osc 1.10's bundle parser adds each element's size to its position; a
    negative size steps back onto the size field it just read, and it loops
    forever (20 bytes are enough to hang the receiver), so this walk runs
    first. Nested bundles are walked with a stack, so deep nesting costs no
    recursion. Elements that are neither a bundle nor a message (python-osc
    skips them) and malformed tails (python-osc refuses them) yield nothing here.
    """
    if not data.startswith(_BUNDLE):
        return [(0, len(data))] if data[:1] == b"/" else []
    spans = []
    stack = [(16, len(data))]  # after "#bundle\0" and the time tag
    while stack:
        i, end = stack.pop()
        while i + 4 <= end:
            (size,) = _SIZE.unpack_from(data, i)
            if size < 0:
                return None
            start, stop = i + 4, min(i + 4 + size, end)
            i = stop
            if data.startswith(_BUNDLE, start, stop):
                stack.append((i, end))  # the rest of this bundle, after the nested one
                stack.append((start + 16, stop))
                break
            if data.startswith(b"/", start, stop):
                spans.append((start, stop - start))
    return spans


def number(value):
    # OSC ints and floats both carry numbers; bool (OSC T/F) is an int to Python but not a number here.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def picker(indices):
    """f(sequence) -> tuple of the items at `indices` (itemgetter, always a tuple)."""
    if not indices:
        return lambda values: ()
    get = itemgetter(*indices)
    return get if len(indices) > 1 else (lambda values: (get(values),))


class Layout:
    """Where the numbers sit in one datagram python-osc parsed, to read the next ones like it.

    Built only when encoding python-osc's messages back (address, type tags
    s/f/i, strings before numbers) gives the datagram's messages byte for
    byte, so every byte outside the numbers fixes what python-osc would parse.
    """

    def __init__(self, size, fmt, fixed, expected, numbers, messages):
        self.size = size
        self.struct = struct.Struct(fmt)
        self.fixed = picker(fixed)
        self.expected = expected
        self.numbers = picker(numbers)
        self.messages = messages  # [(address, leading string params, first number, end)]

    @classmethod
    def learn(cls, data, timed_messages):
        """The layout of `data`, or None when it cannot be read this way."""
        if len({timed.time for timed in timed_messages}) > 1:
            return None  # python-osc reorders bundles timed in the future: keep its order
        spans = message_spans(data)
        if spans is None or len(spans) != len(timed_messages):
            return None
        fmt, fixed, expected, numbers, messages = [">"], [], [], [], []
        pos = count = 0

        def keep(upto):
            # The bytes from pos to upto must stay the same.
            if upto > pos:
                fixed.append(len(fmt) - 1)
                fmt.append("%ds" % (upto - pos))
                expected.append(data[pos:upto])

        for (start, length), timed in zip(spans, timed_messages):
            message = timed.message
            params = list(message.params)
            strings = 0
            while strings < len(params) and isinstance(params[strings], str):
                strings += 1
            tail = params[strings:]
            tags = ["s"] * strings
            for value in tail:
                if not number(value):
                    return None
                tags.append("i" if isinstance(value, int) else "f")
            head = osc_string(message.address)
            if params or data[start:start + length] != head:  # a message without arguments may omit ","
                head += osc_string("," + "".join(tags))
            head += b"".join(osc_string(text) for text in params[:strings])
            encoded = head + struct.pack(">" + "".join(tags[strings:]), *tail)
            if data[start:start + length] != encoded or message.dgram != encoded:
                return None
            keep(start + len(head))
            for tag in tags[strings:]:
                numbers.append(len(fmt) - 1)
                fmt.append(tag)
            messages.append((message.address, tuple(params[:strings]), count, count + len(tail)))
            count += len(tail)
            pos = start + length
        keep(len(data))
        return cls(len(data), "".join(fmt), fixed, tuple(expected), numbers, messages)

    def read(self, data):
        """The numbers of a datagram laid out like this one, in order, or None."""
        if len(data) != self.size:
            return None
        values = self.struct.unpack(data)
        if self.fixed(values) != self.expected:
            return None
        return self.numbers(values)
