"""Live apply in real Blender: several meshes, mapping table, neck/head, neutral, calibrate, smoothing.

The checks live in tests/blender/scripts/live_rig.py; each run is its own
process with its own HOME, like the other Blender tests.
"""

import os

import pytest

from blenders import BLENDER34, BPY_MODULES, run_in_blender, run_in_gui
from conftest import ROOT, build_addon, free_udp_port

AVATAR = os.path.join(ROOT, "blend", "avatar.blend")

KEY_CHECKS = (
    "target_meshes: settings without meshes give none",
    "target_meshes: mesh first, extra list, no repeats",
    "second mesh keys",
    "evaluated mesh follows the keys",
    "the same values again: nothing written, no change",
    "a renamed key stops being driven (name check)",
    "values stay inside the key's slider range",
    "loading a file drops every compiled plan",
    "a gain edit is stored in the vstream_mapping JSON",
    "a key picked in the table is driven by its channel",
    "the preset holds every driven key with its settings",
    "a bad preset changes nothing",
    "avatar: all 52 keys driven with zero setup",
    "head bone pointing +Z turns the face as the tracked rotation",
    "head bone pointing +Y turns the face as the tracked rotation",
    "with a neck the head still ends up turned by the whole rotation",
    "the neck takes its share of the angle",
    "head location follows the tracked position (bone pointing +Y)",
    "later turns are measured from the neutral pose",
    "sender that does not calibrate: neutral captured in Blender",
    "weights rescaled: (w - n) / (1 - n), full stays full",
    "calibrating sender: Blender keeps no neutral of its own",
    "override 'Blender': neutral captured anyway",
    "smoothing: a step is followed gradually",
    "smoothing converges",
)


@pytest.mark.parametrize("target", BPY_MODULES + (BLENDER34,))
def test_live_rig(target, tmp_path):
    """5.0 and 4.5 LTS as Python modules, 3.4 as the executable in the background."""
    out = tmp_path / "out"
    out.mkdir()
    result, _ = run_in_blender(target, "live_rig.py", ["--root", ROOT, "--avatar", AVATAR, "--out", str(out)],
                               tmp_path)
    assert result["avatar_keys"] == 52
    for name in KEY_CHECKS:
        assert name in result["passed"], name


def test_gui_rig_panels_blender34(tmp_path):
    """GUI Blender 3.4 under Xvfb: mesh list, mapping table and head sub-panel draw; the session's
    timer drives two meshes and a neck/head rig."""
    zips = build_addon.build(str(tmp_path / "dist"))
    result, _, out = run_in_gui("gui_rig_panels.py", ["--zip", zips["legacy"], "--port", str(free_udp_port())],
                                tmp_path)
    for name in ("VIEW3D_PT_vstream drawn without errors", "VIEW3D_PT_vstream_mapping drawn without errors",
                 "VIEW3D_PT_vstream_head drawn without errors", "VSTREAM_UL_mapping drawn without errors",
                 "VSTREAM_UL_meshes drawn without errors", "timer ticks drive the face mesh",
                 "and the second mesh", "the neck takes its share", "Set Neutral Pose from the panel context"):
        assert name in result["passed"], name
    assert (out / "rig_panels.png").exists()
