"""core/receiver.py and core/session.py: where frames come from (the UDP socket, take files) and the
live session's status, without Blender."""

import random
import socket

import pytest

from conftest import free_udp_port as free_port
from vstream_addon.core import receiver, session
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


def test_packets_per_second_matches_the_plain_window_sum():
    class Clock:
        now = 50.0

        def __call__(self):
            return self.now

    rng = random.Random(5)
    clock = Clock()
    rx = receiver.Receiver(port=1, clock=clock)
    for _ in range(3000):
        clock.now += rng.choice((0.0, 0.001, 0.016, 0.2, 1.3))
        since = rx._last_drain if rx._last_drain is not None else clock.now
        n = rng.choice((0, 1, 1, 2, 30))
        if n:
            rx._batches.append((since, clock.now, n))
            rx._batched += n
        rx._last_drain = clock.now
        start = clock.now - receiver.RATE_WINDOW
        plain = 0.0
        for s, u, c in rx._batches:
            if u < start:
                continue
            plain += c if u <= s else c * max(0.0, min(u, clock.now) - max(s, start)) / (u - s)
        assert abs(rx.packets_per_second() - plain / receiver.RATE_WINDOW) < 1e-6


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


def test_sources_registry_and_port_following_the_source():
    from vstream_addon.core import sources
    assert [(s.key, s.default_port) for s in sources.SOURCES] == [
        ("VSTREAM", 11580), ("VMC", 39539), ("LIVELINK", 11111), ("OPENSEEFACE", 11573)]
    assert sources.DEFAULT.key == "VSTREAM" and sources.DEFAULT.default_port == protocol.DEFAULT_PORT
    vmc_src, osf = sources.by_key("VMC"), sources.by_key("OPENSEEFACE")
    # A default port follows the source; a port the user typed stays.
    assert sources.port_for(vmc_src, 11580) == 39539 and sources.port_for(osf, 39539) == 11573
    assert sources.port_for(vmc_src, 12345) == 12345
    with pytest.raises(ValueError, match="VSTREAM"):
        sources.by_key("NOPE")


def test_a_receiver_takes_one_source_and_only_vstream_is_sent_control():
    from vstream_addon.core import sources
    from pythonosc.udp_client import SimpleUDPClient
    with receiver.Receiver(port=free_port(), source=sources.by_key("VMC")) as rx:
        client = SimpleUDPClient(*rx.address())
        client.send_message("/VMC/Ext/Blend/Val", ["JawOpen", 0.75])
        client.send_message("/VMC/Ext/Blend/Apply", [])
        # vstream's own datagram is not OSC: refused by the VMC decoder, counted.
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.sendto(protocol.encode(frame(1, 1.0, jawOpen=0.5)), rx.address())
        got = drain_until(rx, 3)
        tx.close()
        assert [round(f.weights[17], 6) for f in got] == [0.75]
        assert rx.accepted_total == 2 and rx.rejected == {"osc": 1}
        assert rx.send_control(protocol.CMD_CALIBRATE) is False  # VMC performers do not take it
    with receiver.Receiver(port=free_port()) as rx:
        assert rx.source.key == "VSTREAM"
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.sendto(protocol.encode(frame(1, 1.0, jawOpen=0.5)), rx.address())
        assert len(drain_until(rx, 1)) == 1
        assert rx.send_control(protocol.CMD_CALIBRATE) is True
        tx.close()
