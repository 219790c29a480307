"""Shape-key mapping without Blender: name detection, VRM formulas, entries, presets."""

import json

import pytest

from vstream_addon.core import values
from vstream_addon.shared import arkit, protocol
from vstream_addon.core.mapping import (
    MappingEntry, MappingError, SOURCE_ARKIT, SOURCE_EXPLICIT, SOURCE_VRM, VRM_NAMES, VRM0_TO_VRM1,
    apply_entry, detect_arkit, detect_vrm, entries_from_json, entries_to_json,
    load_preset, resolve, save_preset, vrm_weights)


def evaluate(bindings, weights):
    """One frame's values of `bindings` (None for muted) through the one rule, core/values."""
    return values.KeyValues(bindings).frame(weights)


# -- ARKit spellings ----------------------------------------------------------------------

@pytest.mark.parametrize("spelling, expected", [
    ("eyeBlinkLeft", "eyeBlinkLeft"),
    ("EyeBlinkLeft", "eyeBlinkLeft"),
    ("EYEBLINKLEFT", "eyeBlinkLeft"),
    ("eyeblinkleft", "eyeBlinkLeft"),
    ("eyeBlink_L", "eyeBlinkLeft"),
    ("EyeBlink_R", "eyeBlinkRight"),
    ("eyeBlink_l", "eyeBlinkLeft"),
    ("eyeBlink.L", "eyeBlinkLeft"),
    ("eyeBlink.R", "eyeBlinkRight"),
    ("eyeBlink-L", "eyeBlinkLeft"),
    ("eyeBlink L", "eyeBlinkLeft"),
    ("eyeBlinkL", "eyeBlinkLeft"),
    ("Eye_Blink_L", "eyeBlinkLeft"),
    ("eye_blink_left", "eyeBlinkLeft"),
    ("eye-blink-left", "eyeBlinkLeft"),
    ("Eye Blink Left", "eyeBlinkLeft"),
    ("eyeBlink_Left", "eyeBlinkLeft"),
    ("  jawOpen  ", "jawOpen"),
    ("JawOpen", "jawOpen"),
    ("jaw_open", "jawOpen"),
    ("Jaw.Open", "jawOpen"),
    ("ARKit_jawOpen", "jawOpen"),
    ("arkit.jawOpen", "jawOpen"),
    ("ARKit:EyeBlink_L", "eyeBlinkLeft"),
    ("arkit_eye_blink_left", "eyeBlinkLeft"),
    ("blendShape1.eyeBlinkLeft", "eyeBlinkLeft"),
    ("blendShape.mouthSmile_R", "mouthSmileRight"),
    ("mouthSmile_L", "mouthSmileLeft"),
    ("MouthSmile_R", "mouthSmileRight"),
    ("mouthLowerDown_L", "mouthLowerDownLeft"),
    ("mouthUpperUp_R", "mouthUpperUpRight"),
    ("browOuterUp_L", "browOuterUpLeft"),
    ("BrowDownRight", "browDownRight"),
    ("browInnerUp", "browInnerUp"),
    ("cheekSquint_R", "cheekSquintRight"),
    ("noseSneer_L", "noseSneerLeft"),
    ("eyeLookOut_L", "eyeLookOutLeft"),
    ("eyeLookIn_R", "eyeLookInRight"),
    ("TongueOut", "tongueOut"),
    ("cheekPuff", "cheekPuff"),
    ("mouthLeft", "mouthLeft"),
    ("MouthRight", "mouthRight"),
    ("jawLeft", "jawLeft"),
    ("mouthRollUpper", "mouthRollUpper"),
    ("mouthShrug_Lower", "mouthShrugLower"),
])
def test_arkit_spellings(spelling, expected):
    assert detect_arkit(spelling) == expected


@pytest.mark.parametrize("name", [
    "Basis", "Key 1", "Key 12", "", "   ", "_", "eyeBlink", "EyeBlink", "blink", "jaw", "mouthSmile",
    "mouthSmile_C", "jaw_L", "mouth_L", "Mouth_R", "eyeBlinkLeftt", "eyeBlinkLeft.001",
    "eyeBlinkLeft_old", "old_eyeBlinkLeft", "mouthSmileLeftRight", "smile", "A", "Blink_L",
    "Fcl_MTH_A", "Fcl_EYE_Close_L", "vrm.aa", "Brow_Raise_Inner_L", "Left", "L", "ARKit",
    "arkit_", "blendShape1", "tongue", "eyeWide_X",
])
def test_unrelated_or_ambiguous_names_are_not_arkit(name):
    assert detect_arkit(name) is None


