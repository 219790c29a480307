"""What the tracker loads at start-up (issue 18: start to first frame)."""

import dlib

from tracker_service import landmarks, model_file


def test_detector_file_is_dlibs_frontal_face_detector(tmp_path):
    """The shipped detector (read in 1 ms instead of built in 0.4 s) is what dlib makes, byte for byte."""
    made = tmp_path / "made.svm"
    dlib.get_frontal_face_detector().save(str(made))
    with open(model_file.DETECTOR, "rb") as f:
        assert f.read() == made.read_bytes()
    detector, _ = landmarks.models()
    assert isinstance(detector, dlib.fhog_object_detector) and detector.num_detectors == 5
