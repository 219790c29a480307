"""Pure-Python parts of live apply: One Euro smoothing, the add-on's neutral, the sender flag."""

import math

import pytest

from vstream_addon.core import neutral, quaternions
from vstream_addon.core.face_transform import OneEuroQuat
from vstream_addon.shared import arkit, one_euro, protocol


def yaw(deg):
    h = math.radians(deg) / 2
    return (math.cos(h), 0.0, 0.0, math.sin(h))


def angle_between(a, b):
    dot = abs(sum(x * y for x, y in zip(a, b)))
    return math.degrees(2 * math.acos(min(1.0, dot)))


# -- smoothing -------------------------------------------------------------------

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


# -- neutral -------------------------------------------------------------------------

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


def test_quat_power_splits_a_turn():
    half = quaternions.power(yaw(60), 0.5)
    assert angle_between(half, yaw(30)) < 1e-9
    rest = quaternions.power(yaw(60), 0.5)
    assert angle_between(quaternions.mul(half, rest), yaw(60)) < 1e-9
    assert quaternions.power(tuple(-c for c in yaw(60)), 1.0) == pytest.approx(yaw(60))
    assert quaternions.power((1.0, 0.0, 0.0, 0.0), 0.3) == (1.0, 0.0, 0.0, 0.0)


# -- protocol flag -----------------------------------------------------------------------

def test_sender_calibrates_flag_round_trips_and_defaults_off():
    plain = protocol.Frame(seq=1, t=0.0, face=True)
    data = protocol.encode(plain)
    assert protocol.Decoder().decode(data).sender_calibrates is False
    flagged = protocol.Frame(seq=2, t=0.0, face=False, sender_calibrates=True)
    data = protocol.encode(flagged)
    flags = int.from_bytes(data[6:8], "little")
    assert flags == protocol.FLAG_SENDER_CALIBRATES
    got = protocol.Decoder().decode(data)
    assert got.sender_calibrates is True and got.face is False


def test_vstream_tracker_link_sets_the_flag():
    import socket
    from tracker_service import link as tracker_link
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2.0)
    out = tracker_link.Link(rx.getsockname()[1], 0)
    try:
        out.send(0.0, True, (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0), {})
        frame = protocol.Decoder().decode(rx.recv(1024))
    finally:
        out.close()
        rx.close()
    assert frame.face and frame.sender_calibrates


def test_live_modules_import_without_bpy():
    import subprocess
    import sys
    code = ("import sys; sys.modules['bpy'] = None; sys.modules['mathutils'] = None\n"
            "import vstream_addon.core.face_transform, vstream_addon.core.values, vstream_addon.core.rig, "
            "vstream_addon.core.neutral, vstream_addon.shared.one_euro\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_key_held_at_its_slider_limit_is_not_rewritten_every_tick():
    from vstream_addon.core import values
    plan = values.MeshPlan((0, 0, 2, ""), ["Basis", "jawOpen"], 0, {1: (0.0, 0.5)})
    weights = [0.0] * len(arkit.ARKIT_NAMES)
    weights[arkit.INDEX["jawOpen"]] = 0.8
    assert plan.new_values(weights) and plan.values == [0.0, 0.5]
    assert not plan.new_values(weights) and plan.values == [0.0, 0.5]
    weights[arkit.INDEX["jawOpen"]] = 0.3
    assert plan.new_values(weights) and plan.values == [0.0, 0.3]
