"""core/neutral.py: the add-on's own neutral (weights rescaled, head pose taken out)."""

import random

import numpy as np
import pytest

from turns import angle_between, yaw
from vstream_addon.core import neutral
from vstream_addon.shared import arkit


def test_rescale_neutral_to_zero_and_full_stays_full():
    base = neutral.clean_neutral([0.2] + [0.0] * (arkit.NUM_CHANNELS - 1))
    w = [0.2] + [0.3] * (arkit.NUM_CHANNELS - 1)
    assert neutral.rescale(w, base)[0] == 0.0
    assert neutral.rescale([0.6] + w[1:], base)[0] == pytest.approx(0.5)
    assert neutral.rescale([1.0] + w[1:], base)[0] == pytest.approx(1.0)
    assert neutral.rescale([0.1] + w[1:], base)[0] == 0.0          # below neutral: 0, not negative
    assert neutral.rescale(w, base)[1] == pytest.approx(0.3)        # channels without neutral unchanged


def test_clean_neutral_caps_and_checks_length():
    base = neutral.clean_neutral([1.0, float("nan"), -0.5] + [0.1] * (arkit.NUM_CHANNELS - 3))
    assert base[:3] == [neutral.MAX_NEUTRAL, 0.0, 0.0]
    assert neutral.rescale([1.0, 0.5, 0.5] + [0.1] * 49, base)[0] == 1.0
    with pytest.raises(ValueError):
        neutral.clean_neutral([0.0] * 3)


def test_relative_rotation_and_position():
    q = neutral.relative_rotation(yaw(50), yaw(20))
    assert angle_between(q, yaw(30)) < 1e-9
    assert angle_between(neutral.relative_rotation(yaw(20), yaw(20)), (1, 0, 0, 0)) < 1e-6
    assert neutral.relative_position((0.1, 0.2, 0.3), (0.1, 0.0, 0.5)) == pytest.approx((0.0, 0.2, -0.2))


def test_rescale_matrix_equals_rows():
    rng = random.Random(3)
    base = neutral.clean_neutral([rng.choice((0.0, rng.uniform(0, 1))) for _ in range(52)])
    rows = [[rng.uniform(-0.2, 1.2) for _ in range(52)] for _ in range(40)]
    rows[3][4], rows[5][7], rows[6][8] = float("nan"), float("inf"), float("-inf")
    matrix = neutral.rescale(np.array(rows), base)
    for row, got in zip(rows, matrix):
        assert list(got) == neutral.rescale(row, base)
