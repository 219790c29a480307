"""Accuracy figures from the benchmarks, asserted with a margin so quality cannot slide back.

The numbers themselves (and timings, which are never asserted) are in docs/BENCHMARKS.md.
"""

import os
import sys

import numpy as np

from conftest import DATA, ROOT

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import blink  # noqa: E402
from common import tracked  # noqa: E402
import tracker_quality  # noqa: E402


def test_tracking_landmarks_are_as_good_as_plain_dlib():
    errs, _ = tracker_quality.landmark_error()
    plain, tracked = np.array(errs["plain"]), np.array(errs["tracked"])
    same_face = plain < 20  # plain dlib picks another face in one multi-face photo
    assert np.mean(tracked[same_face]) <= np.mean(plain[same_face]) * 1.1
    assert np.mean(tracked) < 4.0


def test_head_pose_on_aflw2000():
    summary, _ = tracker_quality.head_pose()
    found, mae = summary["ours"]
    plain_found, plain_mae = summary["plain"]
    assert found >= 14
    # Measured 5.3 / 6.4 / 2.1 (docs/BENCHMARKS.md); most of the yaw is one detector box on a chin.
    assert mae[0] < 6.5 and mae[1] < 7.5 and mae[2] < 3.0, mae
    assert found >= plain_found and np.all(mae[1:] < plain_mae[1:]), (mae, plain_mae)


# Clear frontal faces among the jitter stills (issue 11): every weight steady within 0.02.
CLEAR_FACES = ("image_0001.png", "image_0002.png", "image_0003.png", "image_0004.png", "image_0005.png",
               "image_0010.png", "lenna.png", "takeo.ppm", "image00050.jpg", "image00081.jpg")


def test_still_face_is_steady_and_a_sudden_mouth_opening_is_followed():
    stats, (step_frames, jaw_frames), text = tracker_quality.jitter()
    median = stats["median"]
    # Clear faces: raw dlib jitters by ~0.6-1% of the eye distance; smoothed, well under that.
    assert median["ours"] < 0.3 and median["ours"] < 0.5 * median["raw"], text
    assert median["weight_sd"] <= 0.01 and median["angle_sd"] < 0.5, text
    assert all(stats["images"][name]["weight_sd"] <= 0.02 for name in CLEAR_FACES), text
    assert step_frames is not None and step_frames <= 2, text
    assert jaw_frames is not None and jaw_frames <= 2, text


def test_blinks_against_human_labels():
    scores, text = blink.evaluate()
    # Both clips with the same settings; cap12's small webcam eyes are the hard one.
    assert scores["expr_d10.mp4"] >= 0.9 and scores["webcam_cap12.mp4"] >= 0.9, text


def test_blinks_on_the_validation_people():
    # The validation part of blink_split.json: 32 people since issue 17's second round (the 14
    # earlier ones and the 18 of the first fresh test part, read once and then fitted on). The
    # eye classifier is fitted on all of them (tools/fit_blinks.py: its recipe chosen by
    # cross-validation over people, 0.852 pooled held out), so this guards the pipeline that
    # feeds it rather than measuring new faces. Measured: pooled F1 0.921 (tp 488, fp 16, fn 68)
    # with the eyes joined by eye_state.LINK (0.913, tp 480, fp 15, fn 76 before). The misses
    # are mostly pcavs_Input_00098 (talks with his eyes shut: 15 of 29 missed in-sample) and
    # deepavsr_audio_only_demo_00019 (160x160: 11 of 17).
    scores, text = blink.evaluate(part="validation", textbook=False)
    assert blink.f1(*scores["pooled"]) >= 0.90, text
    assert scores["pooled"][1] <= 25, text
    # Eye by eye (blink.eye_counts, an eye "shut" at >= 0.5): on the closed frames both eyes
    # shut / one eye only / neither, and the open frames with an eye shut. Measured with the
    # eyes joined by the more open eye's own logit and lids (eye_state.LINK): 488 / 9 / 59 and
    # 75; joined when their weights differed by < 0.25 (before): 422 / 103 / 31 and 85, a blink
    # shown as a wink on 103 frames.
    both, one, neither, open_any = scores["pooled eyes"]
    assert one <= 15 and both >= 470 and open_any <= 80, text


