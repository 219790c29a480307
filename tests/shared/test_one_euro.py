"""shared/one_euro.py: the One Euro filter the tracker and the add-on share (its numpy form gives
the list form's numbers)."""

import math
import random

import numpy as np
import pytest

from vstream_addon.shared import one_euro


def test_alpha_matches_the_one_euro_formula():
    # tau = 1 / (2 pi fc); alpha = 1 / (1 + tau / dt)
    assert one_euro.alpha(1.0, 1 / 60) == pytest.approx(1 / (1 + (1 / (2 * math.pi)) * 60))
    assert one_euro.alpha(1.0, 1 / 60) == pytest.approx(0.0948, abs=1e-4)


def test_vector_first_sample_passes_then_low_pass_without_beta():
    f = one_euro.OneEuroVector(min_cutoff=1.0, beta=0.0)
    assert f([0.2, 0.5], 0.0) == [0.2, 0.5]
    a = one_euro.alpha(1.0, 1 / 60)
    out = f([1.2, 0.5], 1 / 60)
    assert out[0] == pytest.approx(0.2 + a * 1.0)
    assert out[1] == pytest.approx(0.5)


def test_vector_beta_follows_fast_moves_sooner():
    slow, fast = one_euro.OneEuroVector(1.0, 0.0), one_euro.OneEuroVector(1.0, 5.0)
    for f in (slow, fast):
        f([0.0], 0.0)
    for i in range(1, 6):
        s, q = slow([1.0], i / 60)[0], fast([1.0], i / 60)[0]
    assert q > s + 0.2


def test_vector_still_input_stays_put_and_converges():
    f = one_euro.OneEuroVector(1.0, 0.5)
    f([0.0], 0.0)
    for i in range(1, 600):
        out = f([1.0], i / 60)
    assert out[0] == pytest.approx(1.0, abs=1e-6)


def test_vector_bad_timestamps_still_move():
    f = one_euro.OneEuroVector(1.0, 0.0)
    f([0.0], 5.0)
    out = f([1.0], 5.0)  # same time: treated as one 60 fps frame
    assert out[0] == pytest.approx(one_euro.alpha(1.0, one_euro.FALLBACK_DT))


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
