"""Every source the panel offers, fed into the installed add-on over UDP by senders vstream did
not write (tests/blender/scripts/scenario_sources.py):

    VMC              python-osc's SimpleUDPClient; the tracker's --vmc bundles against the
                     native protocol carrying the same frames (same shape keys and head)
    Live Link Face   LLV's recordings of Epic's iPhone app (tests/peers.py): each debug
                     recording moves exactly its shape key, the real face bakes a take
    OpenSeeFace      facetracker.py itself, live on a real clip (bpy 5.0 only: one heavy run)

In Blender 3.4 nothing but the legacy zip's bundled wheel provides python-osc, so
VMC working there shows the wheel loads without pip.
"""

import csv
import json
import math
import random

import numpy as np
import pytest

from blenders import BLENDER34, run_in_blender
from conftest import data
from peers import OSF_DIR, avatar_matrix_from_osf, llv_recording, openseeface_command, quat_matrix
from tracker_service.vmc_sender import VmcSender
from vstream_addon.shared import arkit, protocol

OSF_CLIP = ("video", "expr_d10.mp4")


def yaw_pitch(rng):
    """A head turn within 40 degrees, (w, x, y, z)."""
    axis = [rng.uniform(-1, 1) for _ in range(3)]
    n = math.sqrt(sum(a * a for a in axis))
    h = math.radians(rng.uniform(-40, 40)) / 2
    return (math.cos(h),) + tuple(math.sin(h) * a / n for a in axis)


def write_feed(path):
    rng = random.Random(13)
    vmc = VmcSender("127.0.0.1:9")  # only its bundles are used; nothing is sent from here
    native, bundles = [], []
    try:
        for i in range(40):
            weights = {name: rng.random() for name in arkit.ARKIT_NAMES}
            quat = yaw_pitch(rng)
            t = 5.0 + i / 60
            frame = protocol.Frame(seq=i, t=t, face=True, quat=quat, weights=protocol.weights_from_dict(weights))
            native.append(protocol.encode(frame).hex())
            bundles.append(vmc.datagram(t, True, quat, weights).hex())
    finally:
        vmc.close()
    angles = ("headyaw", "headpitch", "headroll")
    feed = {
        "native": native,
        "vmc": bundles,
        "livelink": {
            "debug": {name: [p.hex() for p in llv_recording("debug-%s.gesichter" % name.lower())]
                      for name in arkit.ARKIT_NAMES},
            "angles": {a: [p.hex() for p in llv_recording("debug-%s.gesichter" % a)] for a in angles},
            "dao": [p.hex() for p in llv_recording("dao.gesichter")],
        },
    }
    with open(path, "w") as f:
        json.dump(feed, f)


@pytest.mark.parametrize("target,kind", [("bpy5.0", "extension"), ("bpy4.5", "legacy"), (BLENDER34, "legacy")])
def test_every_source_drives_the_installed_addon(target, kind, zips, tmp_path):
    feed = tmp_path / "feed.json"
    write_feed(feed)
    out = tmp_path / "out"
    out.mkdir()
    args = ["--zip", zips[kind], "--kind", kind, "--feed", str(feed), "--out", str(out)]
    osf_log = tmp_path / "osf.csv"
    live_osf = target == "bpy5.0"
    if live_osf:
        command = openseeface_command(data(*OSF_CLIP), port=0, log=osf_log)
        command = command[:command.index("--port")] + command[command.index("--port") + 2:]
        args += ["--osf-command", json.dumps(command), "--osf-cwd", OSF_DIR]
    home = tmp_path / "home"
    home.mkdir()
    result, _ = run_in_blender(target, "scenario_sources.py", args, home, timeout=900 if live_osf else 400)
    for name in ("a port the user typed stays when the source changes", "Launch Tracker is not offered for VMC",
                 "VMC round trip gives the native protocol's shape-key values and head",
                 "SimpleUDPClient's VRM Blink_L closes the left eye",
                 "each Live Link debug recording moves exactly its shape key",
                 "the Live Link take bakes shape keys and the head bone",
                 "VMC rejects shown by reason", "Live Link rejects shown by reason",
                 "Calibrate captures the neutral in Blender for Live Link",
                 "Neutral By Sender: Live Link does not take calibrate (warned, Blender's neutral cleared)"):
        assert name in result["passed"], name
    assert result["livelink_debug_files"] == 52
    if target == BLENDER34:
        # 3.4's Python has no python-osc of its own: it came from the wheel inside the zip.
        assert "python_osc-" in result["pythonosc"] and ".whl" in result["pythonosc"], result["pythonosc"]
    if kind == "extension":
        assert "Blender installed the extension's python-osc wheel" in result["passed"]
    if live_osf:
        check_openseeface(out / "openseeface.json", osf_log)


def check_openseeface(recorded, log):
    """The avatar's eyes close as OpenSeeFace's eye-open values drop, and the head bone turns
    as OpenSeeFace's quaternion says (undone by tests/peers.py's restatement of its fit)."""
    with open(recorded) as f:
        got = json.load(f)
    with open(log) as f:
        rows = list(csv.DictReader(f))
    assert got["accepted"] == len(rows) > 300
    closing = 0
    angles = []
    held = None
    for row_index, face, blink_left, blink_right, head in got["ticks"]:
        if not face:
            # OpenSeeFace's fit failed (success 0): the avatar holds its last pose.
            assert held is None or (blink_left, blink_right, head) == held, row_index
            continue
        held = (blink_left, blink_right, head)
        row = rows[row_index]
        left_open, right_open = float(row["LeftOpen"]), float(row["RightOpen"])
        assert blink_left == pytest.approx(1 - min(1.0, left_open), abs=1e-5), row_index
        assert blink_right == pytest.approx(1 - min(1.0, right_open), abs=1e-5), row_index
        closing += min(left_open, right_open) < 0.5
        want = avatar_matrix_from_osf(*(float(row["RotationQuat." + c]) for c in "XYZW"))
        rel = quat_matrix(head).T @ want
        # The turn left between them; from the skew part (sin), precise for small angles.
        angles.append(math.degrees(math.asin(min(1.0, np.linalg.norm(rel - rel.T) / (2 * math.sqrt(2))))))
    assert len(got["ticks"]) > 100, len(got["ticks"])
    assert closing >= 3, "OpenSeeFace saw no eye close in the clip: the check above proved nothing"
    # Live apply leaves the bone alone for a change under live_apply.QUAT_EPSILON (1 - |dot| of
    # 1e-6: 0.162 degrees), so a redraw is not asked for noise; otherwise float32 agreement.
    assert max(angles) < 2 * math.degrees(math.acos(1 - 1e-6)) + 1e-3, max(angles)
    assert np.median(angles) < 1e-3, np.median(angles)
