"""The add-on installed from its built zips through Blender's own operators, then live,
record and bake end to end (tests/blender/scripts/scenario_live.py)."""

import pytest

from blenders import BLENDER34, run_in_blender


# Checks every scenario must report as passed; a scenario that silently
# skipped a section would not list them.
KEY_CHECKS = (
    "add-on imported from the installed zip, not the repository",
    "panel class registered",
    "session bound to the port",
    "EYEBLINKLEFT matches eyeBlinkLeft (case-insensitive)",
    "posed point equals the armature-space rotation (bone along +Y, rolled)",
    "rejected counted as non-finite",
    "tracker receives a calibrate control datagram",
    "mouthsmileright key values",
    "four rotation_quaternion curves on the head bone",
    "playback: head turns as recorded",
    "every frame keyed or counted as merged",
    "busy port gives the clear message",
    "nothing half-started",
    "stop closes the socket: the port can be bound again",
    "loading a file closes the socket",
    "disabling the add-on closes the socket",
)


@pytest.mark.parametrize("target,kind", [
    ("bpy5.0", "extension"), ("bpy5.0", "legacy"),
    ("bpy4.5", "extension"), ("bpy4.5", "legacy"),
    (BLENDER34, "legacy"),
])
def test_install_and_live_session(target, kind, zips, tmp_path):
    """Install through Blender's own operators, then live, record and bake end to end.

    5.0 and 4.5 LTS: both zips, slotted Actions; 3.4 (executable, background):
    the legacy zip and the legacy Action API.
    """
    result, _ = run_in_blender(target, "scenario_live.py", ["--zip", zips[kind], "--kind", kind], tmp_path)
    for name in KEY_CHECKS:
        assert name in result["passed"], name
    slotted = target != BLENDER34
    assert result["slotted_actions"] is slotted
    if slotted:
        for name in ("one slot and one layer per Action", "slot made for its ID type", "action slots assigned"):
            assert name in result["passed"], name
    if target == "bpy4.5":
        assert "legacy Action.fcurves shows the slotted curves (4.4, 4.5)" in result["passed"]
