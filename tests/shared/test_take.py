"""take.frame_line writes what json.dumps(frame_record(...)) writes, byte for byte."""

import json
import math
import random

import numpy as np

from vstream_addon.shared import take
from vstream_addon.shared.arkit import ARKIT_NAMES


def _slow(*fields):
    return json.dumps(take.frame_record(*fields), separators=(",", ":"))


def _number(rng):
    """Floats of every kind a take can hold: 0..1 weights, pixels, tiny and negative values,
    values on a rounding tie, signed zeros."""
    kind = rng.randrange(8)
    if kind == 0:
        return rng.random()
    if kind == 1:
        return rng.uniform(-2000.0, 2000.0)
    if kind == 2:
        return rng.choice((1.0, -1.0)) * 10.0 ** rng.uniform(-9.0, -3.0)
    if kind == 3:
        return rng.randrange(-10 ** 7, 10 ** 7) / 10.0 ** rng.randrange(1, 8) + 5e-3 * rng.choice((0, 1))
    if kind == 4:
        return rng.choice((0.0, -0.0, 1.0, 0.5, 0.125, 1e-5, -1e-5, 5e-6, 4.9999e-5, 1e-4, 0.00015))
    if kind == 5:
        return rng.uniform(-1e8, 1e8)
    if kind == 6:
        return round(rng.random(), rng.randrange(1, 7))
    return rng.uniform(-1.0, 1.0) * 1e-3


def _fields(rng, landmarks_as):
    weights = {n: _number(rng) for n in ARKIT_NAMES}
    quat = tuple(_number(rng) for _ in range(4))
    euler = tuple(_number(rng) for _ in range(3))
    position = tuple(_number(rng) for _ in range(3))
    points = [[_number(rng), _number(rng)] for _ in range(68)]
    landmarks = {"none": None, "list": points, "f64": np.array(points),
                 "f32": np.array(points, np.float32)}[landmarks_as]
    return (rng.randrange(10 ** 6), rng.uniform(0.0, 3600.0), rng.random() < 0.8, weights, quat, euler,
            position, landmarks)


def test_frame_line_is_json_dumps_of_frame_record():
    rng = random.Random(18)
    for i in range(1000):
        fields = _fields(rng, ("none", "list", "f64", "f32")[i % 4])
        assert take.frame_line(*fields) == _slow(*fields)


def test_numpy_scalars_and_non_finite_values():
    rng = random.Random(5)
    fields = list(_fields(rng, "f64"))
    fields[3] = {n: np.float64(v) for n, v in fields[3].items()}   # what a tracker may hand over
    fields[5] = tuple(np.float64(v) for v in fields[5])
    assert take.frame_line(*fields) == _slow(*fields)
    for bad in (math.nan, math.inf, -math.inf, 3e15):
        weights = dict(fields[3], jawOpen=bad)
        marks = np.array(fields[7])
        marks[3, 1] = bad
        for changed in ((3, weights), (7, marks)):
            f = list(fields)
            f[changed[0]] = changed[1]
            assert take.frame_line(*f) == _slow(*f)


def test_writer_lines_read_back(tmp_path):
    rng = random.Random(7)
    frames = [_fields(rng, "f64") for _ in range(3)]
    path = str(tmp_path / "take.jsonl")
    with take.TakeWriter(path, take.header(30.0, "clip.mp4", 640, 480)) as writer:
        for f in frames:
            writer.write_frame(*f)
    head, records = take.read_take(path)
    assert head["fps"] == 30.0
    assert records == [json.loads(_slow(*f)) for f in frames]


def test_names_that_look_like_numbers():
    rng = random.Random(3)
    fields = list(_fields(rng, "none"))
    fields[3] = {"a|b": 0.5, "c:0.0000": 0.00002, "x0": 0.1, "y": 0.00003}
    assert take.frame_line(*fields) == _slow(*fields)


def test_whole_pixel_landmarks():
    """dlib's points are whole pixels (written through their own format): zeros of either sign,
    negative and large values, ints, float32."""
    rng = random.Random(11)
    for i in range(300):
        fields = list(_fields(rng, "none"))
        points = [[float(rng.randrange(-5000, 5000)), float(rng.choice((0, 1, 640, -3, 10 ** 8)))] for _ in range(68)]
        if i % 3 == 0:
            points[rng.randrange(68)][rng.randrange(2)] = rng.choice((0.0, -0.0))
        kind = i % 4
        fields[7] = (points if kind == 0 else np.array(points) if kind == 1 else
                     np.array(points, np.float32) if kind == 2 else np.array(points, np.int64))
        assert take.frame_line(*fields) == _slow(*fields)
