"""Record mode's buffer: every frame received while Record is on, and what live apply
did to frames when it was pressed. blender/bake.py turns it into Actions.
"""

import re
from array import array

from . import arrays

TAKE_PREFIX = "vstream_take_"
_TAKE_RE = re.compile(r"^%s(\d+)" % re.escape(TAKE_PREFIX))


def next_take_name(existing_names):
    """'vstream_take_NNN' one above the highest take number among `existing_names`."""
    highest = 0
    for name in existing_names:
        m = _TAKE_RE.match(name)
        if m:
            highest = max(highest, int(m.group(1)))
    return "%s%03d" % (TAKE_PREFIX, highest + 1)


class Recorder:
    """Buffers frames while recording."""

    def __init__(self):
        self.frames = []
        # What live apply did to each frame when Record was pressed (a
        # face_transform.FaceTransform and the smoothing filters' state then);
        # None: frames are baked as they came (blender/operators sets them).
        self.transform = None
        self.filters = None
        # The face frames' weights, appended as they arrive (well under a
        # microsecond a frame), so the bake gets its (frames x 52) matrix
        # without converting every float of the take at the end.
        self._face_weights = array("d")

    def add(self, frame):
        self.frames.append(frame)
        if frame is not None and frame.face:
            self._face_weights.extend(frame.weights)

    def weight_matrix(self, faces, samples=None, rows=None):
        """(frames x channels) numpy array of the face frames' weights (only `samples` rows if given), or None without numpy.

        `faces` are this recorder's face frames in order; `rows` may give the
        sampled frames' weights when the caller has them already.
        """
        np = arrays.np
        if np is None:
            return None
        buffered = self._face_weights
        if faces and len(buffered) == len(faces) * len(faces[0].weights):
            matrix = np.frombuffer(buffered, dtype=np.float64).reshape(len(faces), -1)
            return matrix[samples] if samples is not None else matrix
        # Frames were assigned, not added (Import Take): convert them now.
        if rows is None:
            rows = [faces[i].weights for i in samples] if samples is not None else [f.weights for f in faces]
        return np.array(rows, dtype=np.float64).reshape(len(rows), -1)

    def __len__(self):
        return len(self.frames)
