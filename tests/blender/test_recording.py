"""Recording and takes in real Blender (tests/blender/scripts/scenario_recording.py):
mapping-exact keys (VRM presets, gain/offset/invert/mute entries), several meshes,
takes from the current frame, Start with Playback, Push to NLA, Reduce Keys,
undo of a take, and Import Take through the same path.
"""

import pytest

from blenders import BLENDER34, BPY_MODULES, run_in_blender, run_in_gui

COMMON_CHECKS = (
    "sub-panel under the VStream panel, closed by default",
    "recording options off by default",
    "entries: one curve per driven key, none for muted or unmatched keys",
    "entries: jawOpen keys equal what live apply sets",
    "entries: eyeBlinkLeft keys equal what live apply sets",
    "entries: mouthSmileLeft keys equal what live apply sets",
    "entries: jawOpen keyed from frame 101",
    "head keys start at the current frame too",
    "handles stay within the take's frames",
    "several meshes: one face Action per mesh (a mesh listed twice baked once), named after the object",
    "VRM presets: one curve per driven key, none for muted or unmatched keys",
    "VRM presets: Blink keys equal what live apply sets",
    "VRM presets: Blink_L keys equal what live apply sets",
    "VRM presets: A keys equal what live apply sets",
    "VRM presets: O keys equal what live apply sets",
    "VRM presets: Joy keys equal what live apply sets",
    "each mesh gets its own take Action",
    "playback of a VRM take poses the mesh as live did",
    "Record starts timeline playback",
    "stopping the recording stops playback",
    "no playback when Start with Playback is off",
    "playback the user started keeps running after the take",
    "Push to NLA leaves the active action empty (the previous take is taken off)",
    "a new NLA track named after the take holds its Action",
    "the strip starts at the take's first frame",
    "the strip acts on its own frames only",
    "the next take gets its own NLA track",
    "the NLA track plays the take back",
    "undo removes the take's Actions",
    "undo removes the take's keys from the mesh",
    "undo keeps the takes before it",
    "redo brings the take back",
    "the live session survives undo",
    "import: jawOpen keyed from frame 701",
    "import: mouthSmileLeft keys equal what live apply sets",
)

REDUCE_CHECKS = (
    "the tolerance is stored on the Action",
    "reduced curves keep the first and last key",
    "every recorded value within the tolerance of the reduced curve",
    "Reduce Keys removes most keys of smooth motion",
    "panel says keys were reduced",
)


@pytest.mark.parametrize("target", BPY_MODULES)
def test_recording_in_blender_module_slotted_actions(target, zips, tmp_path):
    """5.0 and 4.5 LTS as Python modules: slotted Actions (4.4 and later)."""
    result, _ = run_in_blender(target, "scenario_recording.py", ["--zip", zips["legacy"]], tmp_path)
    assert result["slotted"] and result["numpy"]
    for name in COMMON_CHECKS + REDUCE_CHECKS + ("the strip uses the take's slot (slotted Actions)",):
        assert name in result["passed"], name


def test_recording_in_blender34_legacy_actions(zips, tmp_path):
    """Blender 3.4 in background mode. Debian's build runs on the system Python; without
    numpy there, Reduce Keys must say it was skipped and keep every key."""
    result, _ = run_in_blender(BLENDER34, "scenario_recording.py", ["--zip", zips["legacy"]], tmp_path,
                               timeout=280)
    assert not result["slotted"]
    for name in COMMON_CHECKS:
        assert name in result["passed"], name
    if result["numpy"]:
        extra = REDUCE_CHECKS
    else:
        extra = ("without numpy every key is kept", "without numpy the panel says Reduce Keys was skipped")
    for name in extra:
        assert name in result["passed"], name


def test_gui_playback_moves_while_recording_and_esc_take_is_one_undo_step(zips, tmp_path):
    """GUI Blender 3.4 under Xvfb (a real event loop): Start with Playback plays, the take starts at the
    frame Record was pressed on, and ed.undo after an Esc-baked take removes just that take."""
    from conftest import free_udp_port
    result, proc, _ = run_in_gui("gui_recording.py", ["--zip", zips["legacy"], "--port", str(free_udp_port())],
                                 tmp_path)
    for name in ("Recording sub-panel draws without errors", "Record starts playback",
                 "the timeline played while recording",
                 "stopping the recording stops playback", "the take starts at the frame where Record was pressed",
                 "Esc bakes the take being recorded", "undo removes the take Esc baked",
                 "undo keeps what was there before that take"):
        assert name in result["passed"], name
    assert "Traceback" not in proc.stderr, proc.stderr
