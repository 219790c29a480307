"""The tracker on real footage and annotated stills: take format, errors, no-face handling."""

import glob
import json
import os
import socket
import subprocess

import cv2
import numpy as np
import pytest

from conftest import ROOT, TRACKER, data, free_udp_port, run_tracker
from tracker_service.pipeline import FaceTracker
from vstream_addon.shared import protocol, take
from vstream_addon.shared.arkit import ARKIT_NAMES


def track_image(path):
    image = cv2.imread(path)
    return FaceTracker(image.shape[1], image.shape[0]).process(image, 0.0)


STILLS = sorted(p for p in glob.glob(os.path.join(data("landmarks68"), "*", "*"))
                if os.path.splitext(p)[1] in (".png", ".jpg", ".ppm"))


@pytest.mark.parametrize("path", STILLS, ids=os.path.basename)
def test_open_eyes_on_annotated_stills_give_low_blink(path):
    result = track_image(path)
    assert result.face
    assert result.weights["eyeBlinkLeft"] < 0.5 and result.weights["eyeBlinkRight"] < 0.5
    assert set(result.weights) == set(ARKIT_NAMES)
    assert all(0.0 <= v <= 1.0 for v in result.weights.values())


def test_landmarks_match_human_annotation_on_stills():
    # The raw points in the take are dlib's; they must be where people put them.
    errors = []
    for path in STILLS:
        truth = np.loadtxt(os.path.splitext(path)[0] + ".pts", skiprows=3, comments="}") - 1.0
        points = track_image(path).landmarks
        iod = np.linalg.norm(truth[45] - truth[36])
        errors.append(np.mean(np.linalg.norm(points - truth, axis=1)) / iod)
    assert np.mean(errors) < 0.08, errors


def test_head_yaw_sign_follows_the_subject(tmp_path):
    # AFLW2000 yaw > 0 turns toward image-left (the subject's right); ours is the opposite.
    truth = json.load(open(data("headpose", "aflw2000_subset_gt.json")))
    checked = 0
    for name, gt in truth.items():
        if abs(gt["yaw_deg"]) < 15:
            continue
        result = track_image(data("headpose", name))
        if not result.face:
            continue
        checked += 1
        assert np.sign(result.euler_deg[1]) == -np.sign(gt["yaw_deg"]), name
        mirrored = cv2.flip(cv2.imread(data("headpose", name)), 1)
        flipped = FaceTracker(450, 450).process(mirrored, 0.0)
        if flipped.face:
            assert np.sign(flipped.euler_deg[1]) == np.sign(gt["yaw_deg"]), name
    assert checked >= 5


def test_take_file_from_a_real_clip(tmp_path):
    out = tmp_path / "take.jsonl"
    proc = run_tracker("--source", data("video", "single_face.mp4"), "--out", out)
    assert proc.returncode == 0, proc.stderr
    head, records = take.read_take(str(out))
    cap = cv2.VideoCapture(data("video", "single_face.mp4"))
    assert head["fps"] == pytest.approx(cap.get(cv2.CAP_PROP_FPS))
    assert (head["width"], head["height"]) == (int(cap.get(3)), int(cap.get(4)))
    assert [r["frame"] for r in records] == list(range(int(cap.get(cv2.CAP_PROP_FRAME_COUNT))))
    assert all(r["t"] == pytest.approx(r["frame"] / head["fps"], abs=1e-5) for r in records)
    faces = [r for r in records if r["face"]]
    assert len(faces) >= 0.9 * len(records)
    for r in faces:
        assert list(r["weights"]) == list(ARKIT_NAMES)
        assert len(r["landmarks"]) == 68 and all(len(p) == 2 for p in r["landmarks"])
        assert 0 <= min(p[0] for p in r["landmarks"]) and max(p[0] for p in r["landmarks"]) < head["width"]
        q = r["head"]["quat"]
        assert sum(v * v for v in q) == pytest.approx(1.0, abs=1e-4)
        assert set(r["head"]["euler_deg"]) == {"pitch", "yaw", "roll"}


