"""A face mesh's mapping on the object: the shape keys it drives, the stored preset JSON,
and the table that edits it.

Storage is the JSON preset text in the object property mapping.PROP_MAPPING
(`vstream_mapping`), which live apply, bake and import read. The table is an
editing view of it: `obj.vstream_rows` (one row per ARKit channel, plus VRM and
extra rows) is filled from the current resolution by "Edit Mapping", and every
edit writes the JSON again. Only rows that differ from what automatic detection
would do are stored, so a character whose keys are ARKit- or VRM-named keeps an
empty mapping and maps with zero clicks.

A row with no shape key is back to automatic; Mute stops a key being driven.
"""

from . import live_apply
from ..core import mapping
from ..shared import arkit

CHANNEL_ITEMS = ([(n, n, "ARKit channel %d" % i) for i, n in enumerate(arkit.ARKIT_NAMES)]
                 + [(n, n, "VRM expression, computed from the ARKit channels") for n in mapping.VRM_NAMES])

_syncing = set()   # objects whose rows are being rebuilt: row updates must not write JSON yet
problems = {}      # object name -> [problem text] from the last write, for the panel


# -- the mesh's driven keys ------------------------------------------------------------------

class ShapeKeyTarget:
    """One driven shape key: the Blender key block and the mapping.Binding that values it."""

    __slots__ = ("block", "binding")

    def __init__(self, block, binding):
        self.block = block
        self.binding = binding

    def __repr__(self):
        return "ShapeKeyTarget(%r <- %s)" % (self.binding.shape_key, self.binding.channel)


def key_blocks(mesh_obj):
    """The mesh's shape keys that can be driven: all but the reference key (Basis), whose value has no effect."""
    if mesh_obj is None or getattr(mesh_obj, "type", None) != 'MESH':
        return []
    keys = mesh_obj.data.shape_keys
    if keys is None:
        return []
    reference = keys.reference_key
    return [block for block in keys.key_blocks if block != reference]


def stored_text(mesh_obj):
    text = mesh_obj.get(mapping.PROP_MAPPING) if hasattr(mesh_obj, "get") else None
    return str(text) if text else ""


def mesh_entries(mesh_obj):
    """Explicit entries stored on the mesh object, [] if none; MappingError when they are not a valid preset."""
    return mapping.stored_entries(stored_text(mesh_obj), source='%s["%s"]' % (mesh_obj.name, mapping.PROP_MAPPING))


def mapping_error(mesh_obj):
    """Why the mesh's stored entries are ignored, or None (for the panel)."""
    try:
        mesh_entries(mesh_obj)
    except mapping.MappingError as e:
        return str(e)
    return None


def mapping_targets(mesh_obj):
    """[ShapeKeyTarget] for every shape key that gets a value (mapping.resolve order).

    A bad stored preset is ignored here (live apply must not stop) and
    reported by `mapping_error`.
    """
    blocks = key_blocks(mesh_obj)
    if not blocks:
        return []
    names = tuple(block.name for block in blocks)
    by_name = dict(zip(names, blocks))
    return [ShapeKeyTarget(by_name[b.shape_key], b) for b in mapping.resolve_stored(names, stored_text(mesh_obj))]


def matched_names(mesh_obj):
    """Sorted ARKit names the mesh has shape keys for (for the panel)."""
    return sorted({t.binding.channel for t in mapping_targets(mesh_obj)
                   if not t.binding.muted and not t.binding.is_vrm})


# -- the table ---------------------------------------------------------------------------------

def row_changed(row, _context):
    """A row's properties' update: store the table again (not while it is being filled)."""
    obj = row.id_data
    if obj.name not in _syncing:
        write_rows(obj)


def row_entry(row):
    """The MappingEntry a row stands for, or None when it has no shape key (MappingError if invalid)."""
    if not row.shape_key:
        return None
    return mapping.MappingEntry(shape_key=row.shape_key, channel=row.channel, gain=row.gain,
                                offset=row.offset, min=row.clamp_min, max=row.clamp_max,
                                invert=row.invert, mute=row.mute)


