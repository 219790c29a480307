"""No face means no face; strongly turned faces are still found (landmarks + face_check).

The HOG detector's fallback threshold (scores down to -0.6, for faces turned 50-60 degrees)
also fired on a photo of dogs and on busy face-free scenes: such weak detections now need
face_check's second opinion. benchmarks/detection.py has the full before/after tables.
"""

import glob
import os
import sys

import cv2
import dlib
import pytest

from conftest import ROOT, data, run_tracker
from tracker_service.landmarks import FALLBACK_THRESHOLD, IDLE_AFTER, IDLE_SEARCH_EVERY
from tracker_service.pipeline import FaceTracker
from vstream_addon.shared import take

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import background_set  # noqa: E402
import detection  # noqa: E402
from common import PlainDlib  # noqa: E402


def first_frame(image):
    tracker = FaceTracker(image.shape[1], image.shape[0])
    return tracker, tracker.process(image, 0.0)


def test_a_photo_of_dogs_has_no_face(tmp_path):
    # Before face_check: face true with a full set of weights, from a -0.44 detection on a dog.
    out = tmp_path / "dogs.jsonl"
    proc = run_tracker("--source", data("stills", "dlib_examples", "dogs.jpg"), "--out", out, "--no-preview")
    assert proc.returncode == 0, proc.stderr
    _, records = take.read_take(str(out))
    assert records and not any(r["face"] for r in records)
    assert all(r["landmarks"] is None for r in records)
    assert "0 with a face" in proc.stderr


@pytest.mark.parametrize("name", ["2007_007763.jpg", "2008_002079.jpg"])
def test_busy_scenes_with_their_faces_painted_out_have_no_face(name):
    # Branches on a wall (score -0.25) and people seen from behind at a bar (-0.55) were faces.
    image = dict(background_set.dlib_examples_painted())[name]
    tracker, result = first_frame(image)
    assert not result.face
    assert tracker.landmarks.weak_rejected >= 1   # the detector did fire: face_check said no


def test_no_image_of_the_background_set_has_a_face():
    # The whole face-free set (benchmarks/background_set.py): 212 images from 10 frames of each
    # of the 42 video/ and pool/ clips with the head cut out or beside it, and dlib's 9 PASCAL
    # photos with their faces painted out. Before face_check 2 of the 221 gave a face (both
    # painted photos, see above); the clip frames gave none before either.
    images = [("%s %s" % (name, kind), image) for name, kind, image in background_set.images()]
    images += background_set.dlib_examples_painted()
    assert len(images) == 221
    assert [name for name, image in images if first_frame(image)[1].face] == []


@pytest.mark.parametrize("name, mirrored", [("image00251.jpg", False), ("image02420.jpg", True)])
def test_strongly_turned_faces_are_still_found(name, mirrored):
    # yaw -55 and (mirrored) -71 degrees: dlib scores them only below 0, so only the
    # fallback finds them, and face_check must agree.
    image = cv2.imread(data("headpose", name))
    if mirrored:
        image = cv2.flip(image, 1)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    _, scores, _ = dlib.get_frontal_face_detector().run(gray, 0, FALLBACK_THRESHOLD)
    assert len(scores) and max(scores) < 0, scores
    assert first_frame(image)[1].face


def test_every_headpose_face_found_before_face_check_is_still_found():
    # AFLW2000 (yaw -55..+71): plain detection with the -0.6 fallback (check_weak off) finds
    # 14 of the 16, and so must the tracker with face_check.
    before, after = [], []
    for path in sorted(glob.glob(os.path.join(data("headpose"), "*.jpg"))):
        image = cv2.imread(path)
        tracker = FaceTracker(image.shape[1], image.shape[0])
        tracker.landmarks.check_weak = False
        before.append(tracker.process(image, 0.0).face)
        after.append(first_frame(image)[1].face)
    assert sum(before) == 14
    assert after == before


