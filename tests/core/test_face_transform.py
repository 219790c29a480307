"""core/face_transform.py: what live apply does to a frame before posing it (neutral, smoothing),
and the bake's per-take form of it: a bake's posed values equal feeding the frames one by one
through FaceTransform.values, on the numpy and the plain-Python paths alike.
"""

import random

import numpy as np
import pytest

from turns import angle_between, unit, yaw
from vstream_addon.core import arrays, keys, neutral, recorder
from vstream_addon.core.face_transform import FaceTransform, Filters, OneEuroQuat
from vstream_addon.shared import protocol


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


def test_quat_filter_lags_then_converges_and_stays_unit():
    f = OneEuroQuat(1.0, 0.0)
    assert f((1.0, 0.0, 0.0, 0.0), 0.0) == (1.0, 0.0, 0.0, 0.0)
    first = f(yaw(40), 1 / 60)
    assert 0.0 < angle_between(first, (1, 0, 0, 0)) < 10.0
    for i in range(2, 600):
        q = f(yaw(40), i / 60)
    assert angle_between(q, yaw(40)) < 1e-3
    assert sum(c * c for c in q) == pytest.approx(1.0)


def test_quat_filter_treats_q_and_minus_q_as_one_rotation():
    f = OneEuroQuat(1.0, 0.0)
    f(yaw(30), 0.0)
    q = f(tuple(-c for c in yaw(30)), 1 / 60)
    assert angle_between(q, yaw(30)) < 1e-6
