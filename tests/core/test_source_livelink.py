"""Live Link Face decoder (vstream_addon/core/sources/livelink.py) on the app's real packets.

LLV's recordings (tests/peers.py) hold packets from Epic's iPhone app:
`dao.gesichter` is a real face, each `debug-<channel>.gesichter` moves one channel.
"""

import glob
import math
import os
import random
import struct

import pytest

from conftest import check_frame_sane, fuzz_in_receiver, mutated_datagrams
from peers import LLV_EXAMPLES, llv_recording
from vstream_addon.shared import arkit
from vstream_addon.core import sources
from vstream_addon.core.sources import livelink

ANGLES = ("headyaw", "headpitch", "headroll", "lefteyeyaw", "lefteyepitch", "lefteyeroll",
          "righteyeyaw", "righteyepitch", "righteyeroll")
recording = llv_recording


def packet(values, device=b"DEADC0DE-1337-1337-1337-CAFEBABE", subject=b"iPhone", frame=100, subframe=0.5,
           fps=(60, 1), version=6, count=None):
    """A packet as the app sends it (the layout in livelink.py's docstring)."""
    count = len(values) if count is None else count
    return (struct.pack(">B", version) + struct.pack(">i", len(device)) + device
            + struct.pack(">i", len(subject)) + subject + struct.pack(">ifii", frame, subframe, *fps)
            + struct.pack(">B", count) + struct.pack(">%df" % len(values), *values))


def rotate(q, v):
    w, x, y, z = q
    vx, vy, vz = v
    tx, ty, tz = 2 * (y * vz - z * vy), 2 * (z * vx - x * vz), 2 * (x * vy - y * vx)
    return (vx + w * tx + (y * tz - z * ty), vy + w * ty + (z * tx - x * tz), vz + w * tz + (x * ty - y * tx))


FORWARD = (0.0, -1.0, 0.0)  # the avatar faces -Y; +X is the subject's left, +Z up


def test_known_values():
    values = [i / 100.0 for i in range(52)] + [0.0] * 9
    frame, = livelink.Decoder().decode(packet(values))
    assert frame.face and not frame.sender_calibrates
    assert all(abs(a - b) < 1e-6 for a, b in zip(frame.weights, values[:52]))
    assert frame.t == pytest.approx(100.5 / 60)
    assert frame.quat == pytest.approx((1, 0, 0, 0)) and frame.position == (0.0, 0.0, 0.0)

    def head(yaw=0.0, pitch=0.0, roll=0.0):
        frame, = livelink.Decoder().decode(packet([0.0] * 52 + [yaw, pitch, roll] + [0.0] * 6))
        return frame.quat

    # Yaw > 0 turns toward the subject's right: -0.3 rad about the avatar's +Z.
    assert head(yaw=0.3) == pytest.approx((math.cos(0.15), 0, 0, -math.sin(0.15)))
    assert rotate(head(yaw=0.3), FORWARD)[0] < -0.25
    # Pitch > 0 looks down: a positive turn about +X (the protocol's looking up is negative).
    assert head(pitch=0.2) == pytest.approx((math.cos(0.1), math.sin(0.1), 0, 0))
    assert rotate(head(pitch=0.2), FORWARD)[2] < -0.15
    # Roll > 0 tilts toward the subject's left shoulder: positive about +Y.
    assert head(roll=0.1) == pytest.approx((math.cos(0.05), 0, math.sin(0.05), 0))


def test_string_lengths_are_read_not_assumed():
    for device in (b"", b"x", b"A" * 36, "ger\u00e4t-\u2603".encode("utf-8") * 9):
        decoder = livelink.Decoder()
        frames = decoder.decode(packet([0.5] * 61, device=device, subject=b"Sub" * 20))
        assert frames and frames[0].weights[0] == 0.5, device
        assert decoder.subject == "Sub" * 20


def test_refusals_by_reason():
    good = packet([0.1] * 61)
    cases = {
        livelink.REJECT_VERSION: [packet([0.1] * 61, version=5), b"\x07" + good[1:]],
        livelink.REJECT_LENGTH: [good[:1] + struct.pack(">i", -1) + good[5:]],
        livelink.REJECT_SIZE: [b"", good[:1], good[:-1], good + b"\x00", good[:40],
                               good[:1] + struct.pack(">i", 10 ** 6) + good[5:]],
        livelink.REJECT_COUNT: [packet([0.1] * 51), packet([0.1] * 62)],
        livelink.REJECT_TIME: [packet([0.1] * 61, fps=(0, 1)), packet([0.1] * 61, fps=(60, 0)),
                               packet([0.1] * 61, fps=(-30, 1))],
        livelink.REJECT_NONFINITE: [packet([0.1] * 60 + [math.nan]), packet([math.inf] + [0.1] * 60),
                                    packet([0.1] * 61, subframe=math.nan)],
    }
    decoder = livelink.Decoder()
    for reason, datagrams in cases.items():
        for d in datagrams:
            assert decoder.decode(d) is None, (reason, d[:20])
        assert decoder.rejected[reason] == len(datagrams), (reason, decoder.rejected)
    assert decoder.accepted == 0
    assert set(decoder.rejected) <= set(livelink.REJECT_REASONS)
    # 52 to 61 values are all the app's own layouts (older versions sent fewer angles).
    assert decoder.decode(packet([0.1] * 52))[0].eyes is None
    assert decoder.decode(packet([0.1] * 55))[0].eyes is None


