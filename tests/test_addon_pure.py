"""Add-on logic that needs no Blender: receiver, key planning, head-bone math."""

import math
import socket
import subprocess
import sys

import pytest

from conftest import free_udp_port as free_port
from vstream_addon.core import keys, quaternions, receiver, recorder, session
from vstream_addon.shared import protocol




def frame(seq, t, face=True, **weights):
    return protocol.Frame(seq=seq, t=t, face=face, weights=protocol.weights_from_dict(weights))


class FakeClock:
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


def drain_until(rx, count, attempts=200):
    got = []
    for _ in range(attempts):
        got += rx.drain()
        if len(got) + rx.rejected_total >= count:
            break
        import time
        time.sleep(0.005)
    return got


def test_pure_modules_import_without_bpy():
    code = ("import sys; sys.modules['bpy'] = None; sys.modules['mathutils'] = None\n"
            "import vstream_addon, vstream_addon.core.receiver, vstream_addon.core.quaternions, "
            "vstream_addon.core.recorder, vstream_addon.core.session\n"
            "vstream_addon.core.recorder.Recorder().add(None)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# -- receiver -------------------------------------------------------------------

def test_receiver_drains_every_datagram_and_keeps_newest():
    port = free_port()
    clock = FakeClock()
    with receiver.Receiver(port, clock=clock) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        assert rx.drain() == []
        for i in range(50):
            tx.sendto(protocol.encode(frame(i, i / 30, jawOpen=i / 50)), ("127.0.0.1", port))
        tx.sendto(b"garbage", ("127.0.0.1", port))
        frames = drain_until(rx, 51)
        assert [f.seq for f in frames] == list(range(50))
        assert rx.latest.seq == 49
        assert rx.rejected == {protocol.REJECT_SIZE: 1}
        assert rx.packets_per_second() == 50
        assert rx.last_frame_age() == 0
        clock.now += 1.5
        assert rx.packets_per_second() == 0
        assert rx.last_frame_age() == pytest.approx(1.5)
        status = dict(session.LiveSession(port).status())
        assert status["age"] == "no packets yet"


def test_packets_per_second_spreads_late_batches():
    port = free_port()
    clock = FakeClock(0.0)
    with receiver.Receiver(port, clock=clock) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.drain()
        clock.now = 0.5
        for i in range(10):
            tx.sendto(protocol.encode(frame(i, i / 20)), ("127.0.0.1", port))
        assert len(drain_until(rx, 10)) == 10
        clock.now = 2.0  # a slow tick: 30 frames arrived over 1.5 s
        for i in range(30):
            tx.sendto(protocol.encode(frame(i, i / 20)), ("127.0.0.1", port))
        assert len(drain_until(rx, 30)) == 30
        assert rx.packets_per_second() == pytest.approx(20.0)
        clock.now = 2.5
        assert rx.packets_per_second() == pytest.approx(10.0)
        clock.now = 3.1
        assert rx.packets_per_second() == 0


def test_receiver_port_in_use_is_a_clear_error_and_close_frees_the_port():
    port = free_port()
    first = receiver.Receiver(port).open()
    with pytest.raises(receiver.PortInUseError) as err:
        receiver.Receiver(port).open()
    assert str(err.value) == ("Port %d is already in use by another program: "
                              "choose another port or stop it" % port)
    first.close()
    assert not first.is_open
    assert first.drain() == []
    second = receiver.Receiver(port).open()  # bindable again
    second.close()


def test_receiver_rejects_invalid_port():
    with pytest.raises(receiver.ReceiverError):
        receiver.Receiver(70000).open()


def test_session_records_only_while_recording():
    port = free_port()
    s = session.LiveSession(port).open()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            tx.sendto(protocol.encode(frame(1, 0.0)), ("127.0.0.1", port))
            drain = []
            for _ in range(200):
                drain += s.poll()
                if drain:
                    break
            s.start_recording()
            tx.sendto(protocol.encode(frame(2, 0.1)), ("127.0.0.1", port))
            for _ in range(200):
                if s.poll():
                    break
            rec = s.stop_recording()
        assert [f.seq for f in rec.frames] == [2]
        assert not s.recording
        assert s.status() == s.status()  # stable signature: no redraw while idle
    finally:
        s.close()


def test_session_status_text():
    port = free_port()
    clock = FakeClock()
    s = session.LiveSession(port, clock=clock).open()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            tx.sendto(protocol.encode(frame(1, 0.0)), ("127.0.0.1", port))
            tx.sendto(b"bad", ("127.0.0.1", port))
            for _ in range(200):
                s.poll()
                if s.receiver.accepted_total and s.receiver.rejected_total:
                    break
        status = dict(s.status())
        assert status["age"] == "last packet 0 ms ago"
        assert status["rate"] == "1 packets/s"
        assert status["face"] is True
        assert (status["rejected_total"], status["rejected"]) == (1, "size 1")
        assert status["recorded"] is None
        clock.now += 0.25
        assert dict(s.status())["age"] == "last packet 250 ms ago"
        clock.now += 3
        assert dict(s.status())["age"] == "last packet 3 s ago"
        assert dict(s.status())["rate"] == "0 packets/s"
    finally:
        s.close()


# -- key planning ---------------------------------------------------------------

def test_plan_keys_one_key_per_frame_when_rates_match():
    plan = keys.plan_keys([5 + i / 30 for i in range(10)], 30)
    assert plan.offsets == list(range(10))
    assert plan.samples == list(range(10))
    assert plan.merged == 0


def test_plan_keys_30fps_into_24fps_shifts_then_merges():
    # exact frames: 0, .8, 1.6, 2.4, 3.2, 4.0, 4.8
    plan = keys.plan_keys([i / 30 for i in range(7)], 24)
    # 2.4 collides with 2 -> 3 (0.6 off); 3.2 -> 4; 4.0 -> 5; 4.8 would need 6
    # (1.2 off) so it replaces frame 5's value and counts as merged.
    assert plan.keys == [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 6)]
    assert plan.merged == 1