def test_every_arkit_name_in_every_style():
    for name in arkit.ARKIT_NAMES:
        assert detect_arkit(name) == name
        assert detect_arkit(name[0].upper() + name[1:]) == name
        assert detect_arkit("ARKit_" + name) == name
        snake = "".join("_" + c.lower() if c.isupper() else c for c in name)
        assert detect_arkit(snake) == name, snake
        for side, short in (("Left", "_L"), ("Right", "_R")):
            if name.endswith(side) and name[:-len(side)] not in ("jaw", "mouth"):
                assert detect_arkit(name[:-len(side)] + short) == name


# -- VRM presets ---------------------------------------------------------------------------

@pytest.mark.parametrize("spelling, expected", [
    ("A", "aa"), ("a", "aa"), ("I", "ih"), ("U", "ou"), ("E", "ee"), ("O", "oh"),
    ("aa", "aa"), ("ih", "ih"), ("ou", "ou"), ("ee", "ee"), ("oh", "oh"), ("AA", "aa"),
    ("Blink", "blink"), ("blink", "blink"), ("Blink_L", "blinkLeft"), ("Blink_R", "blinkRight"),
    ("blinkLeft", "blinkLeft"), ("BlinkRight", "blinkRight"),
    ("Joy", "happy"), ("happy", "happy"), ("Angry", "angry"), ("Sorrow", "sad"), ("sad", "sad"),
    ("Fun", "relaxed"), ("relaxed", "relaxed"), ("surprised", "surprised"), ("Surprised", "surprised"),
    ("LookUp", "lookUp"), ("lookDown", "lookDown"), ("LookLeft", "lookLeft"), ("look_right", "lookRight"),
    ("Neutral", "neutral"), ("neutral", "neutral"),
    ("vrm.aa", "aa"), ("VRM_A", "aa"), ("VRM_Blink_L", "blinkLeft"), ("vrm.happy", "happy"),
])
def test_vrm_spellings(spelling, expected):
    assert detect_vrm(spelling) == expected


@pytest.mark.parametrize("name", ["Basis", "Key 1", "B", "Y", "ah", "oo", "Fcl_MTH_A", "jawOpen",
                                  "smile", "vrm", "Blink_C", "eyeBlinkLeft", "A.001"])
def test_not_vrm(name):
    assert detect_vrm(name) is None


def test_every_vrm_preset_known():
    for name in VRM_NAMES:
        assert detect_vrm(name) == name
    for name, v1 in VRM0_TO_VRM1.items():
        assert detect_vrm(name) == v1
    assert set(vrm_weights({})) == set(VRM_NAMES)


def test_vrm_rest_face_is_neutral_only():
    v = vrm_weights({})
    assert v["neutral"] == 1.0
    assert all(value == 0.0 for name, value in v.items() if name != "neutral")


def test_vrm_visemes():
    v = vrm_weights({"jawOpen": 0.8})
    assert v["aa"] == pytest.approx(0.8)
    assert v["oh"] == 0.0 and v["ou"] == 0.0 and v["ih"] == 0.0
    v = vrm_weights({"jawOpen": 0.6, "mouthFunnel": 0.6})
    assert v["oh"] == pytest.approx(0.6)
    assert v["aa"] == pytest.approx(0.6 * 0.4)
    v = vrm_weights({"mouthPucker": 0.9, "jawOpen": 0.1})
    assert v["ou"] == pytest.approx(0.81)
    assert v["aa"] == pytest.approx(0.1 * 0.1)
    v = vrm_weights({"mouthStretchLeft": 0.8, "mouthStretchRight": 0.6})
    assert v["ih"] == pytest.approx(0.7) and v["ee"] == 0.0
    v = vrm_weights({"mouthStretchLeft": 0.8, "mouthStretchRight": 0.8, "jawOpen": 0.5})
    assert v["ee"] == pytest.approx(0.4) and v["ih"] == pytest.approx(0.4)


def test_vrm_blink_min_and_split():
    v = vrm_weights({"eyeBlinkLeft": 0.9, "eyeBlinkRight": 0.3})
    assert v["blink"] == pytest.approx(0.3)
    assert v["blinkLeft"] == pytest.approx(0.6)
    assert v["blinkRight"] == 0.0
    # A left wink (subject's left) is VRM's Blink_L: the character's own left.
    v = vrm_weights({"eyeBlinkLeft": 1.0}, split_blink=False)
    assert v["blinkLeft"] == 1.0 and v["blinkRight"] == 0.0 and v["blink"] == 0.0
    v = vrm_weights({"eyeBlinkLeft": 0.9, "eyeBlinkRight": 0.3}, split_blink=False)
    assert v["blinkLeft"] == pytest.approx(0.9) and v["blinkRight"] == pytest.approx(0.3)


