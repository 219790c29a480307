"""core/recorder.py: the take buffer's naming (its weight matrix is used in test_face_transform)."""

from vstream_addon.core import recorder


def test_next_take_name():
    assert recorder.next_take_name([]) == "vstream_take_001"
    assert recorder.next_take_name(["vstream_take_002_face", "vstream_take_010_head", "other"]) == "vstream_take_011"
