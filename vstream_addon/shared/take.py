"""Take files: what `vstream-tracker --out TAKE.jsonl` writes (docs/PROTOCOL.md).

One JSON object per line: a header, then one record per source frame, in order.
Pure Python, shared by the tracker (writer) and the add-on (importer).
"""

import json

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


class TakeWriter:
    def __init__(self, path, head):
        self._file = open(path, "w", encoding="utf-8")
        self._write(head)

    def _write(self, obj):
        self._file.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def write(self, record):
        self._write(record)

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