def _write_video(path, frames, fps):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()


def test_face_leaves_and_returns(tmp_path):
    cap = cv2.VideoCapture(data("video", "single_face.mp4"))
    frames = []
    while len(frames) < 60:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    black = [np.zeros_like(frames[0]) for _ in range(30)]
    clip = tmp_path / "gap.mp4"
    _write_video(clip, frames[:30] + black + frames[30:], 30)
    out = tmp_path / "gap.jsonl"
    proc = run_tracker("--source", clip, "--out", out)
    assert proc.returncode == 0, proc.stderr
    _, records = take.read_take(str(out))
    assert len(records) == 90
    assert all(r["face"] for r in records[5:30])
    gap = records[32:60]
    assert not any(r["face"] for r in gap)
    assert all(r["landmarks"] is None for r in gap)
    # Weights ease back to neutral while the face is away.
    assert max(records[59]["weights"].values()) < 0.05
    assert records[59]["head"]["quat"][0] > 0.999
    assert sum(r["face"] for r in records[60:]) >= 25


def test_clear_errors_and_exit_codes(tmp_path):
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    not_image = tmp_path / "broken.jpg"
    not_image.write_bytes(b"\xff\xd8 nope")
    cases = [
        (["--source", tmp_path / "missing.mp4"], "no such file"),
        (["--source", bad], "cannot read video file"),
        (["--source", not_image], "cannot read image file"),
        (["--source", "7"], "cannot open camera 7"),
        (["--source", data("video", "single_face.mp4"), "--port", "70000"], "not a valid UDP port"),
        (["--source", data("video", "single_face.mp4"), "--port", "0"], "port 0 is not a valid UDP port (1-65535)"),
    ]
    for args, message in cases:
        proc = run_tracker(*args, "--no-preview")
        assert proc.returncode == 1, (args, proc.stderr)
        assert message in proc.stderr
        assert "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines()[-1].startswith("vstream-tracker: error:")


def test_listen_port_in_use_is_a_clear_error():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        proc = run_tracker("--source", data("video", "single_face.mp4"), "--port", free_udp_port(),
                           "--listen-port", port, "--no-preview")
    assert proc.returncode == 1
    assert "listen port %d is already in use" % port in proc.stderr