def test_plan_keys_duplicate_and_unsorted_times():
    plan = keys.plan_keys([0.2, 0.0, 0.1, 0.1], 10)
    assert plan.keys[0] == (0, 1)
    assert len(plan.keys) + plan.merged == 4
    offsets = plan.offsets
    assert offsets == sorted(set(offsets))
    times = [0.2, 0.0, 0.1, 0.1]
    for off, i in plan.keys:
        assert abs(off - times[i] * 10) <= 1.0 + 1e-9


def test_plan_keys_counts_from_given_t0():
    plan = keys.plan_keys([1.0, 1.1], 10, t0=0.5)
    assert plan.offsets == [5, 6]


def test_plan_keys_edge_cases():
    assert keys.plan_keys([], 24).keys == []
    with pytest.raises(ValueError):
        keys.plan_keys([0.0], 0)


def test_next_take_name():
    assert recorder.next_take_name([]) == "vstream_take_001"
    assert recorder.next_take_name(["vstream_take_002_face", "vstream_take_010_head", "other"]) == "vstream_take_011"


def test_hemisphere_consistent_avoids_long_way_round():
    q = [(1, 0, 0, 0), (-0.99, 0, 0, -0.14), (0.98, 0, 0, 0.2)]
    out = quaternions.hemisphere_consistent(q)
    assert tuple(out[1]) == (0.99, 0, 0, 0.14)
    assert tuple(out[2]) == (0.98, 0, 0, 0.2)


# -- head-bone math ---------------------------------------------------------------

def axis_angle(axis, degrees):
    n = math.sqrt(sum(a * a for a in axis))
    h = math.radians(degrees) / 2
    return (math.cos(h),) + tuple(math.sin(h) * a / n for a in axis)


def close(a, b, tol=1e-9):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def test_yaw_left_about_z_turns_the_face_toward_plus_x():
    nose = quaternions.rotate(axis_angle((0, 0, 1), 30), (0, -1, 0))
    assert nose[0] > 0.4


@pytest.mark.parametrize("rest", [
    (1, 0, 0, 0),                      # a bone pointing +Y, no roll
    axis_angle((1, 0, 0), 90),         # a bone pointing +Z (usual head bone)
    axis_angle((0.2, 0.7, -0.4), 77),  # anything, with roll
])
def test_bone_local_rotation_is_the_armature_rotation_in_bone_space(rest):
    q = axis_angle((0.3, -0.5, 0.8), 40)
    local = quaternions.bone_local_rotation(q, rest)
    # Posed armature-space orientation = rest @ local must equal q @ rest.
    posed = quaternions.mul(rest, local)
    want = quaternions.mul(q, rest)
    assert close(posed, want) or close(posed, tuple(-c for c in want))


def test_quat_normalized_handles_zero():
    assert quaternions.normalized((0, 0, 0, 0)) == (1.0, 0.0, 0.0, 0.0)
