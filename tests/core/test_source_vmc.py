"""VMC decoder (vstream_addon/core/sources/vmc.py), fed OSC that python-osc's own builders make.

The tracker's real VMC output through this decoder is in test_vmc_output.py.
"""

import math
import random
import struct
import threading

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from conftest import check_frame_sane, fuzz_in_receiver, mutated_datagrams
from vstream_addon.shared import arkit
from vstream_addon.core import sources
from vstream_addon.core.sources import vmc

I = arkit.INDEX


def msg(address, *args):
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build()


def bundle(*contents):
    b = OscBundleBuilder(IMMEDIATELY)
    for c in contents:
        b.add_content(c)
    return b.build()


def val(name, value):
    return msg(vmc.BLEND_VAL, name, float(value))


def bone(name, q, p=(0.0, 0.0, 0.0)):
    """q as Unity writes it: (x, y, z, w)."""
    return msg(vmc.BONE_POS, name, *map(float, p), *map(float, q))


APPLY = msg(vmc.BLEND_APPLY)


def unity_euler(x_deg=0.0, y_deg=0.0, z_deg=0.0):
    """Unity's Quaternion.Euler for a one-axis turn, as (x, y, z, w)."""
    h = [math.radians(a) / 2 for a in (x_deg, y_deg, z_deg)]
    return (math.sin(h[0]), math.sin(h[1]), math.sin(h[2]), math.cos(sum(h)))


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def decode(decoder, *datagrams):
    frames = []
    for d in datagrams:
        got = decoder.decode(d.dgram if hasattr(d, "dgram") else d)
        assert got is not None, d
        frames += got
    return frames


def test_names_in_every_spelling_land_on_their_channel():
    spellings = {"eyeBlinkLeft": "eyeBlinkLeft", "EyeBlinkRight": "eyeBlinkRight", "jawOpen": "jawOpen",
                 "MouthSmileLeft": "mouthSmileLeft", "mouthSmile_R": "mouthSmileRight",
                 "BROWINNERUP": "browInnerUp", "cheekPuff": "cheekPuff", "TongueOut": "tongueOut"}
    d = vmc.Decoder()
    values = {}
    for k, (sent, channel) in enumerate(spellings.items()):
        values[channel] = (k + 1) / 10.0
    (frame,) = decode(d, bundle(*[val(s, values[c]) for s, c in spellings.items()], APPLY))
    for channel, v in values.items():
        assert frame.weights[I[channel]] == pytest.approx(v, abs=1e-6), channel
    assert sum(1 for w in frame.weights if w) == len(values)
    assert frame.face and not frame.sender_calibrates and frame.quat == (1.0, 0.0, 0.0, 0.0)
    assert frame.eyes is None


def test_values_wait_for_apply_and_hold_until_changed_also_as_single_messages():
    d = vmc.Decoder()
    assert decode(d, val("JawOpen", 0.5)) == []          # not a frame until Apply
    assert decode(d, val("EyeBlinkLeft", 0.9)) == []
    (f1,) = decode(d, APPLY)
    assert f1.weights[I["jawOpen"]] == 0.5 and f1.weights[I["eyeBlinkLeft"]] == pytest.approx(0.9)
    (f2,) = decode(d, bundle(val("JawOpen", 0.25), APPLY))
    assert f2.weights[I["jawOpen"]] == 0.25 and f2.weights[I["eyeBlinkLeft"]] == pytest.approx(0.9)
    assert f2.seq == f1.seq + 1
    # Two Applies in one datagram are two frames; weights outside 0..1 are clamped.
    frames = decode(d, bundle(val("JawOpen", 2.0), APPLY, val("JawOpen", -1.0), APPLY))
    assert [f.weights[I["jawOpen"]] for f in frames] == [1.0, 0.0]
    assert d.accepted == 5 and d.rejected_total == 0


def test_vrm_presets_map_back_and_arkit_names_win():
    d = vmc.Decoder()
    (f,) = decode(d, bundle(val("Blink", 0.5), val("Blink_L", 0.5), val("A", 0.7), val("U", 0.4),
                            val("Joy", 0.6), val("LookLeft", 0.3), val("Neutral", 1.0), APPLY))
    w = f.weights
    assert w[I["eyeBlinkLeft"]] == pytest.approx(1.0) and w[I["eyeBlinkRight"]] == pytest.approx(0.5)
    assert w[I["jawOpen"]] == pytest.approx(0.7) and w[I["mouthPucker"]] == pytest.approx(0.4)
    assert w[I["mouthSmileLeft"]] == pytest.approx(0.6) == w[I["mouthSmileRight"]]
    assert w[I["eyeLookOutLeft"]] == pytest.approx(0.3) == w[I["eyeLookInRight"]]
    # VRM 1.0 names, any case, too.
    (f,) = decode(vmc.Decoder(), bundle(val("aa", 0.2), val("BLINKRIGHT", 0.4), APPLY))
    assert f.weights[I["jawOpen"]] == pytest.approx(0.2) and f.weights[I["eyeBlinkRight"]] == pytest.approx(0.4)
    # Once a channel comes by its ARKit name, a preset no longer drives it.
    (f,) = decode(d, bundle(val("JawOpen", 0.1), val("A", 0.9), APPLY))
    assert f.weights[I["jawOpen"]] == pytest.approx(0.1)