def _is_automatic(entry):
    return entry.is_identity and mapping.channel_name(entry.shape_key) == entry.channel


def write_rows(obj):
    """Store the rows that differ from automatic detection as the object's mapping JSON."""
    entries, found, seen = [], [], set()
    for i, row in enumerate(obj.vstream_rows):
        try:
            entry = row_entry(row)
        except mapping.MappingError as e:
            found.append("Row %d (%s): %s" % (i + 1, row.channel, e))
            continue
        if entry is None:
            continue
        if entry.shape_key in seen:
            found.append("Shape key %r is in two rows: the first one wins" % entry.shape_key)
            continue
        seen.add(entry.shape_key)
        if not _is_automatic(entry):
            entries.append(entry)
    store_entries(obj, entries)
    problems[obj.name] = found
    return entries


def store_entries(obj, entries):
    """Save a mesh's mapping entries on it; none removes the stored mapping (all automatic)."""
    if entries:
        obj[mapping.PROP_MAPPING] = mapping.entries_to_json(entries)
    elif mapping.PROP_MAPPING in obj:
        del obj[mapping.PROP_MAPPING]


def driven_names(obj):
    return [block.name for block in key_blocks(obj)]


def fill_rows(obj):
    """Rebuild the table from the stored entries and automatic detection.

    One row per ARKit channel (empty when nothing drives it), then VRM keys,
    then stored entries for keys the mesh does not have (kept, not lost).
    Raises mapping.MappingError if the stored JSON is not valid.
    """
    entries = mesh_entries(obj)
    names = driven_names(obj)
    bindings = mapping.resolve(names, entries)
    by_channel = {}
    for b in bindings:
        by_channel.setdefault(b.channel, []).append(b)
    rows = []
    for channel in arkit.ARKIT_NAMES:
        rows += [(channel, b) for b in by_channel.pop(channel, [])] or [(channel, None)]
    for channel in mapping.VRM_NAMES:
        rows += [(channel, b) for b in by_channel.pop(channel, [])]
    present = set(names)
    rows += [(e.channel, mapping.Binding(e.shape_key, e.channel, mapping.SOURCE_EXPLICIT, e))
             for e in entries if e.shape_key not in present]
    _syncing.add(obj.name)
    try:
        obj.vstream_rows.clear()
        for channel, b in rows:
            row = obj.vstream_rows.add()
            row.name = channel
            row.channel = channel
            if b is None:
                continue
            row.shape_key = b.shape_key
            e = b.entry
            if e is not None:
                row.gain, row.offset, row.clamp_min, row.clamp_max = e.gain, e.offset, e.min, e.max
                row.invert, row.mute = e.invert, e.mute
    finally:
        _syncing.discard(obj.name)
    problems[obj.name] = []
    obj.vstream_row_index = min(obj.vstream_row_index, len(obj.vstream_rows) - 1)


def add_row(obj):
    """A row for the selected row's channel, right after it, selected (one channel driving one more key)."""
    rows = obj.vstream_rows
    index = obj.vstream_row_index
    channel = rows[index].channel if 0 <= index < len(rows) else arkit.ARKIT_NAMES[0]
    _syncing.add(obj.name)
    try:
        row = rows.add()
        row.name = row.channel = channel
    finally:
        _syncing.discard(obj.name)
    rows.move(len(rows) - 1, index + 1)
    obj.vstream_row_index = index + 1


def resolved_entries(obj):
    """Every driven key of the mesh as an explicit entry (what a saved preset holds)."""
    bindings = mapping.resolve(driven_names(obj), mesh_entries(obj))
    return [b.entry if b.entry is not None else mapping.MappingEntry(b.shape_key, b.channel)
            for b in bindings]


def mapping_object(context):
    """The mesh the table edits: the active object if it is a driven face mesh, else the Face Mesh."""
    settings = getattr(context.scene, "vstream", None)
    if settings is None:
        return None
    meshes = live_apply.target_meshes(settings)
    obj = context.object
    if obj is not None and obj in meshes:
        return obj
    return meshes[0] if meshes else None
