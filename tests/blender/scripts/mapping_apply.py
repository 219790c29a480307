"""The mapping in the real bpy module: spellings and VRM presets on a mesh built in code,
and the shipped avatar mapped with no setup.

Run as `python mapping_apply.py --root REPO --avatar blend/avatar.blend`; imports
vstream_addon from the repository (installing the zip is scenario_live's job).
Prints `RESULT {json}`; exits 0 only if every check passed.
"""

import argparse
import os
import sys
import types

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# (shape-key name, what the test frame below should set it to)
KEYS = {
    "EyeBlinkLeft": 0.9,           # PascalCase
    "eyeBlink_R": 0.5,             # Apple raw value
    "JawOpen": 0.6,
    "mouthSmile_L": 0.8,
    "MouthSmile_R": 0.6,
    "blink": 0.5,                  # VRM 1.0: min of both eyes
    "blinkLeft": 0.4,              # split: 0.9 - 0.5, since the mesh has "blink"
    "blinkRight": 0.0,
    "aa": 0.6,                     # jaw 0.6, lips not rounded
    "happy": 0.7,                  # mean smile
    "surprised": 0.2,              # (0 + 0.6 + 0) / 3
    "neutral": 0.3,                # 1 - happy
    "Key 1": None,                 # unrelated: left alone
    "eyeBlink": None,              # no side: left alone
}
WEIGHTS = {"eyeBlinkLeft": 0.9, "eyeBlinkRight": 0.5, "jawOpen": 0.6,
           "mouthSmileLeft": 0.8, "mouthSmileRight": 0.6}


def live_settings(mesh_obj):
    """What LiveDriver.drive reads of scene.vstream: this mesh only, no bones, default live options."""
    return types.SimpleNamespace(mesh=mesh_obj, meshes=(), live=None, armature=None, head_bone="")


def main(check):
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--avatar", required=True)
    args = p.parse_args(common.script_args())
    sys.path.insert(0, args.root)
    from vstream_addon.blender import live_apply as live, mesh_mapping
    from vstream_addon.core import mapping
    from vstream_addon.shared import arkit, protocol

    obj = common.build_face_mesh(KEYS)
    keys = obj.data.shape_keys.key_blocks
    check(all(k.value == 0.0 for k in keys[1:]), "keys start at 0", [k.value for k in keys])
    frame = protocol.Frame(seq=1, t=0.0, face=True, weights=protocol.weights_from_dict(WEIGHTS))
    # The timer tick's own path: LiveDriver.drive with the mesh as the settings' face mesh.
    driver, session, settings = live.LiveDriver(), object(), live_settings(obj)
    check(driver.drive(session, settings, [frame]), "live apply reports a change")
    for name, expected in KEYS.items():
        if expected is None:
            check(keys[name].value == 0.0, "unmapped key left alone", name)
        else:
            check.close(keys[name].value, expected, "key value after apply", tol=1e-5)
    check(not driver.drive(session, settings, [frame]), "same frame again changes nothing")

    plan = driver.plans[obj.as_pointer()]
    direct = sorted((plan.names[slot], arkit.ARKIT_NAMES[i]) for slot, i in plan.direct)
    check(direct == sorted([
        ("EyeBlinkLeft", "eyeBlinkLeft"), ("eyeBlink_R", "eyeBlinkRight"), ("JawOpen", "jawOpen"),
        ("mouthSmile_L", "mouthSmileLeft"), ("MouthSmile_R", "mouthSmileRight")]),
        "live plan drives auto-detected spellings from their channel", direct)
    # The bake keys what mapping_targets lists, by block name and slider range.
    targets = mesh_mapping.mapping_targets(obj)
    check(all(isinstance(t.block, bpy.types.ShapeKey) for t in targets), "targets hold real key blocks")
    check(sorted(t.block.name for t in targets) == sorted(k for k, v in KEYS.items() if v is not None),
          "targets are the keys live apply drives", [t.block.name for t in targets])

    # Explicit entries stored on the object win and survive as a custom property.
    obj[mapping.PROP_MAPPING] = mapping.entries_to_json([
        mapping.MappingEntry("Key 1", "jawOpen", gain=0.5),
        mapping.MappingEntry("aa", "aa", mute=True),
        mapping.MappingEntry("JawOpen", "jawOpen", invert=True)])
    keys["aa"].value = 0.25
    check(driver.drive(session, settings, [frame]), "a stored mapping changes what the same frame sets")
    check.close(keys["Key 1"].value, 0.3, "explicit entry drives an unrelated name")
    check.close(keys["aa"].value, 0.25, "muted entry leaves the key alone")
    check.close(keys["JawOpen"].value, 0.4, "explicit entry beats auto-detect")
    obj[mapping.PROP_MAPPING] = "{"
    check("not valid JSON" in mesh_mapping.mapping_error(obj), "bad stored preset reported")
    del obj[mapping.PROP_MAPPING]

    bpy.ops.wm.open_mainfile(filepath=args.avatar)
    face = bpy.data.objects["VStreamFace"]
    targets = mesh_mapping.mapping_targets(face)
    channels = sorted(t.binding.channel for t in targets)
    check(channels == sorted(arkit.ARKIT_NAMES), "avatar: all 52 ARKit keys mapped, nothing else",
          channels)
    check(sum(t.binding.arkit_index is not None for t in targets) == 52, "avatar: 52 keys take a channel unchanged")
    check(len(mesh_mapping.matched_names(face)) == 52, "avatar: panel count 52")
    full = protocol.Frame(seq=2, t=0.0, face=True,
                          weights=tuple((i + 1) / 60.0 for i in range(arkit.NUM_CHANNELS)))
    # A file load replaces every datablock: a fresh driver, as undo/load_post's forget_plans gives.
    driver = live.LiveDriver()
    check(driver.drive(session, live_settings(face), [full]), "avatar: live apply reports a change")
    plan = driver.plans[face.as_pointer()]
    check(len(plan.direct) == 52 and not plan.shaped, "avatar: live plan drives 52 keys directly")
    fk = face.data.shape_keys.key_blocks
    check(all(abs(fk[t.block.name].value - (arkit.INDEX[t.binding.channel] + 1) / 60.0) < 1e-6
              for t in targets), "avatar: every key takes its channel")
    return {"avatar_keys": len(targets)}


common.run(main)
