"""Other projects' face senders the interoperability tests feed the add-on from, in one place.

Their code and data stay in ../shared/peers (read or run from there, never copied):
    llv/examples/*.gesichter   Live Link Face packets recorded from Epic's iPhone app by LLV
                               (BSD): `dao.gesichter` a real face, `debug-<channel>` one
                               channel each. gzip: u8 version, u32 count, then count x
                               (u32 size, packet), big-endian.
    openseeface/facetracker.py OpenSeeFace (BSD-2), run by .venv-peers' Python (scripts/setup_peers.sh).
"""

import gzip
import os
import struct

import numpy as np
import pytest

from conftest import ROOT

PEERS = os.path.join(os.path.dirname(ROOT), "shared", "peers")
LLV_EXAMPLES = os.path.join(PEERS, "llv", "examples")
OSF_DIR = os.path.join(PEERS, "openseeface")
LLV_VERSION = 6


def llv_recording(name):
    """The Live Link Face packets of one LLV recording, in order."""
    path = os.path.join(LLV_EXAMPLES, name)
    if not os.path.exists(path):
        pytest.fail("LLV example missing: %s (../shared/peers must sit beside the repository)" % path)
    with gzip.open(path, "rb") as f:
        raw = f.read()
    version, count = struct.unpack_from(">BL", raw, 0)
    assert version == LLV_VERSION
    packets, offset = [], 5
    for _ in range(count):
        (size,) = struct.unpack_from(">L", raw, offset)
        packets.append(raw[offset + 4:offset + 4 + size])
        offset += 4 + size
    assert offset == len(raw)
    return packets


def peers_python():
    path = os.environ.get("VSTREAM_PEERS_PYTHON") or os.path.join(ROOT, ".venv-peers", "bin", "python")
    if not os.path.isfile(path):
        pytest.fail("OpenSeeFace's Python not found at %s: run `bash scripts/setup.sh --tests` "
                    "(it makes .venv-peers with scripts/setup_peers.sh) or set VSTREAM_PEERS_PYTHON" % path)
    if not os.path.isfile(os.path.join(OSF_DIR, "facetracker.py")):
        pytest.fail("OpenSeeFace missing at %s (../shared/peers must sit beside the repository)" % OSF_DIR)
    return path


def openseeface_command(video, port, log=None):
    """facetracker.py on `video`, model 0, one thread, sending to 127.0.0.1:port (run in OSF_DIR)."""
    cmd = [peers_python(), "facetracker.py", "-c", str(video), "--model", "0", "--max-threads", "1",
           "--silent", "1", "--ip", "127.0.0.1", "--port", str(port)]
    if log:
        cmd += ["--log-data", str(log)]
    return cmd


# -- OpenSeeFace's head fit, restated as matrices (independently of the decoder) ----------

def quat_matrix(q):
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


# Camera frame (down, right, away); the real head's turn Q (avatar frame) shows up
# depth-flipped (its fits sit behind the camera) on top of the model's rest pose.
AVATAR_TO_CAMERA = np.array([[0, 0, -1], [1, 0, 0], [0, 1, 0]], dtype=float)
DEPTH_FLIP = np.diag([1.0, 1.0, -1.0])
REST_FIT = np.array([[0, 1, 0], [1, 0, 0], [0, 0, -1]], dtype=float)


def osf_fit(q_avatar):
    """The matrix whose transpose's quaternion OpenSeeFace sends for a head turned by q_avatar."""
    r_camera = AVATAR_TO_CAMERA @ quat_matrix(q_avatar) @ AVATAR_TO_CAMERA.T
    return DEPTH_FLIP @ r_camera @ DEPTH_FLIP @ REST_FIT


def avatar_matrix_from_osf(x, y, z, w):
    """The head's turn in the avatar frame (3x3) for the quaternion OpenSeeFace sent: osf_fit undone."""
    r_fit = quat_matrix((w, x, y, z)).T
    r_camera = DEPTH_FLIP @ r_fit @ REST_FIT.T @ DEPTH_FLIP
    return AVATAR_TO_CAMERA.T @ r_camera @ AVATAR_TO_CAMERA
