"""Which tracked value drives which shape key: name detection, VRM presets, user entries.

Pure Python (no bpy), so the rules are tested without Blender and the add-on
zip for Blender 3.4 (Python 3.10) can carry it. What value a driven key then
gets is core/values.py.

A shape key gets its value from exactly one source, chosen in this order:

1. an explicit `MappingEntry` for that key name (a muted entry stops the key
   being driven at all, which is how a user keeps a key for hand animation);
2. an ARKit channel recognised from the key's spelling (`detect_arkit`):
   camelCase, PascalCase, Apple's raw `eyeBlink_L` values, Blender's `.L`,
   any mix of `_ - . : space` and case, behind an `ARKit`/`blendShape1.`
   style prefix;
3. a VRM expression preset recognised from the key name (`detect_vrm`),
   valued by `vrm_weights` from the ARKit channels.

Names that match nothing (Basis, "Key 1", a side-less "eyeBlink") are left
alone: guessing would silently drive the wrong part of the face.

VRM expressions from ARKit weights: `vrm_weights`, defined in shared/vrm.py
(the tracker sends them over VMC too) and imported here.

Presets on disk are JSON:

    {"format": "vstream-mapping", "version": 1,
     "entries": [{"shape_key": "Fcl_MTH_A", "channel": "aa", "gain": 1.0,
                  "offset": 0.0, "min": 0.0, "max": 1.0, "invert": false,
                  "mute": false}, ...]}
"""

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache

from ..shared import arkit
from ..shared.vrm import VRM0_TO_VRM1, VRM_NAMES, clamp01, vrm_weights  # noqa: F401 (re-exported)

FORMAT = "vstream-mapping"
VERSION = 1

# Where a mesh object keeps its explicit entries (the preset JSON text), so
# they are saved with the .blend file.
PROP_MAPPING = "vstream_mapping"

SOURCE_EXPLICIT = "explicit"
SOURCE_ARKIT = "arkit"
SOURCE_VRM = "vrm"



class MappingError(ValueError):
    """A mapping entry or preset file that cannot be used; the message says why."""


# -- name detection -----------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s_\-.:]+")
# Prefixes exporters and rigs put in front of the ARKit names: "ARKit_",
# "arkit.", Maya's blendShape node ("blendShape1.eyeBlinkLeft").
_ARKIT_PREFIX = re.compile(r"^(arkit|blendshape\d*)")
_VRM_PREFIX = re.compile(r"^vrm")
# Only the channels Apple spells with _L/_R get the short side forms; jawLeft
# and mouthLeft move the whole jaw or mouth sideways, so "jaw_L" or "mouth_L"
# (a left half of something) must not turn into them.
_SHORT_SIDE_EXCLUDED = ("jaw", "mouth")


def _squash(name):
    return _SEPARATORS.sub("", name).lower()


def _arkit_table():
    table = {}
    for name in arkit.ARKIT_NAMES:
        table[name.lower()] = name
        for side, short in (("Left", "l"), ("Right", "r")):
            base = name[:-len(side)]
            if name.endswith(side) and base not in _SHORT_SIDE_EXCLUDED:
                table[base.lower() + short] = name
    return table


_ARKIT = _arkit_table()
_VRM = {}
for _name in VRM_NAMES:
    _VRM[_squash(_name)] = _name
for _name, _canonical in VRM0_TO_VRM1.items():
    _VRM[_squash(_name)] = _canonical
del _name, _canonical


def _lookup(name, table, prefix):
    """table's entry for name squashed, tried again without `prefix`; None if neither is there."""
    key = _squash(name or "")
    if not key:
        return None
    found = table.get(key)
    if found is None:
        stripped = prefix.sub("", key)
        if stripped != key:
            found = table.get(stripped)
    return found


@lru_cache(maxsize=4096)
def detect_arkit(name):
    """The ARKit channel a shape-key name spells, or None.

    Ignores case and `_ - . : space`; knows `Left`/`L`, `Right`/`R` suffixes
    and an `ARKit`/`blendShapeN` prefix.
    """
    return _lookup(name, _ARKIT, _ARKIT_PREFIX)


@lru_cache(maxsize=4096)
def detect_vrm(name):
    """The VRM 1.0 expression name a shape-key name spells (VRM 0.x or 1.0 preset), or None."""
    return _lookup(name, _VRM, _VRM_PREFIX)


def channel_name(name):
    """Canonical source channel (ARKit or VRM 1.0 name) for any accepted spelling, or None."""
    return detect_arkit(name) or detect_vrm(name)


# -- entries ---------------------------------------------------------------------------

