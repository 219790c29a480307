"""`vstream-tracker --vmc`: the real tracker on a real clip, read by python-osc's own server.

python-osc's Dispatcher and BlockingOSCUDPServer (a parser nobody here wrote)
receive what the tracker sends; every datagram is checked against the take
file the same run writes (--out): one bundle per frame, the 52 Perfect Sync
names with the take's weights, Apply after them, the head bone's quaternion
equal to the take's head rotation in Unity's frame (VMC4B's documented
mapping, BRIEF 4), OK and T. The same datagrams then go through vstream's own
VMC decoder (the round trip the add-on will make) and give the take back.
"""

import math
import socket
import subprocess
import threading

import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_server import BlockingOSCUDPServer

from conftest import TRACKER, data, free_udp_port, run_tracker
from tracker_service import cli, vmc_sender
from vstream_addon.shared import arkit, take
from vstream_addon.core.sources import vmc as vmc_source
from vstream_addon.shared.vrm import vrm_weights

CLIP = "single_face.mp4"
PASCAL = [n[0].upper() + n[1:] for n in arkit.ARKIT_NAMES]


class _Recorder(Dispatcher):
    """python-osc's Dispatcher, noting where each datagram starts (bundles are flattened otherwise)."""

    def __init__(self):
        super().__init__()
        self.datagrams = []  # [(raw bytes, [(address, args)...])]
        self.set_default_handler(lambda address, *args: self.datagrams[-1][1].append((address, args)))

    def call_handlers_for_packet(self, data, client_address):
        self.datagrams.append((bytes(data), []))
        return super().call_handlers_for_packet(data, client_address)


def receive_vmc(args, port):
    """Run the tracker with `args` while python-osc's server on `port` records every datagram."""
    recorder = _Recorder()
    server = BlockingOSCUDPServer(("127.0.0.1", port), recorder)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    server.timeout = 0.2
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            server.handle_request()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        result = run_tracker(*args, timeout=120)
        # The last datagrams may still be in the socket: drain until quiet.
        count = -1
        while count != len(recorder.datagrams):
            count = len(recorder.datagrams)
            threading.Event().wait(0.3)
    finally:
        stop.set()
        thread.join(5)
        server.server_close()
    return result, recorder.datagrams


def unity_from_blender(q):
    """VMC4B maps Unity to Blender as quaternion (w, x, z, -y) (BRIEF 4); its inverse, (x, y, z, w) for Unity."""
    w, x, y, z = q
    return (x, -z, y, w)


def test_tracker_sends_one_vmc_bundle_per_frame_with_the_takes_values(tmp_path):
    port = free_udp_port()
    out = tmp_path / "take.jsonl"
    result, datagrams = receive_vmc(["--source", data("video", CLIP), "--vmc", "127.0.0.1:%d" % port,
                                     "--out", out, "--no-preview", "--max-frames", 40], port)
    assert result.returncode == 0, result.stderr
    assert "sending VMC to 127.0.0.1:%d (52 blendshapes)" % port in result.stderr
    _, records = take.read_take(out)
    assert len(records) == 40
    assert len(datagrams) == len(records), "one datagram per frame"
    faces = 0
    decoder = vmc_source.Decoder()
    for record, (raw, messages) in zip(records, datagrams):
        assert OscBundle.dgram_is_bundle(raw), "each frame is one bundle"
        addresses = [a for a, _ in messages]
        vals = [(args[0], args[1]) for a, args in messages if a == "/VMC/Ext/Blend/Val"]
        assert [name for name, _ in vals] == PASCAL
        for name, value in vals:
            expected = record["weights"][name[0].lower() + name[1:]]
            assert abs(value - expected) <= 1e-5, (record["frame"], name, value, expected)
        assert addresses[-1] == "/VMC/Ext/Blend/Apply" and addresses.count("/VMC/Ext/Blend/Apply") == 1
        assert max(i for i, a in enumerate(addresses) if a == "/VMC/Ext/Blend/Val") < addresses.index(
            "/VMC/Ext/Blend/Apply")

        bones = [args for a, args in messages if a == "/VMC/Ext/Bone/Pos"]
        assert len(bones) == 1 and bones[0][0] == "Head"
        assert bones[0][1:4] == (0.0, 0.0, 0.0)
        expected_q = unity_from_blender(record["head"]["quat"])
        assert all(abs(a - b) <= 1e-5 for a, b in zip(bones[0][4:8], expected_q)), (bones[0], expected_q)

        ok = [args for a, args in messages if a == "/VMC/Ext/OK"]
        assert ok == [(1, 3, 0, 1 if record["face"] else 0)]
        (t,) = [args for a, args in messages if a == "/VMC/Ext/T"]
        assert abs(t[0] - record["t"]) < 1e-4
        faces += record["face"]

        # Round trip through vstream's own VMC decoder: the take comes back.
        (frame,) = decoder.decode(raw)
        assert frame.face == record["face"]
        for name, value in zip(arkit.ARKIT_NAMES, frame.weights):
            assert abs(value - record["weights"][name]) <= 1e-5, (name, value)
        # q and -q are the same turn; the decoder keeps the sign the sender sent.
        assert all(abs(a - b) <= 1e-5 for a, b in zip(frame.quat, record["head"]["quat"])), frame.quat
    assert faces > 30, "the clip has a face: the test must see real weights, not only neutral frames"
    assert decoder.rejected_total == 0 and not decoder.ignored


