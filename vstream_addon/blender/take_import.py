"""Import take: turn a take file (`vstream-tracker --out TAKE.jsonl`) into the
same Frames the live receiver produces, so a file bakes through exactly the
Recorder path a live take does (same key placement, same Actions).

Pure Python except `import_take`, which bakes (and so needs bpy via Recorder.bake).
"""

import math

from ..shared import protocol
from ..shared.arkit import ARKIT_NAMES, NUM_CHANNELS
from ..core.recorder import Recorder, next_take_name
from ..shared.take import TakeError, read_take

PROP_SOURCE = "vstream_source"

# Share of the progress bar each stage gets; reading and converting are
# Python loops over every record, the bake is one batch per curve.
_READ, _CONVERT = 0.15, 0.45


def _number(value, where, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TakeError("%s: %s is not a finite number (%r)" % (where, what, value))
    return float(value)


def frame_from_record(record, where):
    """One take record -> protocol.Frame; TakeError naming `where` (path:line) if malformed."""
    if not isinstance(record, dict):
        raise TakeError("%s: expected a JSON object per line" % where)
    t = _number(record.get("t"), where, '"t"')
    face = record.get("face")
    if not isinstance(face, bool):
        raise TakeError('%s: "face" must be true or false' % where)
    weights = record.get("weights") or {}
    if not isinstance(weights, dict):
        raise TakeError('%s: "weights" must be an object of ARKit names' % where)
    values = [0.0] * NUM_CHANNELS
    for i, name in enumerate(ARKIT_NAMES):
        if name in weights:
            values[i] = _number(weights[name], where, "weight %s" % name)
    quat = protocol.IDENTITY_QUAT
    position = (0.0, 0.0, 0.0)
    head = record.get("head")
    if head is not None:
        q = head.get("quat") if isinstance(head, dict) else None
        if not isinstance(q, list) or len(q) != 4:
            raise TakeError('%s: "head.quat" must be 4 numbers (w, x, y, z)' % where)
        quat = tuple(_number(c, where, "head.quat") for c in q)
        p = head.get("position")
        if p is not None:
            # Optional (Move Head uses it); metres, as on the wire.
            if not isinstance(p, list) or len(p) != 3:
                raise TakeError('%s: "head.position" must be 3 numbers (x, y, z)' % where)
            position = tuple(_number(c, where, "head.position") for c in p)
    seq = record.get("frame", 0)
    return protocol.Frame(seq=seq if isinstance(seq, int) else 0, t=t, face=face,
                          quat=quat, position=position, weights=tuple(values))


def frames_from_take(path, progress=None):
    """Read and check a take file; return (header, [Frame]). Raises TakeError with the line."""
    try:
        head, records = read_take(path)
    except AttributeError:
        # A first line that is JSON but not an object (e.g. a list).
        raise TakeError("%s:1: not a vstream-take header" % path) from None
    frames = []
    n = len(records)
    for i, record in enumerate(records):
        # read_take numbers lines from 1 with the header first.
        frames.append(frame_from_record(record, "%s:%d" % (path, i + 2)))
        if progress is not None and i % 2000 == 0:
            progress(_READ + (_CONVERT - _READ) * i / max(1, n))
    if not frames:
        raise TakeError("%s: the take has a header but no frames" % path)
    return head, frames


def import_take(scene, mesh_objs, armature_obj, head_bone_name, path, existing_action_names,
                progress=None, frame_start=None, reduce_tolerance=None, push_to_nla=False, transform=None):
    """Bake the take file at `path` onto the targets; return the bake report.

    `mesh_objs` is a list of face meshes; `frame_start` (default: the
    scene's current frame), `reduce_tolerance`, `push_to_nla` and
    `transform` (the live options to pose frames with, a live.FaceTransform;
    smoothing starts fresh) are Recorder.bake's. `progress(fraction)` is called with 0..1 as the work
    goes on. Raises TakeError (bad file) or recorder.BakeError (nothing to
    bake onto).
    """
    if progress is not None:
        progress(0.0)
    _head, frames = frames_from_take(path, progress)
    recorder = Recorder()
    recorder.frames = frames
    take = next_take_name(existing_action_names)

    def bake_progress(fraction):
        if progress is not None:
            progress(_CONVERT + (1.0 - _CONVERT) * fraction)

    report = recorder.bake(scene, mesh_objs, armature_obj, head_bone_name, take, frame_start=frame_start,
                           progress=bake_progress, reduce_tolerance=reduce_tolerance, push_to_nla=push_to_nla,
                           transform=transform)
    report["source"] = path
    return report