# Faces that narrow their eyes a lot without closing them (labelled open on every frame; both
# are fitted on, in the tuning part): expr_d20 squints into the sun throughout, smirk_dafoe pulls
# grimaces with motion blur. Plain dlib's EAR < 0.2 reads 2 of expr_d20's frames as shut.
SQUINTS = (("video", "expr_d20.mp4"), ("people", "smirk_dafoe.mp4"))


def test_squinting_and_grimacing_faces_do_not_blink():
    for folder, clip in SQUINTS:
        ours, _, _ = blink.predictions(clip, textbook=False, folder=folder)
        # Measured 0 false closed frames on each.
        assert len(ours) >= 99 and int(ours.sum()) <= 2, (clip, np.flatnonzero(ours))


# expr_d3's two winks (checked by eye): the subject's left eye shut on frames 7-19, the
# right one on 35-46.
WINKS = (("eyeBlinkLeft", "eyeBlinkRight", range(7, 20)), ("eyeBlinkRight", "eyeBlinkLeft", range(35, 47)))


def test_a_wink_closes_that_eye_only():
    _, results = tracked(os.path.join(DATA, "video", "expr_d3.mp4"))
    weights = [r.weights for r in results]
    for shut, other, frames in WINKS:
        rows = [(weights[i][shut], weights[i][other]) for i in frames]
        # The open eye reads 0 on every frame, and the winking eye reads above it on every frame:
        # the open eye's logit stays far below the boundary (-3 to -12), so the eyes are not
        # joined (eye_state.LINK; joining them whatever the logits reads both eyes 0-0.13: no wink).
        # Measured with the 51-person fit of issue 17's second round: the winking eye reads
        # 0.35-0.78 in the first wink (where the cheek squints the open eye too) and 0.65-1.0 in
        # the second. The 33-person fit read 0.75-1.0 and 0.93-1.0: fitting the 18 people of the
        # first fresh test part made the fit see fewer shut eyes in a squinting cheek, a wink
        # traded for blinks on new faces (docs/BENCHMARKS.md, blinks). Guarded at that level.
        assert all(o < 0.05 for _, o in rows), rows
        assert all(s >= 0.3 and s - o >= 0.3 for s, o in rows), rows
        assert np.mean([s for s, _ in rows]) >= 0.5, rows


# dfl_Twitch1 (a streamer at a webcam, a validation clip) blinks with both eyes on frames 28-30
# and 106-107 (labelled closed); the eye on the lit side read shut and the other open.
BOTH_EYES_BLINK = ("people", "dfl_Twitch1.mp4", (28, 29, 30, 106, 107))


def test_a_blink_with_both_eyes_is_not_shown_as_a_wink():
    folder, clip, frames = BOTH_EYES_BLINK
    _, _, eyes = blink.predictions(clip, textbook=False, folder=folder)
    rows = [tuple(eyes[i]) for i in frames]
    # Before the eyes were joined by the more open eye's own logit and lids (eye_state.LINK), 29-30
    # read 1.0 / 0.93 on the left eye and 0 on the right, 106-107 1.0 / 0.73 against 0.16 / 0.27:
    # a wink. Measured now: both eyes 0.86, 0.55, 0.38, 0.61, 0.50: the two eyes the same, the
    # blink seen (mean above 0.5) on 28, 29 and 106; 30 and 107 read part-closed.
    assert all(abs(left - right) < 0.05 for left, right in rows), rows
    assert sum(left + right > 1.0 for left, right in rows) >= 3, rows


def test_blinks_survive_a_change_of_light():
    # Before the pixel cues were measured relative to the face's brightness, the eyes
    # read shut for seconds after the light fell by 40% (20 and 52 open frames read as
    # closed here). Blinks must still be seen in the new light.
    counts, text = blink.light_change()
    for case, (tp, fp, fn) in counts.items():
        # Measured with the 51-person fit and the eyes joined by eye_state.LINK (issue 17's third
        # round): webcam_cap12 at x0.6 sees 7 of its 8 blink frames (3 with the weights joined only
        # when within 0.25: its small left eye, 18 px, read 0 beside the right eye's 1.0, a wink;
        # the 33-person fit saw 8), at x1.4 6 of 8 (the 33-person fit 5: the left eye still reads
        # lower in the second blink). expr_d10 sees all 9 in both lights. Guarded at those levels.
        seen = {("webcam_cap12.mp4", 0.6): 7 / 8, ("webcam_cap12.mp4", 1.4): 6 / 8}.get(case, 0.75)
        assert fp <= 5 and tp >= seen * (tp + fn), text
