"""Write tests/fixtures/reference_weights.npz: the reference's weights for the tests.

    .venv/bin/python tools/reference/fixtures.py

The tests that CI runs must not need MediaPipe, so the reference's per-frame ARKit
weights (benchmarks/reference.py) for the clips of the expression split's test part
are kept as a small derived file: per clip, `<clip>` (frames, 52) uint8 (weight x 254,
rounded; 255 where the reference found no face) in ARKit order. Derived numbers, not
footage: the clips stay in ../shared/data.
"""

import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import reference  # noqa: E402

OUT = os.path.join(ROOT, "tests", "fixtures", "reference_weights.npz")
PARTS = ("test",)
NO_FACE = 255


def main():
    arrays = {}
    for part in PARTS:
        for path in reference.split()[part]:
            weights, found = reference.weights(path)
            q = np.round(np.clip(np.nan_to_num(weights), 0.0, 1.0) * 254).astype(np.uint8)
            q[~found] = NO_FACE
            arrays[os.path.basename(path)] = q
    np.savez_compressed(OUT, **arrays)
    print("wrote %s (%d bytes, %d clips)" % (OUT, os.path.getsize(OUT), len(arrays)))


if __name__ == "__main__":
    main()