def test_head_neck_and_eyes_from_unity_bones():
    d = vmc.Decoder()
    # Unity: a yaw of -30 degrees about Y turns the face toward the character's own left.
    (f,) = decode(d, bundle(bone("Head", unity_euler(y_deg=-30)), APPLY))
    assert f.quat == pytest.approx((math.cos(math.radians(15)), 0, 0, math.sin(math.radians(15))))
    # Neck then Head: the turn relative to the body is both (20 + 10 degrees down: +X in Unity).
    (f,) = decode(d, bundle(bone("Neck", unity_euler(x_deg=20)), bone("Head", unity_euler(x_deg=10)), APPLY))
    assert f.quat == pytest.approx((math.cos(math.radians(15)), math.sin(math.radians(15)), 0, 0))
    (f,) = decode(d, bundle(bone("LeftEye", unity_euler(z_deg=8)), bone("RightEye", unity_euler()), APPLY))
    assert f.eyes[0] == pytest.approx((math.cos(math.radians(4)), 0, math.sin(math.radians(4)), 0))
    assert f.eyes[1] == pytest.approx((1, 0, 0, 0))
    assert d.ignored == {}
    # Other bones and the root are VMC too, just not used by a face.
    decode(d, bundle(bone("Hips", unity_euler()), msg("/VMC/Ext/Root/Pos", "root", *[0.0] * 7)))
    assert d.ignored == {vmc.IGNORE_BONE: 1, vmc.IGNORE_ADDRESS: 1}


def test_ok_tracking_and_sender_time():
    clock = Clock()
    d = vmc.Decoder(clock=clock)
    (f,) = decode(d, APPLY)
    assert f.face and f.t == 100.0
    (f,) = decode(d, bundle(msg(vmc.OK, 1, 3, 0, 0), msg(vmc.TIME, 5.0), APPLY))
    assert not f.face and f.t == 5.0
    clock.now += 0.5
    (f,) = decode(d, bundle(msg(vmc.OK, 1), APPLY))   # v2.0 OK: no tracking flag, still not tracking
    assert not f.face and f.t == pytest.approx(5.5)
    (f,) = decode(d, bundle(msg(vmc.OK, 1, 3, 0, 1), APPLY))
    assert f.face


def test_malformed_messages_are_ignored_and_counted_by_reason():
    d = vmc.Decoder()
    datagrams = [
        bundle(msg(vmc.BLEND_VAL, "JawOpen"), msg(vmc.BLEND_VAL, 3, 0.5), msg(vmc.BLEND_VAL, "JawOpen", "x"),
               msg(vmc.BLEND_VAL, "JawOpen", True), msg(vmc.BONE_POS, "Head", 1.0, 2.0),
               msg(vmc.BONE_POS, "Head", *[0.0] * 7), msg(vmc.OK), msg(vmc.OK, "x"), msg(vmc.TIME)),
        bundle(val("JawOpen", math.nan), bone("Head", (math.inf, 0, 0, 1)), msg(vmc.TIME, math.nan)),
        bundle(val("NotAShape", 0.5), val("", 0.5)),
        msg("/VMC/Ext/Cam", "Camera", *[0.0] * 8), msg("/some/other/app", 1),
        # extra arguments are ignored, the message used
        msg(vmc.BLEND_VAL, "JawOpen", 0.75, "extra", 3),
    ]
    frames = decode(d, *datagrams, APPLY)
    assert d.ignored == {vmc.IGNORE_ARGUMENTS: 9, vmc.IGNORE_NONFINITE: 3, vmc.IGNORE_NAME: 2,
                         vmc.IGNORE_ADDRESS: 2}
    assert d.accepted == len(datagrams) + 1 and d.rejected_total == 0
    (f,) = frames
    assert f.weights[I["jawOpen"]] == 0.75 and f.quat == (1.0, 0.0, 0.0, 0.0)


def test_datagrams_that_are_not_osc_are_refused():
    d = vmc.Decoder()
    nested = b"".join([b"#bundle\x00" + bytes(8) + (20 * (3000 - i)).to_bytes(4, "big") for i in range(3000)])
    for junk in (b"", b"hello", b"\xff" * 40, b"#bundle\x00\x00", b"/VMC/Ext/Blend/Val\x00\x00,sf\x00\xff\xfe",
                 nested, None, 12):
        assert d.decode(junk) is None
    assert d.rejected == {vmc.REJECT_OSC: 6, "size": 2}