def test_vrm_emotions_and_look():
    v = vrm_weights({"mouthSmileLeft": 1.0, "mouthSmileRight": 0.8})
    assert v["happy"] == pytest.approx(0.9)
    assert v["neutral"] == pytest.approx(0.1)
    assert v["relaxed"] == 0.0
    v = vrm_weights({"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0, "eyeSquintLeft": 0.5, "eyeSquintRight": 0.5})
    assert v["relaxed"] == pytest.approx(0.5)
    assert vrm_weights({"browDownLeft": 0.6, "browDownRight": 0.4})["angry"] == pytest.approx(0.5)
    v = vrm_weights({"mouthFrownLeft": 0.8, "mouthFrownRight": 0.8, "browInnerUp": 0.6})
    assert v["sad"] == pytest.approx(0.7)
    # Surprise lifts the outer brows too: that is not sadness.
    v = vrm_weights({"browInnerUp": 0.9, "browOuterUpLeft": 0.9, "browOuterUpRight": 0.9,
                     "jawOpen": 0.6, "eyeWideLeft": 0.6, "eyeWideRight": 0.6})
    assert v["sad"] == 0.0
    assert v["surprised"] == pytest.approx(0.7)
    v = vrm_weights({"eyeLookOutLeft": 0.8, "eyeLookInRight": 0.6, "eyeLookUpLeft": 0.4, "eyeLookUpRight": 0.2})
    assert v["lookLeft"] == pytest.approx(0.7) and v["lookRight"] == 0.0
    assert v["lookUp"] == pytest.approx(0.3) and v["lookDown"] == 0.0
    assert vrm_weights({"eyeLookInLeft": 1, "eyeLookOutRight": 1})["lookRight"] == 1.0


def test_vrm_clamps_inputs_and_outputs():
    wild = {name: 7.0 for name in arkit.ARKIT_NAMES}
    wild["jawOpen"] = float("nan")
    for value in list(vrm_weights(wild).values()) + list(vrm_weights({n: -3.0 for n in arkit.ARKIT_NAMES}).values()):
        assert 0.0 <= value <= 1.0


# -- entries ------------------------------------------------------------------------------

def test_entry_transfer():
    assert apply_entry(MappingEntry("k", "jawOpen"), 0.4) == pytest.approx(0.4)
    assert apply_entry(MappingEntry("k", "jawOpen", gain=2.0), 0.4) == pytest.approx(0.8)
    assert apply_entry(MappingEntry("k", "jawOpen", gain=2.0), 0.8) == 1.0
    assert apply_entry(MappingEntry("k", "jawOpen", offset=0.1), 0.4) == pytest.approx(0.5)
    assert apply_entry(MappingEntry("k", "jawOpen", invert=True), 0.3) == pytest.approx(0.7)
    assert apply_entry(MappingEntry("k", "jawOpen", invert=True, gain=0.5, offset=0.2), 0.2) == pytest.approx(0.6)
    assert apply_entry(MappingEntry("k", "jawOpen", min=0.2, max=0.6), 0.0) == pytest.approx(0.2)
    assert apply_entry(MappingEntry("k", "jawOpen", min=0.2, max=0.6), 0.9) == pytest.approx(0.6)
    # Shape keys may go past 1 or below 0 when the user widens the clamp.
    assert apply_entry(MappingEntry("k", "jawOpen", gain=3.0, max=2.0), 0.5) == pytest.approx(1.5)
    assert apply_entry(MappingEntry("k", "jawOpen", gain=-1.0, min=-1.0), 0.5) == pytest.approx(-0.5)
    assert apply_entry(MappingEntry("k", "jawOpen", mute=True), 0.5) is None
    assert apply_entry(MappingEntry("k", "jawOpen"), float("nan")) == 0.0


def test_entry_canonicalises_and_validates_channel():
    assert MappingEntry("k", "JawOpen").channel == "jawOpen"
    assert MappingEntry("k", "eyeBlink_L").channel == "eyeBlinkLeft"
    assert MappingEntry("k", "Joy").channel == "happy"
    assert MappingEntry("k", "Joy").is_vrm
    with pytest.raises(MappingError, match="neither an ARKit channel nor a VRM expression"):
        MappingEntry("k", "smile")
    with pytest.raises(MappingError, match="min 0.8 is above max 0.2"):
        MappingEntry("k", "jawOpen", min=0.8, max=0.2)
    with pytest.raises(MappingError, match="gain must be a finite number"):
        MappingEntry("k", "jawOpen", gain=float("inf"))
    with pytest.raises(MappingError, match="invert must be true or false"):
        MappingEntry("k", "jawOpen", invert="yes")
    with pytest.raises(MappingError, match="shape_key"):
        MappingEntry("", "jawOpen")


def test_preset_round_trip(tmp_path):
    entries = [MappingEntry("Fcl_MTH_A", "A", gain=1.2), MappingEntry("Mouth_Open", "jawOpen", offset=0.05),
               MappingEntry("Blink", "eyeBlinkLeft", mute=True),
               MappingEntry("Smile", "mouthSmileLeft", invert=True, min=0.1, max=0.9)]
    path = tmp_path / "face.json"
    save_preset(str(path), entries)
    doc = json.loads(path.read_text())
    assert doc["format"] == "vstream-mapping" and doc["version"] == 1
    assert doc["entries"][0]["channel"] == "aa"
    assert load_preset(str(path)) == entries
    assert entries_from_json(entries_to_json(entries)) == entries


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[]", 'expected "format": "vstream-mapping"'),
    ('{"format": "other", "version": 1, "entries": []}', 'expected "format"'),
    ('{"format": "vstream-mapping", "version": 2, "entries": []}', "version 2; this add-on reads version 1"),
    ('{"format": "vstream-mapping", "entries": []}', "version None"),
    ('{"format": "vstream-mapping", "version": 1}', '"entries" must be a list'),
    ('{"format": "vstream-mapping", "version": 1, "entries": [3]}', "entry 1 is not an object"),
    ('{"format": "vstream-mapping", "version": 1, "entries": [{"shape_key": "a"}]}', "entry 1:.*channel"),
    ('{"format": "vstream-mapping", "version": 1, "entries": [{"shape_key": "a", "channel": "jawOpen", "gian": 2}]}',
     "entry 1 has unknown field"),
    ('{"format": "vstream-mapping", "version": 1, "entries": [{"shape_key": "a", "channel": "nope"}]}',
     "entry 1: entry 'a': 'nope' is neither"),
    ('{"format": "vstream-mapping", "version": 1, "entries": [{"shape_key": "a", "channel": "jawOpen"},'
     ' {"shape_key": "a", "channel": "A"}]}', "shape key 'a' is listed twice"),
])
def test_bad_preset_gives_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(MappingError, match=message) as info:
        load_preset(str(path))
    assert str(path) in str(info.value)