def test_turned_faces_found_by_plain_fallback_detection_are_mostly_still_found():
    # The 16 headpose/ faces (yaw -55..+71), mirrored or not and rolled by 0, 15 or 30 degrees
    # either way (160 images, benchmarks/detection.variants at scale 1): plain detection with the
    # -0.6 fallback found 132; with face_check 127 (measured; the 5 lost are rolled 15-30
    # degrees on top of a 38-66 degree turn: image00251, 00475, 02616). All scales, in
    # docs/BENCHMARKS.md: 394 before, 380 after, of 480.
    before = after = 0
    for path in sorted(glob.glob(os.path.join(data("headpose"), "*.jpg"))):
        for (_, scale, _), _, image in detection.variants(cv2.imread(path)):
            if scale == 1.0:
                b, a = detection.faces(image)
                before, after = before + b, after + a
    assert before == 132
    assert after >= 127


@pytest.mark.parametrize("size", [None, (640, 480)])
@pytest.mark.parametrize("name", ["2007_007763.jpg", "2008_002079.jpg"])
def test_a_cut_from_a_face_to_a_scene_without_one_loses_the_face(name, size):
    # Before: the confirmation on the crop around the face took a weak detection in the new
    # scene (branches, people from behind) as the face and followed it for the whole gap.
    # Also at 640x480, a larger face (about 170 px) on a larger crop.
    cap = cv2.VideoCapture(data("video", "webcam_cap12.mp4"))
    frames = [cap.read()[1] for _ in range(40)]
    if size is not None:
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_LINEAR) for f in frames]
    h, w = frames[0].shape[:2]
    scene = cv2.resize(dict(background_set.dlib_examples_painted())[name], (w, h), interpolation=cv2.INTER_AREA)
    tracker = FaceTracker(w, h, 25.0)
    faces = [tracker.process(f, i / 25.0).face for i, f in enumerate(frames[:20] + [scene] * 20 + frames[20:])]
    assert all(faces[:20])
    assert not any(faces[21:40])     # the frame of the cut may still hold the last fit
    assert all(faces[45:])           # and the face is found again when it returns


def test_with_nobody_in_view_the_search_slows_down_and_a_returning_face_is_found():
    # The search from scratch is the tracker's costliest step (18-84 ms a frame): after
    # IDLE_AFTER frames with no face it runs on every IDLE_SEARCH_EVERY-th frame only.
    cap = cv2.VideoCapture(data("video", "webcam_cap12.mp4"))
    frames = [cap.read()[1] for _ in range(40)]
    cap.release()
    h, w = frames[0].shape[:2]
    scene = cv2.resize(dict(background_set.dlib_examples_painted())["2007_007763.jpg"], (w, h),
                       interpolation=cv2.INTER_AREA)
    away = 90
    tracker = FaceTracker(w, h, 25.0)
    lt = tracker.landmarks
    faces = [tracker.process(f, i / 25.0).face for i, f in enumerate(frames[:20] + [scene] * away)]
    assert all(faces[:20]) and not any(faces[21:])
    # Every frame searched for the first IDLE_AFTER, then one in IDLE_SEARCH_EVERY (the first
    # face-free frame may still be tracked, and its confirmation fails).
    assert IDLE_AFTER + (away - IDLE_AFTER - 2) // IDLE_SEARCH_EVERY <= lt.searches - 1 <= IDLE_AFTER + (
        away - IDLE_AFTER) // IDLE_SEARCH_EVERY + 1
    back = [tracker.process(f, (20 + away + i) / 25.0).face for i, f in enumerate(frames[20:])]
    assert back.index(True) <= IDLE_SEARCH_EVERY - 1     # found at most that many frames late
    assert all(back[IDLE_SEARCH_EVERY - 1:])


def test_a_large_face_is_kept_through_its_confirmations():
    # expr_d10 (512x512, a 240 px face, surprise and an open mouth in its first 120 frames):
    # every confirmation on the crop around it must find the face where the fit is, neither
    # losing it nor moving the fit elsewhere.
    cap = cv2.VideoCapture(data("video", "expr_d10.mp4"))
    frames = [cap.read()[1] for _ in range(120)]
    cap.release()
    tracker = FaceTracker(frames[0].shape[1], frames[0].shape[0], 25.0)
    lt = tracker.landmarks
    assert all(tracker.process(f, i / 25.0).face for i, f in enumerate(frames))
    assert lt.extent[1] > 200
    assert lt.checks >= (len(frames) - 1) // lt.recheck_every   # after the first frame's detection
    assert lt.detections == 1 and lt.restarts == 1 and lt.misses == 0
