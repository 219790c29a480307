"""Take files: what `vstream-tracker --out TAKE.jsonl` writes (docs/PROTOCOL.md).

One JSON object per line: a header, then one record per source frame, in order.
Pure Python, shared by the tracker (writer) and the add-on (importer).
"""

import json
from itertools import chain

FORMAT = "vstream-take"
VERSION = 1


def header(fps, source, width, height):
    return {"format": FORMAT, "version": VERSION, "fps": fps, "source": source,
            "width": width, "height": height}


def frame_record(frame_index, t, face, weights, quat, euler_deg, position, landmarks):
    """weights: {ARKit name: 0..1}; quat (w, x, y, z); euler_deg (pitch, yaw, roll)."""
    pitch, yaw, roll = euler_deg
    return {
        "frame": frame_index,
        "t": round(t, 6),
        "face": bool(face),
        "weights": {k: round(float(v), 5) for k, v in weights.items()},
        "head": {
            "quat": [round(float(q), 6) for q in quat],
            "euler_deg": {"pitch": round(pitch, 3), "yaw": round(yaw, 3), "roll": round(roll, 3)},
            "position": [round(float(p), 5) for p in position],
        },
        "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in landmarks] if landmarks is not None else None,
    }


# frame_line: json.dumps writes a float as repr(); repr(round(x, n)) is the text of
# "%.nf" % x (both round the exact binary value correctly) without its trailing zeros
# (one digit is kept after the point) and, below 1e-4, in exponent form. Up to
# FIXED_LIMIT each n-decimal value is its own double, so no shorter text gives it back.
FIXED_LIMIT = 1e9


def _fixed(fmt, values, decimals):
    """fmt % values with each number written as repr(round(v, decimals)) writes it. In fmt
    each number is "%.<decimals>f|": "|" marks where a number ends (and is taken out); a
    weight's name with "|" or ":" in it takes frame_record's way."""
    text = fmt % values
    # Trailing zeros off, one digit kept after the point. Each str.replace is one C pass.
    text = text.replace("." + "0" * decimals + "|", ".0")
    # At most decimals - 1 zeros follow a nonzero digit: strip 4, then 2, then 1 (any count
    # up to 7 in three passes).
    step = 1 << ((decimals - 1).bit_length() - 1) if decimals > 1 else 0
    while step:
        text = text.replace("0" * step + "|", "|")
        step >>= 1
    text = text.replace("|", "")
    if decimals == 5 and "0.0000" in text:   # 1e-05 .. 9e-05, as repr writes them
        for digit in "123456789":
            text = text.replace(":0.0000" + digit, ":%se-05" % digit).replace(
                ":-0.0000" + digit, ":-%se-05" % digit)
    return text


_LANDMARKS_FMT = {}   # number of points -> the formats of their list (any values, whole numbers)
_WEIGHTS_FMT = {}     # weight names in order -> the format of their object


def frame_line(frame_index, t, face, weights, quat, euler_deg, position, landmarks):
    """The JSON text of frame_record(...) as TakeWriter writes it (json.dumps, no spaces),
    byte for byte, made in about a sixth of the time: the weights and landmarks (188 of
    its numbers) are formatted in one go instead of rounded one by one into a dict.
    Values json.dumps would write otherwise (NaN, infinite, huge) take frame_record's way."""
    values = tuple(map(float, weights.values()))
    points = ()
    if landmarks is not None:
        if hasattr(landmarks, "ravel"):   # numpy: one call gives the Python floats (ints for an int array)
            points = tuple(map(float, landmarks.ravel().tolist()))
        else:
            points = tuple(map(float, chain.from_iterable(landmarks)))
    # A NaN, an infinity or a value past the limit makes the sum so (each |v| is at most the sum).
    names = tuple(weights)
    fmt = _WEIGHTS_FMT.get(names)
    if fmt is None:
        # None: names that would confuse _fixed; they take frame_record's way.
        fmt = _WEIGHTS_FMT[names] = None if any("|" in n or ":" in n for n in names) else (
            "{" + ",".join(json.dumps(n) + ":%.5f|" for n in names) + "}")
    if fmt is None or not sum(map(abs, values)) + sum(map(abs, points)) < FIXED_LIMIT:
        return json.dumps(frame_record(frame_index, t, face, weights, quat, euler_deg, position, landmarks),
                          separators=(",", ":"))
    text = _fixed(fmt, values, 5)
    if landmarks is None:
        marks = "null"
    else:
        n = len(points) // 2
        if n not in _LANDMARKS_FMT:
            _LANDMARKS_FMT[n] = ("[" + ",".join(["[%.2f|,%.2f|]"] * n) + "]",
                                 "[" + ",".join(["[%d.0,%d.0]"] * n) + "]")
        fractions, whole = _LANDMARKS_FMT[n]
        # dlib's points are whole pixels: "%d.0" writes them as repr does, at half the cost
        # (but a zero may be -0.0, which "%d" would write as 0).
        if all(map(float.is_integer, points)) and 0.0 not in points:
            marks = whole % points
        else:
            marks = _fixed(fractions, points, 2)
    pitch, yaw, roll = euler_deg
    return ('{"frame":%s,"t":%r,"face":%s,"weights":%s,"head":{"quat":[%s],"euler_deg":'
            '{"pitch":%r,"yaw":%r,"roll":%r},"position":[%s]},"landmarks":%s}') % (
        json.dumps(frame_index), float(round(t, 6)), "true" if face else "false", text,
        ",".join(repr(round(float(q), 6)) for q in quat),
        float(round(pitch, 3)), float(round(yaw, 3)), float(round(roll, 3)),
        ",".join(repr(round(float(p), 5)) for p in position), marks)


class TakeWriter:
    def __init__(self, path, head):
        self._file = open(path, "w", encoding="utf-8")
        self._write(head)

    def _write(self, obj):
        self._file.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def write(self, record):
        self._write(record)

    def write_frame(self, *fields):
        """One frame, fields as frame_record's: the same line write(frame_record(...)) writes."""
        self._file.write(frame_line(*fields) + "\n")

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TakeError(ValueError):
    pass


def read_take(path):
    """Return (header, [records]); raise TakeError with the line number on a bad file."""
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    if not lines:
        raise TakeError("%s: empty take file" % path)
    try:
        head = json.loads(lines[0])
    except ValueError as e:
        raise TakeError("%s:1: not JSON (%s)" % (path, e))
    if head.get("format") != FORMAT or head.get("version") != VERSION:
        raise TakeError("%s:1: not a %s v%d header" % (path, FORMAT, VERSION))
    records = []
    for n, line in enumerate(lines[1:], start=2):
        try:
            records.append(json.loads(line))
        except ValueError as e:
            raise TakeError("%s:%d: not JSON (%s)" % (path, n, e))
    return head, records
