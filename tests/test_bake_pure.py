"""The bake's per-frame transforms are live apply's, without Blender: the numpy
and plain-Python paths of each give the same numbers, and a bake's posed values
equal feeding the frames one by one through FaceTransform.values.
"""

import math
import random

import numpy as np
import pytest

from vstream_addon.core import arrays, keys, neutral, quaternions, recorder, rig
from vstream_addon.core.face_transform import FaceTransform, Filters
from vstream_addon.shared import one_euro, protocol


def unit(q):
    n = math.sqrt(sum(c * c for c in q))
    return tuple(c / n for c in q)


def random_frames(rng, n, shuffle=False, duplicate_times=False):
    frames = []
    for i in range(n):
        t = 10.0 + i / 60.0 + rng.uniform(-0.004, 0.004)
        if duplicate_times and i % 9 == 5:
            t = frames[-1].t  # two frames with one capture time: merged on one key
        q = unit((1.0, rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)))
        frames.append(protocol.Frame(seq=i, t=t, face=True, quat=q,
                                     position=tuple(rng.uniform(-0.05, 0.05) for _ in range(3)),
                                     weights=tuple(rng.uniform(-0.1, 1.1) for _ in range(52))))
    if shuffle:
        # Arrival order is not capture order: the bake smooths in capture order.
        for i in range(0, n - 1, 7):
            frames[i], frames[i + 1] = frames[i + 1], frames[i]
    return frames


def full_transform(smooth=True):
    rng = random.Random(5)
    return FaceTransform(neutral_weights=neutral.clean_neutral([rng.uniform(0, 0.4) for _ in range(52)]),
                              q0=unit((0.98, 0.05, -0.1, 0.15)), p0=(0.01, -0.02, 0.03), smooth=smooth,
                              min_cutoff=1.3, beta=0.7, move=True, location_scale=2.0,
                              neck_bone="neck", neck_split=0.4)


# -- each transform: numpy and plain Python agree ------------------------------------------

def test_one_euro_vector_array_path_equals_list_path():
    rng = random.Random(1)
    listed, arrayed = one_euro.OneEuroVector(1.2, 0.6), one_euro.OneEuroVector(1.2, 0.6)
    t = 0.0
    for i in range(300):
        t += rng.choice((1 / 60, 1 / 30, 0.0))  # includes a repeated timestamp
        v = [rng.random() for _ in range(52)]
        a = listed(v, t)
        b = arrayed(np.array(v), t)
        assert isinstance(b, np.ndarray)
        assert list(b) == a  # the same IEEE operations: equal, not just close


def test_one_euro_vector_continues_from_list_state_as_array():
    # Live ticks fill the filter with lists; the bake continues with arrays.
    rng = random.Random(2)
    samples = [[rng.random() for _ in range(52)] for _ in range(50)]
    ref, mixed = one_euro.OneEuroVector(), one_euro.OneEuroVector()
    for i, v in enumerate(samples):
        want = ref(v, i / 60)
        got = mixed(v, i / 60) if i < 20 else list(mixed(np.array(v), i / 60))
        assert got == want


def test_rescale_matrix_equals_rows():
    rng = random.Random(3)
    base = neutral.clean_neutral([rng.choice((0.0, rng.uniform(0, 1))) for _ in range(52)])
    rows = [[rng.uniform(-0.2, 1.2) for _ in range(52)] for _ in range(40)]
    rows[3][4], rows[5][7], rows[6][8] = float("nan"), float("inf"), float("-inf")
    matrix = neutral.rescale(np.array(rows), base)
    for row, got in zip(rows, matrix):
        assert list(got) == neutral.rescale(row, base)


def test_normalized_spelled_out_keeps_the_old_numbers():
    rng = random.Random(4)
    for _ in range(1000):
        q = tuple(rng.uniform(-2, 2) for _ in range(4))
        n = math.sqrt(sum(c * c for c in q))
        assert quaternions.normalized(q) == tuple(float(c) / n for c in q)


@pytest.mark.parametrize("plain", [False, True])
def test_bone_locations_equal_live_bone_location(plain, monkeypatch):
    rng = random.Random(6)
    rest = unit((0.7, 0.1, -0.7, 0.2))
    positions = [tuple(rng.uniform(-1, 1) for _ in range(3)) for _ in range(100)]
    if plain:
        monkeypatch.setattr(arrays, "np", None)
    curves = rig.bone_locations(positions, 2.5, rest)
    for i, p in enumerate(positions):
        want = rig.bone_location(p, 2.5, rest)
        assert [curves[axis][i] for axis in range(3)] == pytest.approx(want, abs=1e-12)