def test_100000_random_and_mutated_datagrams_never_raise():
    rng = random.Random(11)
    good = recording("dao.gesichter")[::20] + [packet([0.5] * 61, device=b"")]
    n = 100_000
    decoder, sent = fuzz_in_receiver(sources.by_key("LIVELINK"), mutated_datagrams(rng, good, n))
    assert sent == n
    assert decoder.accepted + decoder.rejected_total == n
    assert set(decoder.rejected) <= set(livelink.REJECT_REASONS)
    assert decoder.accepted > 1000 and len(decoder.rejected) >= 5, (decoder.accepted, decoder.rejected)


def test_every_llv_example_decodes():
    files = sorted(glob.glob(os.path.join(LLV_EXAMPLES, "*.gesichter")))
    assert len(files) == 63
    for path in files:
        decoder = livelink.Decoder()
        packets = recording(os.path.basename(path))
        frames = [f for p in packets for f in decoder.decode(p)]
        assert decoder.rejected_total == 0 and len(frames) == len(packets) > 0, path
        for frame in frames:
            check_frame_sane(frame)


def _changes(frames, index):
    return max(f.weights[index] for f in frames) - min(f.weights[index] for f in frames)


@pytest.mark.parametrize("channel", arkit.ARKIT_NAMES)
def test_each_debug_recording_moves_exactly_its_channel(channel):
    decoder = livelink.Decoder()
    frames = [f for p in recording("debug-%s.gesichter" % channel.lower()) for f in decoder.decode(p)]
    moved = [name for i, name in enumerate(arkit.ARKIT_NAMES) if _changes(frames, i) > 0.0]
    assert moved == [channel]
    assert max(f.weights[arkit.INDEX[channel]] for f in frames) > 0.8
    assert all(f.quat == pytest.approx((1, 0, 0, 0)) for f in frames)
    assert all(e == pytest.approx((1, 0, 0, 0)) for f in frames for e in f.eyes)


@pytest.mark.parametrize("angle", ANGLES)
def test_each_debug_angle_recording_turns_exactly_its_part(angle):
    decoder = livelink.Decoder()
    frames = [f for p in recording("debug-%s.gesichter" % angle) for f in decoder.decode(p)]
    assert all(_changes(frames, i) == 0.0 for i in range(52))
    part = 0 if angle.startswith("head") else (1 if angle.startswith("left") else 2)
    # The avatar axis each angle turns about: yaw about Z, pitch about X, roll about Y.
    axis = {"yaw": 3, "pitch": 1, "roll": 2}[angle.split("eye")[-1].replace("head", "")]
    turned = 0
    for f in frames:
        rotations = (f.quat,) + tuple(f.eyes)
        for i, q in enumerate(rotations):
            if i != part:
                assert q == pytest.approx((1, 0, 0, 0))
        q = rotations[part]
        assert all(abs(q[k]) < 1e-9 for k in (1, 2, 3) if k != axis), q
        turned += abs(q[axis]) > 0.1
    assert turned > len(frames) / 2


def test_real_face_recording_is_radians_and_the_eyes_agree_with_the_blendshapes():
    """dao.gesichter, a real face: the angles' units and signs, checked against the app's own eyeLook* weights."""
    decoder = livelink.Decoder()
    frames = [f for p in recording("dao.gesichter") for f in decoder.decode(p)]
    assert len(frames) == 180
    # Timecode frames at 60 fps; LLV's recorder missed a few packets, so some steps are longer.
    steps = sorted(b.t - a.t for a, b in zip(frames, frames[1:]))
    assert steps[0] > 0 and steps[len(steps) // 2] == pytest.approx(1 / 60, rel=0.01)
    w = {name: [f.weights[i] for f in frames] for i, name in enumerate(arkit.ARKIT_NAMES)}
    # Looking toward the subject's left (+X) is the left eye looking out and the right eye in.
    toward_left = {("Left", "Out"): True, ("Left", "In"): False, ("Right", "In"): True, ("Right", "Out"): False}
    for (side, look), left in toward_left.items():
        other = "In" if look == "Out" else "Out"
        eye = 0 if side == "Left" else 1
        xs = [rotate(f.eyes[eye], FORWARD)[0] for k, f in enumerate(frames)
              if w["eyeLook%s%s" % (look, side)][k] > 0.15 and w["eyeLook%s%s" % (other, side)][k] == 0.0]
        assert len(xs) >= 15, (side, look, len(xs))
        assert all((x > 0) == left for x in xs), (side, look, xs)
    for k, f in enumerate(frames):
        # The whole recording looks down at the phone (eyeLookDown 0.16..0.42): gaze below level.
        assert w["eyeLookDownLeft"][k] > 0.1 and w["eyeLookDownRight"][k] > 0.1
        assert rotate(f.eyes[0], FORWARD)[2] < 0 and rotate(f.eyes[1], FORWARD)[2] < 0
        # Radians: the head stays within 30 degrees; read as degrees it would not move at all.
        assert 2 * math.degrees(math.acos(min(1.0, abs(f.quat[0])))) < 30
    turn = max(2 * math.degrees(math.acos(min(1.0, abs(f.quat[0])))) for f in frames)
    assert turn > 10, "a real face turns its head more than 10 degrees in 3 s of recording"