def test_a_bundle_element_of_negative_size_is_refused_not_looped_on():
    """python-osc 1.10 loops forever on these (20 bytes hang it); the decoder refuses them first."""
    inner = b"#bundle\x00" + bytes(8) + struct.pack(">i", -4)
    cases = [inner, b"#bundle\x00" + bytes(8) + struct.pack(">i", len(inner)) + inner,
             bundle(APPLY).dgram + struct.pack(">i", -8)]
    d = vmc.Decoder()
    done = threading.Event()

    def run():
        for data in cases:
            assert d.decode(data) is None
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(10), "the decoder hung on a negative bundle element size"
    assert d.rejected == {vmc.REJECT_OSC: len(cases)}


def test_100000_random_and_mutated_datagrams_never_raise():
    rng = random.Random(13)
    names = ["JawOpen", "eyeBlink_L", "Blink", "A", "Joy", "unknown", "EyeLookInRight"]
    good = []
    for _ in range(60):
        parts = [val(rng.choice(names), rng.uniform(-0.5, 1.5)) for _ in range(rng.randint(0, 6))]
        if rng.random() < 0.5:
            parts.append(bone(rng.choice(["Head", "Neck", "LeftEye", "RightEye", "Hips"]),
                              [rng.uniform(-1, 1) for _ in range(4)]))
        if rng.random() < 0.3:
            parts.append(msg(vmc.OK, 1, 3, 0, rng.randint(0, 1)))
        parts.append(msg(vmc.TIME, rng.uniform(0, 1000)))
        parts.append(APPLY)
        good.append(bundle(*parts).dgram)
        good.append(rng.choice(parts).dgram)
    n = 100_000
    d, sent = fuzz_in_receiver(sources.by_key("VMC"), mutated_datagrams(rng, good, n))
    assert sent == n
    assert d.accepted + d.rejected_total == n
    assert set(d.rejected) == {vmc.REJECT_OSC}
    assert d.accepted > 10_000, d.accepted
    assert set(d.ignored) <= {vmc.IGNORE_ADDRESS, vmc.IGNORE_BONE, vmc.IGNORE_ARGUMENTS, vmc.IGNORE_NONFINITE,
                              vmc.IGNORE_NAME}


def test_learned_layout_reads_what_python_osc_reads():
    """The fast path (`osc_layout.Layout`, learned once a datagram size repeats) gives the frames and
    counts python-osc's parse gives, and leaves datagrams that differ outside the numbers to it."""
    rng = random.Random(7)
    names = ["JawOpen", "EyeBlinkLeft", "eyeBlink_R", "Joy", "unknown"]

    def frame_bundle(name_order=names):
        q = [rng.uniform(-1, 1) for _ in range(4)]
        return bundle(msg(vmc.OK, 1, 3, 0, rng.randint(0, 1)), msg(vmc.TIME, rng.uniform(0, 100)),
                      bone("Head", q), *[val(n, rng.uniform(-0.2, 1.2)) for n in name_order],
                      APPLY).dgram

    stream = [frame_bundle() for _ in range(50)]
    # Same size, other bytes: a swapped name order must not be read with the learned layout.
    stream += [frame_bundle(["EyeBlinkLeft", "JawOpen"] + names[2:]) for _ in range(5)]
    stream += [frame_bundle() for _ in range(5)]
    # Same layout, values the fast path must refuse as python-osc's path does (NaN, inf).
    nan = struct.pack(">f", float("nan"))
    for bad in (nan, struct.pack(">f", float("inf"))):
        data = bytearray(frame_bundle())
        at = data.rfind(b"unknown") + 8  # the value of the last Blend/Val ("unknown", a NaN too)
        data[at:at + 4] = bad
        jaw = data.find(b"JawOpen") + 8
        data[jaw:jaw + 4] = bad
        stream.append(bytes(data))
    stream += [frame_bundle() for _ in range(3)]
    clock = Clock()
    fast, slow = vmc.Decoder(clock=clock), vmc.Decoder(clock=clock)
    slow_learn = []
    for data in stream:
        a = fast.decode(data)
        slow._last_size = None  # never learns: every datagram goes through python-osc
        b = slow.decode(data)
        slow_learn.append(slow._layout)
        assert a == b
    assert fast._layout is not None and not any(slow_learn)
    assert (fast.accepted, dict(fast.ignored)) == (slow.accepted, dict(slow.ignored))
    assert fast.ignored[vmc.IGNORE_NONFINITE] == 4 and fast.ignored[vmc.IGNORE_NAME] > 50
