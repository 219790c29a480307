"""core/values.py: the one rule channel -> shape-key value; live apply's per-frame form and the
bake's per-take form give the same values."""

import math
import random

import pytest

from vstream_addon.core import arrays, mapping, values
from vstream_addon.core.mapping import MappingEntry, MappingError, entries_to_json
from vstream_addon.shared import arkit, protocol


def test_a_key_held_at_its_slider_limit_is_not_rewritten_every_tick():
    plan = values.MeshPlan((0, 0, 2, ""), ["Basis", "jawOpen"], 0, {1: (0.0, 0.5)})
    weights = [0.0] * len(arkit.ARKIT_NAMES)
    weights[arkit.INDEX["jawOpen"]] = 0.8
    assert plan.new_values(weights) and plan.values == [0.0, 0.5]
    assert not plan.new_values(weights) and plan.values == [0.0, 0.5]
    weights[arkit.INDEX["jawOpen"]] = 0.3
    assert plan.new_values(weights) and plan.values == [0.0, 0.3]


class Block:
    """Stands in for a shape-key block: the bake reads its name and slider range."""

    def __init__(self, name, lo=0.0, hi=1.0):
        self.name, self.slider_min, self.slider_max = name, lo, hi


def _targets():
    names = ["Blink", "Blink_L", "A", "jawOpen", "eyeBlinkLeft", "cheekPuff", "mouthSmileLeft", "browInnerUp"]
    entries = [mapping.MappingEntry("eyeBlinkLeft", "eyeBlinkLeft", invert=True),
               mapping.MappingEntry("cheekPuff", "cheekPuff", gain=3.0, offset=-0.5, min=-1.0, max=2.0),
               mapping.MappingEntry("mouthSmileLeft", "happy", gain=0.5),
               mapping.MappingEntry("browInnerUp", "browInnerUp", mute=True)]
    bindings = mapping.resolve(names, entries)
    # cheekPuff's slider only goes to 1.5: live assignment clamps there.
    blocks = {n: Block(n, hi=1.5 if n == "cheekPuff" else 1.0) for n in names}
    return [(blocks[b.shape_key], b) for b in bindings]


@pytest.mark.parametrize("plain", [False, True], ids=["numpy", "plain"])
def test_shape_key_curves_equal_live_target_values(plain, monkeypatch):
    rng = random.Random(11)
    rows = [tuple(rng.uniform(-0.2, 1.2) for _ in range(52)) for _ in range(50)]
    rows.append(tuple([float("nan")] * 52))
    targets = _targets()
    # As the bake builds it (blender/bake.py): the driven keys and their slider ranges.
    driven = [(block, b) for block, b in targets if not b.muted]
    take_rule = values.KeyValues([b for _, b in driven], [(block.slider_min, block.slider_max) for block, _ in driven])
    # As live apply values a frame: every key the mapping resolves, with the same ranges.
    live_rule = values.KeyValues([b for _, b in targets], [(block.slider_min, block.slider_max) for block, _ in targets])
    if plain:
        monkeypatch.setattr(arrays, "np", None)
    curves = list(zip([block for block, _ in driven], take_rule.take(rows)))
    names = [block.name for block, _ in curves]
    assert "browInnerUp" not in names and len(names) == len(targets) - 1
    for i, row in enumerate(rows):
        live = live_rule.frame(row)
        by_name = {block.name: min(block.slider_max, max(block.slider_min, v))
                   for (block, _), v in zip(targets, live) if v is not None}
        for block, column in curves:
            got = float(column[i])
            assert math.isfinite(got)
            assert got == pytest.approx(by_name[block.name], abs=1e-12), (block.name, i)


def evaluate(bindings, weights):
    """One frame's values of `bindings` (None for muted) through the one rule, core/values."""
    return values.KeyValues(bindings).frame(weights)


def live_plan(names, text=""):
    """The MeshPlan LiveDriver.apply_mesh compiles for a mesh (reference key at slot 0, sliders 0..1)."""
    return values.MeshPlan((0, 0, len(names), text), names, 0, {})


def bake_bindings(names, text=""):
    """What the bake keys (blender/mesh_mapping.mapping_targets): every key but the reference, resolved."""
    return mapping.resolve_stored(tuple(names[1:]), text)


def matched_names(names, text=""):
    """The panel's count (mesh_mapping.matched_names): ARKit names a driven key takes."""
    return sorted({b.channel for b in bake_bindings(names, text) if not b.muted and not b.is_vrm})


def test_live_plan_and_bake_targets_hook_the_mapping():
    names = ["Basis", "EyeBlinkLeft", "eyeBlink_R", "aa", "Key 1", "jaw_open"]
    plan = live_plan(names)
    assert [(names[slot], i) for slot, i in plan.direct] == [
        ("EyeBlinkLeft", arkit.INDEX["eyeBlinkLeft"]), ("eyeBlink_R", arkit.INDEX["eyeBlinkRight"]),
        ("jaw_open", arkit.INDEX["jawOpen"])]
    assert matched_names(names) == ["eyeBlinkLeft", "eyeBlinkRight", "jawOpen"]
    weights = protocol.weights_from_dict({"eyeBlinkLeft": 0.2, "jawOpen": 0.5})
    assert plan.new_values(weights)
    got = dict(zip(names, plan.values))
    assert got == {"Basis": 0.0, "EyeBlinkLeft": pytest.approx(0.2), "eyeBlink_R": 0.0,
                   "aa": pytest.approx(0.5), "Key 1": 0.0, "jaw_open": pytest.approx(0.5)}
    # The same frame again moves nothing: LiveDriver.apply_mesh then writes nothing.
    assert not plan.new_values(weights)
    # The bake values the keys it lists exactly as the plan does.
    bindings = bake_bindings(names)
    assert {b.shape_key: v for b, v in zip(bindings, evaluate(bindings, weights))} == {
        n: pytest.approx(got[n]) for n in ("EyeBlinkLeft", "eyeBlink_R", "aa", "jaw_open")}

    text = entries_to_json([MappingEntry("Key 1", "jawOpen", gain=2.0), MappingEntry("jaw_open", "jawOpen", mute=True)])
    assert mapping.stored_entries(text)  # valid: the panel reports no error
    plan = live_plan(names, text)
    plan.values[:] = [0.0, 0.2, 0.0, 0.5, 0.0, 0.123]  # as apply_mesh reads them back (jaw_open moved by hand)
    assert plan.new_values(weights)
    got = dict(zip(names, plan.values))
    assert got["Key 1"] == pytest.approx(1.0) and got["jaw_open"] == pytest.approx(0.123)
    assert [names[slot] for slot, _ in plan.direct] == ["EyeBlinkLeft", "eyeBlink_R"]
    assert "jaw_open" not in [b.shape_key for b in bake_bindings(names, text) if not b.muted]
    with pytest.raises(MappingError, match="not valid JSON"):
        mapping.stored_entries("{broken")
    # A bad stored preset is ignored live (the panel reports it): auto-detection again.
    assert len(live_plan(names, "{broken").direct) == 3
    assert len(bake_bindings(names, "{broken")) == 4
