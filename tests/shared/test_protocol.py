import math
import random
import struct

import pytest

from vstream_addon.shared import protocol
from vstream_addon.shared.arkit import ARKIT_NAMES, INDEX, NUM_CHANNELS, canonical


def make_frame(**kw):
    weights = [0.0] * NUM_CHANNELS
    weights[INDEX["jawOpen"]] = 0.75
    weights[INDEX["eyeBlinkLeft"]] = 1.0
    base = dict(seq=41, t=12.5, face=True, quat=(0.9659, 0.0, 0.0, 0.2588),
                position=(0.01, -0.02, 0.03), weights=tuple(weights))
    base.update(kw)
    return protocol.Frame(**base)


def test_round_trip_keeps_every_field():
    frame = make_frame()
    data = protocol.encode(frame)
    assert len(data) == protocol.FRAME_SIZE == 256
    decoder = protocol.Decoder()
    out = decoder.decode(data)
    assert out.seq == 41 and out.t == 12.5 and out.face is True
    assert out.quat == pytest.approx(frame.quat, abs=1e-6)
    assert out.position == pytest.approx(frame.position, abs=1e-6)
    assert out.weight_dict()["jawOpen"] == pytest.approx(0.75)
    assert out.weight_dict()["eyeBlinkLeft"] == 1.0
    assert decoder.accepted == 1 and decoder.rejected_total == 0


def test_face_flag_and_sequence_wrap():
    out = protocol.Decoder().decode(protocol.encode(make_frame(face=False, seq=2**32 + 5)))
    assert out.face is False and out.seq == 5


def test_encode_refuses_wrong_weight_count():
    with pytest.raises(ValueError):
        protocol.encode(make_frame(weights=(0.0,) * 10))


def _replace(data, offset, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


def test_each_bad_datagram_is_counted_by_reason():
    good = protocol.encode(make_frame())
    decoder = protocol.Decoder()
    cases = {
        protocol.REJECT_SIZE: [b"", good[:-1], good + b"\0", b"x" * 1000],
        protocol.REJECT_MAGIC: [b"XXXX" + good[4:]],
        protocol.REJECT_VERSION: [_replace(good, 4, "<H", 2)],
        protocol.REJECT_NONFINITE: [_replace(good, 12, "<d", math.nan),
                                    _replace(good, 20, "<f", math.inf),
                                    _replace(good, protocol.FRAME_SIZE - 4, "<f", -math.inf)],
    }
    for reason, datagrams in cases.items():
        for d in datagrams:
            assert decoder.decode(d) is None
        assert decoder.rejected[reason] == len(datagrams), reason
    assert decoder.accepted == 0
    assert set(decoder.rejected) <= set(protocol.REJECT_REASONS)


def test_random_and_mutated_bytes_never_raise():
    rng = random.Random(7)
    good = protocol.encode(make_frame())
    decoder = protocol.Decoder()
    n = 20000
    for i in range(n):
        if i % 2:
            data = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 255, 256, 257, 600])))
        else:
            b = bytearray(good)
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.getrandbits(8)
            data = bytes(b)
        decoder.decode(data)
    assert decoder.accepted + decoder.rejected_total == n
    assert decoder.rejected[protocol.REJECT_SIZE] > 0 and decoder.rejected[protocol.REJECT_MAGIC] > 0


def test_control_message_round_trip_and_rejection():
    assert protocol.decode_control(protocol.encode_control(protocol.CMD_CALIBRATE)) == "calibrate"
    assert protocol.decode_control(b"VSTC\x01\x00\x63\x00") is None   # unknown command
    assert protocol.decode_control(b"nonsense") is None
    assert protocol.decode_control(protocol.encode(make_frame())) is None


def test_arkit_names_are_the_52_unique_names():
    assert len(set(ARKIT_NAMES)) == 52
    assert canonical("JAWOPEN") == "jawOpen" and canonical("jaw_open") is None


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
