"""The shape-key mapping inside the real Blender 5.0 and 4.5 LTS bpy modules (no mocks).

The scenario runs in its own process with its own temporary HOME, like the
other bpy tests; its checks live in tests/blender/scripts/mapping_apply.py.
"""

import os

import pytest

from blenders import BPY_MODULES, run_in_blender
from conftest import ROOT

AVATAR = os.path.join(ROOT, "blend", "avatar.blend")


@pytest.mark.parametrize("target", BPY_MODULES)
def test_mapping_in_bpy(target, tmp_path):
    result, _ = run_in_blender(target, "mapping_apply.py", ["--root", ROOT, "--avatar", AVATAR], tmp_path)
    assert result["avatar_keys"] == 52
    for name in ("live apply reports a change", "key value after apply", "unmapped key left alone",
                 "same frame again changes nothing",
                 "live plan drives auto-detected spellings from their channel",
                 "targets are the keys live apply drives", "a stored mapping changes what the same frame sets",
                 "explicit entry beats auto-detect", "muted entry leaves the key alone",
                 "avatar: all 52 ARKit keys mapped, nothing else", "avatar: live plan drives 52 keys directly",
                 "avatar: every key takes its channel"):
        assert name in result["passed"], name
