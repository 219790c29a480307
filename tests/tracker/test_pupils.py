"""The pupil finder (tracker_service/pupils.py) on real photos and video, no mocks.

Ground truth, all in tests/fixtures/gaze_labels.json (see its _about fields):
* gaze_{center,up,down,left,right}.jpg from RT-GENE: distant faces (eyes 11-17 px)
  with a gaze label in the file name. The README does not say whose left is
  meant; looking at the images, in gaze_left the pupils sit toward the
  image-right corners and in gaze_right toward the image-left ones, so "left"
  is the SUBJECT's own left, the same convention as ours. center and down show
  one man, up, left and right one woman.
* expr_d0 / expr_d11: frame ranges where the eyes clearly look to one side,
  labelled by viewing every frame.
* the landmarks68 stills: pupil centres marked by hand on zoomed crops.
"""

import json
import os

import cv2
import dlib
import numpy as np
import pytest

from conftest import ROOT, data
from tracker_service import pupils
from tracker_service.landmarks import LEFT_EYE, RIGHT_EYE, LandmarkTracker, model_path, shape_to_array

LABELS = json.load(open(os.path.join(ROOT, "tests", "fixtures", "gaze_labels.json")))
CLIPS = sorted(k for k in LABELS if k.endswith(".mp4"))
EYES = {"right": RIGHT_EYE, "left": LEFT_EYE}


@pytest.fixture(scope="module")
def dlib_models():
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(model_path())


def face_points(gray, models, inside=None):
    """dlib landmarks of the largest face, or of a face centred inside the box `inside` (lo, hi)."""
    detector, predictor = models
    for upsample in (0, 1, 2):          # the RT-GENE faces are small
        rects = list(detector(gray, upsample))
        if inside is not None:
            lo, hi = inside
            rects = [r for r in rects if lo[0] < r.center().x < hi[0] and lo[1] < r.center().y < hi[1]]
        if rects:
            break
    assert rects, "no face found"
    return shape_to_array(predictor(gray, max(rects, key=lambda r: r.area())))


# -- RT-GENE gaze samples -----------------------------------------------------------

@pytest.fixture(scope="module")
def samples(dlib_models):
    out = {}
    for name in ("center", "up", "down", "left", "right"):
        gray = cv2.imread(data("gaze_blink", "samples_gaze", "gaze_%s.jpg" % name), cv2.IMREAD_GRAYSCALE)
        out[name] = pupils.gaze_offsets(gray, face_points(gray, dlib_models))
    return out


def both_eyes(offsets, key):
    # Plain mean of the two eyes: at 11-17 px dlib's lids are too rough for the
    # confidences to mean much (both eyes of gaze_right get confidence <= 0.05).
    return 0.5 * (offsets["right"][key] + offsets["left"][key])


def test_gaze_samples_move_the_right_way_from_center(samples):
    center = samples["center"]
    assert both_eyes(samples["left"], "horizontal") > both_eyes(center, "horizontal") + 0.15
    assert both_eyes(samples["right"], "horizontal") < both_eyes(center, "horizontal") - 0.15
    assert both_eyes(samples["down"], "vertical") < both_eyes(center, "vertical") - 0.15


def test_gaze_sample_up_is_higher_than_the_same_persons_other_looks(samples):
    # gaze_center is another person, whose lids sit differently: "up" is only
    # compared with the same woman's left and right looks.
    up = both_eyes(samples["up"], "vertical")
    assert up > both_eyes(samples["left"], "vertical") + 0.05
    assert up > both_eyes(samples["right"], "vertical") + 0.1


# -- labelled video ranges -------------------------------------------------------------

@pytest.fixture(scope="module")
def tracked():
    """Per clip, gaze_offsets of every frame (landmarks from the tracker's own dlib tracking)."""
    out = {}
    for clip in CLIPS:
        cap = cv2.VideoCapture(data("video", clip))
        tracker, frames = LandmarkTracker(), []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            points = tracker.track(gray)
            assert points is not None, "%s: face lost at frame %d" % (clip, len(frames))
            frames.append(pupils.gaze_offsets(gray, points))
        out[clip] = frames
    return out


def labelled(frames, ranges, look, key):
    return [frames[i][key] for r in ranges if r["look"] == look
            for i in range(r["frames"][0], r["frames"][1] + 1)]


@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("eye", ["right", "left"])
def test_every_left_look_frame_is_left_of_every_right_look_frame(tracked, clip, eye):
    frames = [f[eye] for f in tracked[clip]]
    left = labelled(frames, LABELS[clip], "subject_left", "horizontal")
    right = labelled(frames, LABELS[clip], "subject_right", "horizontal")
    assert left and right
    # Frame by frame, not on average: the worst frames must still be apart
    # (0.45 to 1.0 half eye widths measured).
    assert min(left) > max(right) + 0.25, (min(left), max(right))
    assert min(left) > 0.1 and max(right) < -0.1


