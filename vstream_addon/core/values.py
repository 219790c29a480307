"""The one rule that turns tracked channels into shape-key values: per frame for live
apply, per take for the bake, so a take keys exactly what live apply showed.

For each shape key the mapping drives (a mapping.Binding):

    x     = its channel: an ARKit weight, or a VRM expression computed from all
            52 weights (mapping.vrm_weights; the one-eye blinks carry only what
            one eye closes beyond the other when the mesh has a Blink key)
    curve = its mapping entry's transfer (mapping.apply_entry), else x clamped to 0..1
    value = curve clamped to the key's slider range, as Blender clamps a value

A muted key is not driven: it gets no value. `KeyValues` compiles the rule for a
list of keys; `MeshPlan` lays it onto a mesh's key blocks for live apply.

Speed (a tick must stay far below a 60 Hz frame): keys that take one ARKit
channel unchanged, the common case, are picked in one C call and clamped
inline; only VRM presets and shaped entries go through the general curve. The
take's form does the same column by column (numpy, or lists without it).
"""

import operator

from . import arrays, mapping
from ..shared import arkit

# Below this a shape-key value is left alone, so a still face does not tag
# the mesh for a depsgraph update on every tick.
VALUE_EPSILON = 1e-5


def _clamp(values, lo, hi):
    # Plain-Python path only (no numpy). Comparisons, not min/max calls: three
    # times faster over a 36,000-frame column; NaN fails both tests -> lo.
    return [v if lo <= v <= hi else (hi if v > hi else lo) for v in values]


class KeyValues:
    """The rule compiled for some shape keys: `bindings` (mapping.resolve order) and
    each key's slider range as (min, max) (None or left out: 0..1)."""

    def __init__(self, bindings, ranges=None):
        self.bindings = list(bindings)
        self.ranges = [r if r is not None else (0.0, 1.0) for r in (ranges or [None] * len(self.bindings))]
        self.split_blink = mapping.splits_blink(self.bindings)
        # Keys taking one ARKit channel unchanged: (position, wire index).
        self.direct = []
        # Those of them whose slider range is narrower than 0..1: (position, min, max).
        self.narrow = []
        # Everything else, through the general curve: (position, binding).
        self.shaped = []
        for pos, (b, (lo, hi)) in enumerate(zip(self.bindings, self.ranges)):
            if b.muted:
                continue
            index = b.arkit_index
            if index is None:
                self.shaped.append((pos, b))
                continue
            self.direct.append((pos, index))
            if lo > 0.0 or hi < 1.0:
                self.narrow.append((pos, lo, hi))
        self._direct_pos = [pos for pos, _ in self.direct]
        self._all_direct = self._direct_pos == list(range(len(self.bindings)))
        # One C call picks every directly driven weight (itemgetter of one index returns a bare value).
        indices = [index for _, index in self.direct]
        self._pick = operator.itemgetter(*indices) if len(indices) > 1 else (lambda w: tuple(w[i] for i in indices))

    def frame(self, weights):
        """Values in bindings' order (None for muted keys) from one frame's 52 weights in wire order."""
        clamped = [0.0 if not v > 0.0 else 1.0 if v > 1.0 else v for v in self._pick(weights)]
        if self._all_direct:
            out = clamped  # every key one channel unchanged, in order: the values as they are
        else:
            out = [None] * len(self.bindings)
            for pos, v in zip(self._direct_pos, clamped):
                out[pos] = v
        for pos, lo, hi in self.narrow:
            out[pos] = min(hi, max(lo, out[pos]))
        if self.shaped:
            ranges = self.ranges
            for (pos, _), v in zip(self.shaped, self._curves(weights)):
                lo, hi = ranges[pos]
                out[pos] = min(hi, max(lo, v))
        return out

    def take(self, rows, matrix=None):
        """Columns in bindings' order (None for muted keys): each key's value on every frame of a take.

        `rows` are the frames' weights (52 each, wire order); `matrix` may give
        the same as an (n, 52) numpy array. Columns are numpy arrays, or lists
        without numpy; frame by frame they equal `frame`.
        """
        np = arrays.np
        shaped_rows = [self._curves(row) for row in rows] if self.shaped else None
        if np is not None:
            weights = matrix if matrix is not None else np.array(rows, dtype=np.float64).reshape(len(rows), -1)
        else:
            weights = list(zip(*rows))  # one transpose, not an index per frame and channel
        out = [None] * len(self.bindings)
        for pos, index in self.direct:
            if np is not None:
                # The frame's clamp to 0..1 on a column: NaN -> 0, +-inf -> 1/0.
                out[pos] = np.clip(np.nan_to_num(weights[:, index], nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
            else:
                out[pos] = _clamp(weights[index], 0.0, 1.0)
        for pos, lo, hi in self.narrow:
            out[pos] = np.clip(out[pos], lo, hi) if np is not None else _clamp(out[pos], lo, hi)
        for j, (pos, _) in enumerate(self.shaped):
            lo, hi = self.ranges[pos]
            column = [row[j] for row in shaped_rows]
            out[pos] = np.clip(np.array(column, dtype=np.float64), lo, hi) if np is not None \
                else _clamp(column, lo, hi)
        return out

    def _curves(self, weights):
        """The curve values (slider range not applied yet) of the `shaped` keys, in their order."""
        vrm = None
        out = []
        for _, b in self.shaped:
            if b.is_vrm:
                if vrm is None:
                    vrm = mapping.vrm_weights(dict(zip(arkit.ARKIT_NAMES, weights)), split_blink=self.split_blink)
                x = vrm[b.channel]
            else:
                x = weights[arkit.INDEX[b.channel]]
            out.append(mapping.apply_entry(b.entry, x) if b.entry is not None else mapping.clamp01(x))
        return out


class MeshPlan:
    """One mesh's key blocks with the rule compiled onto their slots (indices into key_blocks).

    Live apply reads every key's value into `values` and writes them back in
    one foreach_get/foreach_set each; `new_values` puts a frame's values there.
    `signature` (object, key datablock, number of keys, stored mapping text) and
    `ticks` are live apply's, to know when to compile again.
    """

    __slots__ = ("signature", "names", "slots", "keys", "values", "ticks")

    def __init__(self, signature, names, reference_slot, ranges):
        """ranges: {slot: (slider min, slider max)} where it is not 0..1."""
        self.signature = signature
        self.names = names
        driven = [i for i in range(len(names)) if i != reference_slot]
        bindings = [b for b in mapping.resolve_stored(tuple(names[i] for i in driven), signature[3])
                    if not b.muted]
        slot_of = {names[i]: i for i in driven}
        self.slots = [slot_of[b.shape_key] for b in bindings]
        self.keys = KeyValues(bindings, [ranges.get(slot) for slot in self.slots])
        self.values = [0.0] * len(names)
        self.ticks = 0

    @property
    def direct(self):
        """(slot, wire index) of the keys taking one ARKit channel unchanged."""
        return [(self.slots[pos], index) for pos, index in self.keys.direct]

    @property
    def shaped(self):
        """(slot, binding) of the keys valued through the general curve (VRM, shaped entries)."""
        return [(self.slots[pos], b) for pos, b in self.keys.shaped]

    def new_values(self, weights):
        """Write this frame's values into self.values; return True if any moved.

        Compared after the slider clamp: a weight beyond the slider stays
        "unchanged" once the key sits at its limit.
        """
        moved = False
        values = self.values
        for slot, v in zip(self.slots, self.keys.frame(weights)):
            if abs(values[slot] - v) > VALUE_EPSILON:
                values[slot] = v
                moved = True
        return moved
