"""shared/vrm.py: one definition of the VRM formulas, both ways (ARKit -> presets, presets -> ARKit)."""

import pytest

from vstream_addon.shared import arkit
from vstream_addon.core import mapping
from vstream_addon.shared import vrm


def test_mapping_uses_the_shared_definition():
    assert mapping.vrm_weights is vrm.vrm_weights
    assert mapping.VRM_NAMES is vrm.VRM_NAMES and mapping.VRM0_TO_VRM1 is vrm.VRM0_TO_VRM1


@pytest.mark.parametrize("channels", [
    {"eyeBlinkLeft": 0.8, "eyeBlinkRight": 0.8},   # a blink: Blink
    {"eyeBlinkLeft": 0.9, "eyeBlinkRight": 0.2},   # a wink: Blink + Blink_L
    {"mouthPucker": 0.6},                          # U
    {"eyeLookOutLeft": 0.4, "eyeLookInRight": 0.4},  # LookLeft
    {"eyeLookUpLeft": 0.5, "eyeLookUpRight": 0.5},   # LookUp
])
def test_presets_made_from_arkit_give_the_arkit_channels_back(channels):
    back = vrm.arkit_from_vrm(vrm.vrm_weights(channels))
    for name, value in channels.items():
        assert back[name] == pytest.approx(value), name


def test_only_channels_with_a_preset_given_are_returned():
    assert vrm.arkit_from_vrm({}) == {}
    assert vrm.arkit_from_vrm({"neutral": 1.0}) == {}
    assert vrm.arkit_from_vrm({"ou": 0.5}) == {"mouthPucker": 0.5}
    out = vrm.arkit_from_vrm({"surprised": 2.0, "sad": -1.0, "ee": 0.3, "ih": 0.6})
    assert out["browInnerUp"] == 1.0 and out["browOuterUpLeft"] == 1.0 and out["eyeWideRight"] == 1.0
    assert out["mouthFrownLeft"] == 0.0 and out["jawOpen"] == pytest.approx(0.3)
    assert out["mouthStretchLeft"] == pytest.approx(0.6)
    assert set(out) <= set(arkit.ARKIT_NAMES)


def test_every_vrm_preset_reaches_an_arkit_channel_except_neutral():
    for preset in vrm.VRM_NAMES:
        assert bool(vrm.arkit_from_vrm({preset: 1.0})) == (preset != "neutral"), preset