def test_vrm_presets_follow_the_arkit_channels(tmp_path):
    port = free_udp_port()
    out = tmp_path / "take.jsonl"
    result, datagrams = receive_vmc(["--source", data("video", CLIP), "--vmc", str(port), "--vmc-names", "both",
                                     "--out", out, "--no-preview", "--max-frames", 12, "--fast"], port)
    assert result.returncode == 0, result.stderr
    _, records = take.read_take(out)
    assert len(datagrams) == len(records) == 12
    vrm0 = ["A", "I", "U", "E", "O", "Blink", "Blink_L", "Blink_R", "Joy", "Angry", "Sorrow", "Fun",
            "LookUp", "LookDown", "LookLeft", "LookRight", "Neutral"]
    vrm1 = ["aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy", "angry", "sad",
            "relaxed", "surprised", "lookUp", "lookDown", "lookLeft", "lookRight", "neutral"]
    for record, (_, messages) in zip(records, datagrams):
        vals = dict((args[0], args[1]) for a, args in messages if a == "/VMC/Ext/Blend/Val")
        names = [args[0] for a, args in messages if a == "/VMC/Ext/Blend/Val"]
        assert names == PASCAL + vrm0 + vrm1
        expected = vrm_weights(record["weights"])
        for v1 in vrm1:
            # The take's weights are rounded to 5 decimals; sqrt in "oh" magnifies that near 0.
            assert abs(vals[v1] - expected[v1]) <= 5e-3, (v1, vals[v1], expected[v1])
        for v0, v1 in zip(vrm0, [n for n in vrm1 if n != "surprised"]):
            assert vals[v0] == vals[v1]


@pytest.mark.parametrize("value, message", [
    ("0", "port 0 is not a valid UDP port"),
    ("70000", "port 70000 is not a valid UDP port"),
    ("127.0.0.1:99999", "port 99999 is not a valid UDP port"),
    ("junk", "'junk' is not a port number"),
    ("127.0.0.1:abc", "'abc' is not a port number"),
    (":39539", "the host is empty"),
    ("no-such-host.invalid:39539", "cannot resolve host 'no-such-host.invalid'"),
    ("[::1", "expected [HOST]:PORT"),
])
def test_bad_vmc_values_are_one_clear_line_and_exit_1(value, message):
    result = subprocess.run([TRACKER, "--source", data("video", CLIP), "--no-preview", "--vmc", value],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vstream-tracker: error: --vmc ") and message in lines[0], lines[0]


def test_vmc_names_without_vmc_is_refused():
    result = run_tracker("--source", data("video", CLIP), "--no-preview", "--vmc-names", "vrm0", timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == "vstream-tracker: error: --vmc-names needs --vmc"


def test_vmc_forms():
    assert cli.parse_args(["--vmc"]).vmc == ""
    assert cli.parse_args(["--vmc", "--no-preview"]).vmc == ""
    assert cli.parse_args([]).vmc is None
    assert vmc_sender.parse_target("") == ("127.0.0.1", 39539)
    assert vmc_sender.parse_target("39540") == ("127.0.0.1", 39540)
    assert vmc_sender.parse_target("192.168.1.20:39539") == ("192.168.1.20", 39539)
    assert vmc_sender.parse_target("[::1]:39539") == ("::1", 39539)
    assert vmc_sender.DEFAULT_PORT == vmc_source.DEFAULT_PORT
    assert len(vmc_sender.blend_names("vrm1")) == 52 + 18


def _python_osc_bundle(sender, t, face, quat, weights):
    """The bundle as python-osc's builders make it (what the sender packed before its template)."""
    from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder
    from vstream_addon.shared import frames

    def message(address, *args):
        builder = OscMessageBuilder(address=address)
        for value, kind in args:
            builder.add_arg(value, kind)
        return builder.build()

    b = OscBundleBuilder(IMMEDIATELY)
    b.add_content(message("/VMC/Ext/OK", (1, "i"), (3, "i"), (0, "i"), (1 if face else 0, "i")))
    b.add_content(message("/VMC/Ext/T", (float(t), "f")))
    w, x, y, z = frames.quat_from_avatar(frames.UNITY, quat)
    b.add_content(message("/VMC/Ext/Bone/Pos", ("Head", "s"), (0.0, "f"), (0.0, "f"), (0.0, "f"),
                          (x, "f"), (y, "f"), (z, "f"), (w, "f")))
    values = dict(weights)
    values.update(vrm_weights(weights))
    for sent, source in sender.names:
        b.add_content(message("/VMC/Ext/Blend/Val", (sent, "s"), (float(values.get(source, 0.0)), "f")))
    b.add_content(message("/VMC/Ext/Blend/Apply"))
    return b.build().dgram


@pytest.mark.parametrize("names", vmc_sender.NAME_SETS)
def test_template_packs_python_oscs_bytes(names):
    import random
    rng = random.Random(len(names))
    sender = vmc_sender.VmcSender("127.0.0.1:9", names)   # nothing is sent
    try:
        for i in range(200):
            weights = {n: rng.choice((0.0, 1.0, rng.random(), rng.uniform(-0.5, 1.5))) for n in arkit.ARKIT_NAMES}
            q = [rng.gauss(0, 1) for _ in range(4)]
            n = math.sqrt(sum(c * c for c in q))
            quat = tuple(c / n for c in q)
            t = rng.uniform(0, 1e5)
            face = rng.random() < 0.7
            assert sender.datagram(t, face, quat, weights) == _python_osc_bundle(sender, t, face, quat, weights)
    finally:
        sender.close()