def test_truncated_video_ends_the_take_cleanly(tmp_path):
    source = data("video", "expr_d0.mp4")
    raw = open(source, "rb").read()
    cut = tmp_path / "cut.mp4"
    # Keep the header (moov atom first or last) plausible: take a file whose tail is gone.
    cut.write_bytes(raw[: len(raw) * 2 // 3])
    out = tmp_path / "cut.jsonl"
    proc = run_tracker("--source", cut, "--out", out)
    if proc.returncode == 1:
        assert "cannot read video file" in proc.stderr or "no readable frames" in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    _, records = take.read_take(str(out))
    assert [r["frame"] for r in records] == list(range(len(records)))


def test_streams_every_frame_over_udp(tmp_path):
    port = free_udp_port()
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", port))
    receiver.settimeout(10)
    out = tmp_path / "take.jsonl"
    proc = run_tracker("--source", data("video", "single_face.mp4"), "--port", port, "--fast",
                       "--listen-port", free_udp_port(), "--out", out, "--no-preview")
    assert proc.returncode == 0, proc.stderr
    decoder = protocol.Decoder()
    frames = []
    receiver.settimeout(0.5)
    try:
        while True:
            frames.append(decoder.decode(receiver.recv(4096)))
    except socket.timeout:
        pass
    receiver.close()
    _, records = take.read_take(str(out))
    assert decoder.rejected_total == 0
    assert [f.seq for f in frames] == list(range(len(records)))
    for f, r in zip(frames, records):
        assert f.face == r["face"] and f.t == pytest.approx(r["t"], abs=1e-5)
        assert f.weight_dict()["jawOpen"] == pytest.approx(r["weights"]["jawOpen"], abs=1e-4)
        assert f.quat == pytest.approx(r["head"]["quat"], abs=1e-5)


def test_preview_video_is_written(tmp_path):
    out = tmp_path / "preview.mp4"
    proc = run_tracker("--source", data("video", "single_face.mp4"), "--out", tmp_path / "t.jsonl",
                       "--preview-out", out, "--max-frames", 20)
    assert proc.returncode == 0, proc.stderr
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    ok, frame = cap.read()
    assert ok and frame.std() > 10


def test_calibrate_control_message_reaches_the_tracker(tmp_path):
    # The add-on sends the control datagram back to the address frames come from.
    port, listen = free_udp_port(), free_udp_port()
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", port))
    proc = subprocess.Popen([TRACKER, "--source", data("video", "single_face.mp4"), "--port", str(port),
                             "--listen-port", str(listen), "--no-preview"], stderr=subprocess.PIPE, text=True)
    receiver.settimeout(10)
    _, sender = receiver.recvfrom(4096)
    assert sender == ("127.0.0.1", listen)
    receiver.sendto(protocol.encode_control(protocol.CMD_CALIBRATE), sender)
    _, err = proc.communicate(timeout=60)
    receiver.close()
    assert proc.returncode == 0, err
    assert "calibrating the neutral face (asked by the receiver)" in err


def _take_weights(tmp_path, clip):
    out = tmp_path / (clip + ".jsonl")
    proc = run_tracker("--source", data("video", clip), "--out", out)
    assert proc.returncode == 0, proc.stderr
    return [r["weights"] for r in take.read_take(str(out))[1]]


@pytest.mark.parametrize("clip", ["expr_d0.mp4", "expr_d11.mp4"])
def test_eye_look_channels_follow_labelled_gaze(tmp_path, clip):
    """Frame ranges where the eyes clearly look to one side, labelled by looking at the frames:
    left and right looks separate frame by frame (AUC of the horizontal score, the measure
    issue 11 gave for gaze: 0.995 before the learned model, 1.0 with it on both clips), a side
    look reads above SIDE_LOOK on its side and under 0.1 on the other, a look ahead under 0.3.
    The levels are the trained reference's (the model was fitted to it): side looks read
    0.51-0.71 to the subject's left and 0.22-0.45 to the right here, where the earlier direct
    rule (pupil offset / 0.5 half eye widths) read above 0.5 both ways."""
    labels = json.load(open(os.path.join(ROOT, "tests", "fixtures", "gaze_labels.json")))[clip]
    weights = _take_weights(tmp_path, clip)
    toward_left = lambda w: (w["eyeLookOutLeft"] + w["eyeLookInRight"]) / 2   # subject's own left
    toward_right = lambda w: (w["eyeLookInLeft"] + w["eyeLookOutRight"]) / 2
    scores = {"subject_left": [], "subject_right": []}
    for seg in labels:
        a, b = seg["frames"]
        span = weights[a:b + 1]
        left = np.mean([toward_left(w) for w in span])
        right = np.mean([toward_right(w) for w in span])
        if seg["look"] in scores:
            scores[seg["look"]] += [toward_left(w) - toward_right(w) for w in span]
        if seg["look"] == "subject_left":
            assert left > SIDE_LOOK and right < 0.1, (seg, left, right)
        elif seg["look"] == "subject_right":
            assert right > SIDE_LOOK and left < 0.1, (seg, left, right)
        elif seg["look"] == "center":
            assert left < 0.3 and right < 0.3, (seg, left, right)
    lefts, rights = np.array(scores["subject_left"]), np.array(scores["subject_right"])
    assert len(lefts) and len(rights)
    auc = np.mean(lefts[:, None] > rights[None, :]) + 0.5 * np.mean(lefts[:, None] == rights[None, :])
    assert auc >= 0.99, auc


SIDE_LOOK = 0.2   # the weakest labelled look measured 0.22 (expr_d11, frames 220-224)


def test_a_fit_that_slid_off_the_face_is_put_back_by_the_detector():
    # Seen on real clips (expr_d6, expr_d12): during an extreme expression or a fast
    # move the fit shrank onto one eye, each smaller fit giving a smaller box for the
    # next. Here the tracker is handed such a fit (the face at half size, centred on
    # the right eye); the detector's confirmation must put the points back on the face.
    path = STILLS[0]
    image = cv2.imread(path)
    truth = np.loadtxt(os.path.splitext(path)[0] + ".pts", skiprows=3, comments="}") - 1.0
    iod = np.linalg.norm(truth[45] - truth[36])
    error = lambda points: np.mean(np.linalg.norm(points - truth, axis=1)) / iod
    tracker = FaceTracker(image.shape[1], image.shape[0])
    assert error(tracker.process(image, 0.0).landmarks) < 0.08
    lt = tracker.landmarks
    lt.points = lt.points[36:42].mean(axis=0) + (lt.points - lt.points.mean(axis=0)) / 2.0
    lo, hi = lt.points.min(axis=0), lt.points.max(axis=0)
    lt.extent = (tuple((lo + hi) / 2.0), float(np.mean(hi - lo)))
    assert error(lt.points) > 0.3  # the handed-over fit really is off the face
    errors = [error(tracker.process(image, i / 30).landmarks) for i in range(1, 1 + lt.recheck_every)]
    assert max(errors[1:]) < 0.08 and lt.restarts == 2, (errors, lt.restarts)


def test_blink_depth_follows_the_users_own_blinks():
    """eyeBlink reads 1 at the depth of the user's blinks (blinks.BlinkDepth): a deep
    blink raises it, a misfit of a frame or two does not, and it falls back to the floor
    once the blinks have left the history."""
    from tracker_service.blinks import BLINK_DEPTH_MAX, HISTORY_SECONDS, BlinkDepth
    fps, floor = 30.0, 0.4
    depth = BlinkDepth(fps, floor)
    open_eye = [0.02, -0.03, 0.05, 0.0] * 30
    assert max(depth.update(c) for c in open_eye) == floor          # no blink yet: the prior
    assert depth.update(float("nan")) == floor                       # an eye too small to see
    for c in (0.9, 0.85):                                            # a two-frame misfit
        depth.update(c)
    assert depth.update(0.0) == floor
    for c in (0.3, 0.5, 0.55, 0.55, 0.55, 0.4, 0.2):                 # a deep blink, eyes shut 0.1 s
        depth.update(c)
    assert depth.update(0.0) == pytest.approx(0.55)
    for _ in range(int(HISTORY_SECONDS * fps)):                      # 20 s without blinking
        last = depth.update(0.01)
    assert last == floor
    for c in (0.95, 0.95, 0.95, 0.95):                               # a hand over the eyes
        last = depth.update(c)
    assert last == BLINK_DEPTH_MAX
    depth.reset()                                                    # calibrate: closures start afresh
    assert depth.update(0.0) == floor


def test_eyelids_follow_a_slow_reopening_that_the_rest_of_the_face_would_hold():
    """The landmark filter's dead zone is halved for the eyelids (pipeline.LID_DEAD_ZONE): a
    move of 2% of the eye distance in a frame takes a lid half way at once, while the
    rest of the face, inside its dead zone, moves under a tenth of the way."""
    from tracker_service import pipeline
    tracker = FaceTracker(640, 480, 30.0)
    points = np.zeros((68, 2))
    points[36], points[45] = (0.0, 0.0), (100.0, 0.0)           # outer eye corners: 100 px apart
    for i in range(60):   # past the filter's start (a running mean of its first samples)
        tracker.filter(points, i / 30.0, 100.0)
    out = tracker.filter(points - (0.0, 2.0), 60 / 30.0, 100.0)  # every point up 2 px
    for lid in pipeline.LIDS:
        assert out[lid, 1] < -0.8
    for other in (2, 30, 36, 39, 48):                            # jaw, nose, eye corners, mouth
        assert out[other, 1] > -0.2


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