@dataclass
class MappingEntry:
    """One shape key driven by one channel, with a transfer curve.

    value = clamp(gain * (1 - x if invert else x) + offset, min, max), x being
    the channel's 0..1 weight; a muted entry drives nothing (None).
    """
    shape_key: str
    channel: str
    gain: float = 1.0
    offset: float = 0.0
    min: float = 0.0
    max: float = 1.0
    invert: bool = False
    mute: bool = False

    def __post_init__(self):
        if not isinstance(self.shape_key, str) or not self.shape_key:
            raise MappingError("entry needs a shape_key name, got %r" % (self.shape_key,))
        if not isinstance(self.channel, str):
            raise MappingError("entry %r: channel must be a name, got %r" % (self.shape_key, self.channel))
        canonical = channel_name(self.channel)
        if canonical is None:
            raise MappingError("entry %r: %r is neither an ARKit channel nor a VRM expression"
                               % (self.shape_key, self.channel))
        self.channel = canonical
        for field_name in ("gain", "offset", "min", "max"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise MappingError("entry %r: %s must be a finite number, got %r"
                                   % (self.shape_key, field_name, value))
            setattr(self, field_name, float(value))
        if self.min > self.max:
            raise MappingError("entry %r: min %g is above max %g" % (self.shape_key, self.min, self.max))
        for field_name in ("invert", "mute"):
            if not isinstance(getattr(self, field_name), bool):
                raise MappingError("entry %r: %s must be true or false, got %r"
                                   % (self.shape_key, field_name, getattr(self, field_name)))

    @property
    def is_vrm(self):
        return self.channel not in arkit.INDEX

    @property
    def is_identity(self):
        return (not self.mute and not self.invert and self.gain == 1.0 and self.offset == 0.0
                and self.min <= 0.0 and self.max >= 1.0)

    def to_dict(self):
        return {"shape_key": self.shape_key, "channel": self.channel, "gain": self.gain,
                "offset": self.offset, "min": self.min, "max": self.max,
                "invert": self.invert, "mute": self.mute}


def apply_entry(entry, value):
    """The shape-key value `entry` makes of a channel weight, or None when muted."""
    if entry.mute:
        return None
    x = clamp01(value)
    if entry.invert:
        x = 1.0 - x
    y = entry.gain * x + entry.offset
    return min(entry.max, max(entry.min, y))


_ENTRY_KEYS = ("shape_key", "channel", "gain", "offset", "min", "max", "invert", "mute")


def entries_to_json(entries):
    doc = {"format": FORMAT, "version": VERSION, "entries": [e.to_dict() for e in entries]}
    return json.dumps(doc, indent=2) + "\n"


def entries_from_json(text, source="mapping"):
    """Entries from preset JSON text; MappingError names `source` and the problem."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as e:
        raise MappingError("%s is not a vstream mapping preset: not valid JSON (%s)" % (source, e)) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise MappingError("%s is not a vstream mapping preset: expected \"format\": \"%s\""
                           % (source, FORMAT))
    version = doc.get("version")
    if version != VERSION:
        raise MappingError("%s is mapping preset version %r; this add-on reads version %d"
                           % (source, version, VERSION))
    raw = doc.get("entries")
    if not isinstance(raw, list):
        raise MappingError("%s: \"entries\" must be a list" % source)
    entries, seen = [], set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise MappingError("%s: entry %d is not an object" % (source, i + 1))
        unknown = sorted(set(item) - set(_ENTRY_KEYS))
        if unknown:
            raise MappingError("%s: entry %d has unknown field(s) %s" % (source, i + 1, ", ".join(unknown)))
        try:
            entry = MappingEntry(**item)
        except TypeError as e:  # a required field missing
            raise MappingError("%s: entry %d: %s" % (source, i + 1, e)) from None
        except MappingError as e:
            raise MappingError("%s: entry %d: %s" % (source, i + 1, e)) from None
        if entry.shape_key in seen:
            raise MappingError("%s: shape key %r is listed twice" % (source, entry.shape_key))
        seen.add(entry.shape_key)
        entries.append(entry)
    return entries


def save_preset(path, entries):
    with open(path, "w", encoding="utf-8") as f:
        f.write(entries_to_json(entries))


def load_preset(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise MappingError("cannot read mapping preset %s: %s" % (path, e)) from None
    return entries_from_json(text, source=str(path))


# -- resolution -------------------------------------------------------------------------

@dataclass(frozen=True)
class Binding:
    """What drives one shape key: `channel` (ARKit or VRM 1.0 name) through `entry` if any."""
    shape_key: str
    channel: str
    source: str  # SOURCE_EXPLICIT, SOURCE_ARKIT or SOURCE_VRM
    entry: MappingEntry = None

    @property
    def muted(self):
        return self.entry is not None and self.entry.mute

    @property
    def is_vrm(self):
        return self.channel not in arkit.INDEX

    @property
    def arkit_index(self):
        """Wire index when the key takes one ARKit channel unchanged, else None."""
        if self.is_vrm or (self.entry is not None and not self.entry.is_identity):
            return None
        return arkit.INDEX[self.channel]


def stored_entries(text, source="mapping"):
    """The entries of a mesh's stored mapping text (PROP_MAPPING); none for empty text.

    Raises MappingError (naming `source`) when the text is not a valid preset.
    """
    return entries_from_json(text, source=source) if text else []


@lru_cache(maxsize=64)
def resolve_stored(shape_key_names, text):
    """resolve() for a tuple of key names and a mesh's stored mapping text, cached.

    A bad stored preset resolves as automatic detection alone: live apply must
    not stop (the panel reports the error). Live apply resolves every tick, and
    the key names and the stored text rarely change, so each combination is
    parsed and resolved once. The bindings (and their entries) are shared
    between calls: never mutate them.
    """
    try:
        entries = stored_entries(text)
    except MappingError:
        entries = []
    return tuple(resolve(shape_key_names, entries))


def resolve(shape_key_names, entries=()):
    """[Binding] for the names that get a source, in the names' order.

    Explicit entries win, then ARKit spellings, then VRM presets.
    """
    explicit = {}
    for entry in entries:
        explicit.setdefault(entry.shape_key, entry)
    bindings = []
    for name in shape_key_names:
        entry = explicit.get(name)
        if entry is not None:
            bindings.append(Binding(name, entry.channel, SOURCE_EXPLICIT, entry))
            continue
        channel = detect_arkit(name)
        if channel is not None:
            bindings.append(Binding(name, channel, SOURCE_ARKIT))
            continue
        channel = detect_vrm(name)
        if channel is not None:
            bindings.append(Binding(name, channel, SOURCE_VRM))
    return bindings


def splits_blink(bindings):
    """True when a driven key takes VRM "blink", so the one-eye keys carry only the rest."""
    return any(b.channel == "blink" and not b.muted for b in bindings)