def test_split_rotation_neck_and_head_make_the_whole_turn():
    q = unit((0.9, 0.2, -0.3, 0.25))
    q_neck, q_head = rig.split_rotation(q, 0.4, True, True, True)
    both = quaternions.mul(q_neck, q_head)
    assert abs(sum(a * b for a, b in zip(both, q))) == pytest.approx(1.0, abs=1e-12)
    angle = 2 * math.acos(min(1.0, abs(q[0])))
    assert 2 * math.acos(q_neck[0]) == pytest.approx(0.4 * angle)
    assert rig.split_rotation(q, 0.4, False, True, False) == (None, q)
    assert rig.split_rotation(q, 0.4, True, False, False) == (q, None)
    assert rig.split_rotation(q, 0.4, True, True, False)[1] == q  # a neck that is no parent: head takes all


# -- the bake's posed values are live apply's, frame by frame ---------------------------------

def live_sequence(frames, transform, filters=None):
    """What live apply shows for each frame fed one a tick, in capture order: {index: values}."""
    filters = filters or Filters()
    out = {}
    for i in sorted(range(len(frames)), key=lambda i: frames[i].t):
        out[i] = transform.values(frames[i], filters)
    return out


@pytest.mark.parametrize("plain", [False, True])
@pytest.mark.parametrize("smooth", [True, False])
def test_posed_values_equal_live_values(plain, smooth, monkeypatch):
    rng = random.Random(7)
    frames = random_frames(rng, 400, shuffle=True, duplicate_times=True)
    transform = full_transform(smooth)
    # Filters that already ran, as at a Record pressed mid-session.
    warm = Filters()
    for f in random_frames(random.Random(8), 30):
        full_transform(True).values(f, warm)
    want = live_sequence(frames, transform, warm.copy())
    rec = recorder.Recorder()
    for f in frames:
        rec.add(f)
    plan = keys.plan_keys([f.t for f in frames], 60.0)
    assert plan.merged > 0
    if plain:
        monkeypatch.setattr(arrays, "np", None)
    matrix = rec.weight_matrix(frames)
    before = (warm.weights.x[:], warm.quat.q)
    weights, quats, positions = transform.take_values(frames, plan.samples, warm, matrix)
    assert (warm.weights.x, warm.quat.q) == before, "the kept filters are copied, not advanced"
    assert isinstance(weights, np.ndarray) is (not plain)
    for k, i in enumerate(plan.samples):
        w, q, p = want[i]
        assert list(weights[k]) == pytest.approx(list(w), abs=1e-12)
        assert quats[k] == pytest.approx(q, abs=1e-12)
        assert positions[k] == pytest.approx(p, abs=1e-12)


def test_posed_values_plain_take_untouched():
    frames = random_frames(random.Random(9), 20)
    weights, quats, positions = FaceTransform().take_values(frames, list(range(20)), Filters())
    assert weights is None  # the bake reads the recorded matrix as before
    assert quats == [f.quat for f in frames] and positions == [f.position for f in frames]


def test_transform_from_options_and_key():
    class Options:
        neutral_rotation = (1.0, 0.0, 0.0, 0.0)
        neutral_position = (0.0, 0.0, 0.0)
        smooth, smooth_min_cutoff, smooth_beta = True, 2.0, 0.1
        head_location, location_scale = True, 3.0
        neck_bone, neck_split = "neck", 0.25
    a = FaceTransform.from_options(Options, [0.1] * 52)
    assert (a.smooth, a.min_cutoff, a.move, a.location_scale, a.neck_bone, a.neck_split) == \
        (True, 2.0, True, 3.0, "neck", 0.25)
    assert not a.has_q0 and a.changes_weights
    assert a.key() == FaceTransform.from_options(Options, [0.1] * 52).key()
    Options.neck_split = 0.5
    assert a.key() != FaceTransform.from_options(Options, [0.1] * 52).key()
    assert FaceTransform.from_options(None).key() == FaceTransform().key()


@pytest.mark.parametrize("plain", [False, True])
def test_posed_values_head_only_take_skips_the_weights(plain, monkeypatch):
    # No face mesh: the weights are not smoothed at all, the head comes out the same.
    frames = random_frames(random.Random(10), 120)
    if plain:
        monkeypatch.setattr(arrays, "np", None)
    samples = list(range(len(frames)))
    both = full_transform().take_values(frames, samples, Filters(), recorder.Recorder().weight_matrix(frames))
    head_only = full_transform().take_values(frames, samples, Filters(), need_weights=False)
    assert head_only[0] is None and both[0] is not None
    assert head_only[1] == both[1] and head_only[2] == both[2]


def test_take_import_reads_head_position():
    from vstream_addon.core import receiver
    from vstream_addon.shared.take import TakeError
    record = {"t": 1.0, "face": True, "weights": {"jawOpen": 0.5},
              "head": {"quat": [1, 0, 0, 0], "position": [0.01, -0.02, 0.03]}}
    assert receiver.frame_from_record(record, "x:2").position == (0.01, -0.02, 0.03)
    del record["head"]["position"]
    assert receiver.frame_from_record(record, "x:2").position == (0.0, 0.0, 0.0)
    for bad in ([0.1, 0.2], "0,0,0", [0.0, float("nan"), 0.0]):
        record["head"]["position"] = bad
        with pytest.raises(TakeError, match="x:2.*position"):
            receiver.frame_from_record(record, "x:2")