@pytest.mark.parametrize("clip", CLIPS)
def test_looking_straight_sits_between_and_near_zero(tracked, clip):
    frames = tracked[clip]
    centre = np.mean(labelled(frames, LABELS[clip], "center", "horizontal"))
    left = np.mean(labelled(frames, LABELS[clip], "subject_left", "horizontal"))
    right = np.mean(labelled(frames, LABELS[clip], "subject_right", "horizontal"))
    assert abs(centre) < 0.1
    assert right + 0.25 < centre < left - 0.25


@pytest.mark.parametrize("clip", CLIPS)
def test_confident_while_the_eyes_are_open_and_looking(tracked, clip):
    frames = tracked[clip]
    conf = [frames[i]["confidence"] for r in LABELS[clip]
            for i in range(r["frames"][0], r["frames"][1] + 1)]
    assert np.median(conf) > 0.4


# -- hand-marked pupils on annotated stills -----------------------------------------------

def marked_eyes():
    for mark in LABELS["pupil_marks"]["eyes"]:
        path = data("landmarks68", mark["image"])
        truth = np.loadtxt(os.path.splitext(path)[0] + ".pts", skiprows=3, comments="}") - 1.0
        yield mark, cv2.imread(path, cv2.IMREAD_GRAYSCALE), truth


def errors_in_eye_widths(source, models=None):
    errors = []
    for mark, gray, truth in marked_eyes():
        sl = EYES[mark["eye"]]
        width = np.linalg.norm(truth[sl][3] - truth[sl][0])
        if source == "annotation":
            eye = truth[sl]
        else:
            eye = face_points(gray, models, inside=(truth.min(axis=0), truth.max(axis=0)))[sl]
        x, y, _ = pupils.locate(gray, eye)
        errors.append(np.hypot(x - mark["xy"][0], y - mark["xy"][1]) / width)
    return np.array(errors)


@pytest.mark.parametrize("source", ["annotation", "dlib"])
def test_pupil_within_a_tenth_of_the_eye_width_of_the_hand_mark(source, dlib_models):
    # Measured (annotation): mean 0.054, 17 of 19 eyes under 0.10, worst 0.105
    # (light irises under heavy dark lashes pull the centre up a little).
    # For scale: 0.1 eye width is about 0.04 of the inter-ocular distance, the
    # unit of the BioID figures in the paper.
    errors = errors_in_eye_widths(source, dlib_models)
    assert errors.mean() < 0.08, errors.round(3)
    assert np.mean(errors < 0.10) >= 0.8, errors.round(3)
    assert errors.max() < 0.15, errors.round(3)


# -- conventions ------------------------------------------------------------------------

def test_offsets_are_in_half_eye_widths_toward_the_subjects_left_and_up():
    cap = cv2.VideoCapture(data("video", CLIPS[0]))
    ok, frame = cap.read()
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    points = LandmarkTracker().track(gray)
    for sl in (RIGHT_EYE, LEFT_EYE):
        eye = points[sl]
        # p0 is the image-left corner, p3 the image-right one (the subject's left).
        assert pupils.eye_offset(eye[3], eye)[0] == pytest.approx(1.0)
        assert pupils.eye_offset(eye[0], eye)[0] == pytest.approx(-1.0)
        lid_centre = eye[[1, 2, 4, 5]].mean(axis=0)
        width = np.linalg.norm(eye[3] - eye[0])
        h, v = pupils.eye_offset(lid_centre + (0.0, -0.25 * width), eye)   # image up
        assert v == pytest.approx(0.5, abs=0.05)


def test_an_eye_too_small_to_see_gets_no_confidence():
    path = data("landmarks68", "lfpw", "image_0002.png")
    truth = np.loadtxt(os.path.splitext(path)[0] + ".pts", skiprows=3, comments="}") - 1.0
    gray = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    small = cv2.resize(gray, None, fx=1 / 8.0, fy=1 / 8.0, interpolation=cv2.INTER_AREA)
    eye = (truth[RIGHT_EYE] + 0.5) / 8.0 - 0.5           # eye now ~3.5 px wide
    x, y, confidence = pupils.locate(small, eye)
    assert confidence == 0.0
    assert np.isfinite([x, y]).all()
    x, y, confidence = pupils.locate(gray, truth[RIGHT_EYE])
    assert confidence > 0.3