def test_missing_preset_file(tmp_path):
    with pytest.raises(MappingError, match="cannot read mapping preset"):
        load_preset(str(tmp_path / "absent.json"))


# -- resolution -----------------------------------------------------------------------------

def test_resolution_order():
    names = ["Basis", "jawOpen", "EyeBlink_L", "A", "Blink", "Key 1", "Fcl_MTH_A", "mouthSmileLeft"]
    entries = [MappingEntry("Fcl_MTH_A", "aa"), MappingEntry("jawOpen", "jawOpen", gain=0.5),
               MappingEntry("mouthSmileLeft", "mouthSmileLeft", mute=True)]
    got = {b.shape_key: (b.channel, b.source) for b in resolve(names, entries)}
    assert got == {
        "jawOpen": ("jawOpen", SOURCE_EXPLICIT),
        "EyeBlink_L": ("eyeBlinkLeft", SOURCE_ARKIT),
        "A": ("aa", SOURCE_VRM),
        "Blink": ("blink", SOURCE_VRM),
        "Fcl_MTH_A": ("aa", SOURCE_EXPLICIT),
        "mouthSmileLeft": ("mouthSmileLeft", SOURCE_EXPLICIT),
    }
    bindings = resolve(names, entries)
    weights = protocol.weights_from_dict({"jawOpen": 0.6, "eyeBlinkLeft": 0.9, "eyeBlinkRight": 0.5,
                                          "mouthSmileLeft": 0.7})
    values = dict(zip([b.shape_key for b in bindings], evaluate(bindings, weights)))
    assert values["jawOpen"] == pytest.approx(0.3)
    assert values["EyeBlink_L"] == pytest.approx(0.9)
    assert values["A"] == pytest.approx(0.6) and values["Fcl_MTH_A"] == pytest.approx(0.6)
    assert values["Blink"] == pytest.approx(0.5)
    assert values["mouthSmileLeft"] is None


def test_blink_split_depends_on_the_mesh():
    weights = protocol.weights_from_dict({"eyeBlinkLeft": 0.9, "eyeBlinkRight": 0.5})
    with_blink = resolve(["Blink", "Blink_L", "Blink_R"])
    assert evaluate(with_blink, weights) == pytest.approx([0.5, 0.4, 0.0])
    one_eye = resolve(["Blink_L", "Blink_R"])
    assert evaluate(one_eye, weights) == pytest.approx([0.9, 0.5])


def test_arkit_index_only_for_unshaped_arkit_bindings():
    b = resolve(["JawOpen", "A", "x", "y"], [MappingEntry("x", "jawOpen"), MappingEntry("y", "jawOpen", gain=2)])
    assert [x.arkit_index for x in b] == [arkit.INDEX["jawOpen"], None, arkit.INDEX["jawOpen"], None]


# (tests/blender/scripts/mapping_apply.py runs LiveDriver.drive and the bake's targets on real ones)
