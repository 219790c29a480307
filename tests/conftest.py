"""Shared test fixtures: where the real data lives, the project's commands, the built zips.

The folders say what a test needs: shared/ and core/ plain Python (no Blender),
tracker/ the tracker's dependencies and the real footage, blender/ real
Blenders (its scripts/ run inside them).
"""

import math
import os
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
sys.path.insert(0, ROOT)
import build_addon  # noqa: E402

VENV_BIN = os.path.dirname(sys.executable)
TRACKER = os.path.join(VENV_BIN, "vstream-tracker")


def data(*parts):
    path = os.path.join(DATA, *parts)
    if not os.path.exists(path):
        pytest.fail("test data missing: %s (../shared/data must sit beside the repository)" % path)
    return path


def free_udp_ports(n):
    """n different free UDP ports on loopback (all bound at once, so no two are the same)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_udp_port():
    return free_udp_ports(1)[0]


def process_gone(pid):
    """True once `pid` no longer runs. A zombie counts as gone: its parent was
    killed and a container's init may never reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def run_tracker(*args, timeout=300):
    return subprocess.run([TRACKER, *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    """Both add-on zips, built once per test module: {"legacy": path, "extension": path, "version": "x.y.z"}
    (not the per-platform extensions, which take half a minute: see platform_zips)."""
    return build_addon.build(str(tmp_path_factory.mktemp("dist")), platforms=())


@pytest.fixture(scope="session")
def platform_zips(tmp_path_factory):
    """The per-platform extensions that carry the tracker, built once per test run:
    {"windows-x64": path, "linux-x64": path, "macos-arm64": path, "macos-x64": path}."""
    return build_addon.build(str(tmp_path_factory.mktemp("dist-platforms")))["platforms"]


def mutated_datagrams(rng, good, n):
    """n datagrams for a decoder's fuzz test: `good` ones (a list of valid datagrams) with
    bytes changed, cut, extended, spliced, doubled, plus plain random bytes of any size."""
    for _ in range(n):
        base = bytearray(rng.choice(good))
        kind = rng.randrange(7)
        if kind == 0:
            for _ in range(rng.randint(1, 8)):
                base[rng.randrange(len(base))] = rng.getrandbits(8)
        elif kind == 1:
            base = base[:rng.randrange(len(base) + 1)]
        elif kind == 2:
            base += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
        elif kind == 3:
            other = rng.choice(good)
            cut = rng.randrange(len(base) + 1)
            base = base[:cut] + other[rng.randrange(len(other) + 1):]
        elif kind == 4:
            base = base * rng.randint(2, 3)
        elif kind == 5:
            base = bytearray(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 4, 16, 64, 320, 1785, 2000])))
        else:
            # a run of 0xff (NaNs in floats, -1 in signed lengths) somewhere
            at = rng.randrange(len(base))
            base[at:at + 4] = b"\xff\xff\xff\xff"
        yield bytes(base)


def check_frame_sane(frame):
    """What every decoder must yield, whatever it was fed."""
    assert len(frame.weights) == 52 and all(0.0 <= w <= 1.0 for w in frame.weights)
    assert math.isfinite(frame.t)
    for q in [frame.quat] + list(frame.eyes or []):
        assert len(q) == 4 and abs(math.sqrt(sum(c * c for c in q)) - 1.0) < 1e-6, q
    assert frame.eyes is None or len(frame.eyes) == 2


def fuzz_in_receiver(source, datagrams, batch=500):
    """Send `datagrams` over loopback UDP to a running core Receiver taking `source` (a
    core.sources.Source) and drain it as live apply does; every datagram must come out
    counted, accepted or rejected by reason, and every frame sane. Returns the receiver's
    decoder and the number sent."""
    from vstream_addon.core.receiver import Receiver
    rx = Receiver(free_udp_port(), source=source).open()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    address = rx.address()
    sent = 0

    def counted():
        return rx.accepted_total + rx.rejected_total

    def drain_all():
        deadline = time.monotonic() + 10
        while counted() < sent and time.monotonic() < deadline:
            for frame in rx.drain():
                check_frame_sane(frame)
        assert counted() == sent, "%d datagrams sent, %d counted" % (sent, counted())

    try:
        for data in datagrams:
            tx.sendto(data, address)
            sent += 1
            if sent % batch == 0:
                drain_all()  # keeps the socket's queue short: loopback drops nothing then
        drain_all()
        return rx.decoder, sent
    finally:
        tx.close()
        rx.close()
