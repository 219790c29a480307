"""A recorded take is what live apply showed (neck share, Move Head, smoothing, add-on
neutral, Set Neutral Pose, rig pointing +Z), in the bpy 5.0 and 4.5 modules and Blender 3.4.

The checks live in tests/blender/scripts/bake_live.py; each run is its own
process with its own HOME. 3.4 (Debian's, no numpy) bakes on the plain-Python
path; where numpy exists the script also bakes the take on that path and
compares the keys of both.
"""

import pytest

from blenders import BLENDER34, run_in_blender
from conftest import ROOT

KEY_CHECKS = (
    "add-on neutral captured (sender does not calibrate)",
    "neutral pose holds a real rotation and position",
    "over 100 live poses compared",
    "baked shape keys equal the live ones on every frame",
    "baked neck and head rotations equal the live ones",
    "baked neck location equals the live one",
    "the posed head ends where live put it",
    "the take actually moves the neck",
    "head action: neck and head rotation, neck location",
    "Import Take equals streaming the file live (same options, fresh smoothing)",
    "no settings-changed note when none",
    "a setting changed while recording is reported with the take",
)


@pytest.mark.parametrize("target", ["bpy5.0", "bpy4.5", BLENDER34])
def test_take_equals_live(target, tmp_path):
    result, _ = run_in_blender(target, "bake_live.py", ["--root", ROOT], tmp_path)
    for name in KEY_CHECKS:
        assert name in result["passed"], name
    if result["numpy"]:
        assert "plain-Python bake equals the numpy bake" in result["passed"]
        assert result["plain_vs_numpy"]["curves"] == 19
    else:
        assert target == BLENDER34  # the no-numpy path itself is what this run tests
